//! The PyO3 module `pytables._native`: the Rust half of the Python face.
//!
//! - [`spec`]: rule-spec parsing and quoting handed to Python as plain tuples.
//! - [`chain`]: a whole chain's rules decoded in one call (the fast read path).
//! - [`dump`]: `easy.dump_chain`'s dicts straight from a chain's spec text.
//! - [`objects`]: the native base of `Match` and `Target` (their state and hot getters).
//! - [`canon`]: canonical options of a match or target (core model, else iptables itself).
//! - [`conn`]: the connection to pytables-server (with autostart) and `serve()`, which runs the
//!   server inside this process, so the wheel carries the server.
// The module map above is for people reading the source; its links point at private modules.
#![allow(rustdoc::private_intra_doc_links)]
use pyo3::prelude::*;

mod canon;
mod chain;
mod conn;
mod dump;
mod objects;
mod spec;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    spec::register(m)?;
    chain::register(m)?;
    dump::register(m)?;
    conn::register(m)?;
    canon::register(m)?;
    objects::register(m)?;
    Ok(())
}
