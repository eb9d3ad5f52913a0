//! Tests for the meetings module (to be written).
