//! Tests for the rewards module (to be written).
