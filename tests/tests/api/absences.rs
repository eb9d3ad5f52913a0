//! Tests for the absences module (to be written).
