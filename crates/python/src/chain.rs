//! `decode_rules`: every rule of a chain decoded in one call.
//!
//! Reading a 10,000-rule chain through `Chain.rules` must cost a few µs per rule, so the whole
//! chain crosses the boundary at once and each rule is parsed over borrowed words
//! ([`RuleRef`]): no Rust String per word, only the Python objects the rule is made of.
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use pytables_core::rule::{self, NegRef, OptionRef, RuleRef, Token};

use crate::spec::{iface_form, proto_form, v4_form, v6_form};

/// `[(name, inverted, (unquoted args…))]`, as `decode_rule` gives options.
fn options<'py>(
    py: Python<'py>,
    opts: &[OptionRef<'_, Token<'_>>],
) -> PyResult<Bound<'py, PyList>> {
    let items = opts
        .iter()
        .map(|o| {
            let args = PyTuple::new(py, o.args.iter().map(|a| rule::unquote_cow(a.raw)))?;
            PyTuple::new(
                py,
                [
                    PyString::new(py, o.name).into_any(),
                    o.inverted.into_pyobject(py)?.to_owned().into_any(),
                    args.into_any(),
                ],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

fn opt_str<'py>(py: Python<'py>, s: Option<String>) -> Bound<'py, PyAny> {
    match s {
        Some(s) => PyString::new(py, &s).into_any(),
        None => py.None().into_bound(py),
    }
}

/// One rule as `(src, dst, in, out, protocol, fragment, goto, [(match, options)], target,
/// target_options)`, fields in python-iptables' read forms (see `decode_rule`); a rule without
/// `-j` has the target `""`.
fn decode_one<'py>(py: Python<'py>, spec: &str, v6: bool) -> PyResult<Bound<'py, PyTuple>> {
    let invalid = |e: rule::SpecError| PyValueError::new_err(format!("invalid rule {spec:?}: {e}"));
    let tokens = rule::tokenize(spec).map_err(invalid)?;
    let r = RuleRef::parse(spec, &tokens).map_err(invalid)?;
    let addr = |a: &Option<NegRef<'_>>| -> Bound<'py, PyAny> {
        match (a, v6) {
            (None, false) => pyo3::intern!(py, "0.0.0.0/0.0.0.0").clone().into_any(),
            (None, true) => pyo3::intern!(py, "::/0").clone().into_any(),
            (Some(n), false) => PyString::new(py, &v4_form(n.inverted, n.value)).into_any(),
            (Some(n), true) => PyString::new(py, &v6_form(n.inverted, n.value)).into_any(),
        }
    };
    let iface =
        |i: &Option<NegRef<'_>>| opt_str(py, i.and_then(|n| iface_form(n.inverted, n.value)));
    let protocol = match &r.protocol {
        None => pyo3::intern!(py, "ip").clone().into_any(),
        Some(n) => PyString::new(py, &proto_form(n.inverted, n.value)).into_any(),
    };
    let matches = r
        .matches
        .iter()
        .map(|m| {
            PyTuple::new(
                py,
                [
                    PyString::new(py, &m.name).into_any(),
                    options(py, r.options_of(m))?.into_any(),
                ],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    let (target, target_opts, goto) = match &r.target {
        Some((t, goto)) => (
            PyString::new(py, &t.name),
            options(py, r.options_of(t))?,
            *goto,
        ),
        None => (PyString::new(py, ""), PyList::empty(py), false),
    };
    PyTuple::new(
        py,
        [
            addr(&r.src),
            addr(&r.dst),
            iface(&r.in_interface),
            iface(&r.out_interface),
            protocol,
            r.fragment.into_pyobject(py)?.into_any(),
            goto.into_pyobject(py)?.to_owned().into_any(),
            PyList::new(py, matches)?.into_any(),
            target.into_any(),
            target_opts.into_any(),
        ],
    )
}

/// Decodes every spec of `specs` (a list of `[spec, counters]` pairs, as a table snapshot
/// keeps a chain's rules) for family `nfproto`.
#[pyfunction]
pub fn decode_rules<'py>(
    py: Python<'py>,
    specs: &Bound<'py, PyList>,
    nfproto: u8,
) -> PyResult<Bound<'py, PyList>> {
    let v6 = nfproto == 10;
    let decoded = specs
        .iter()
        .map(|pair| {
            let spec = pair.get_item(0)?;
            let spec = spec.downcast::<PyString>()?.to_cow()?;
            decode_one(py, &spec, v6)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, decoded)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_rules, m)?)?;
    Ok(())
}
