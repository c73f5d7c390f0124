//! pytables-probe (being built).
