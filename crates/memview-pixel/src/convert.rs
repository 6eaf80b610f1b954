//! Colour conversion (to come).
