//! pytables-client (being built).
