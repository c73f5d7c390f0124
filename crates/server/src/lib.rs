//! pytables-server (being built).
