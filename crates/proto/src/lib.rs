//! pytables-proto (being built).
