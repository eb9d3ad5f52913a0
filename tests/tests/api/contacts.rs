//! Tests for the contacts module (to be written).
