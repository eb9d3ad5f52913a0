//! Tests for the asks module (to be written).
