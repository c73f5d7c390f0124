//! Rule specifications across the Python boundary.
//!
//! Python holds a rule as plain values; this module turns iptables-save text into those values
//! (`parse_rule`) and quotes free text the way iptables-save does (`save_string`).
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pytables_core::rule::{self, Negatable, OptionArg, RuleSpec};

/// (inverted, [unquoted args]) per option.
type PyOption = (String, bool, Vec<String>);
type PyMatch = (String, Vec<PyOption>);
type PyTarget = (String, bool, Vec<PyOption>);
type PyField = Option<(bool, String)>;

/// The structured view of one spec:
/// (src, dst, in_iface, out_iface, protocol, fragment, matches, target).
type PyRule = (
    PyField,
    PyField,
    PyField,
    PyField,
    PyField,
    Option<bool>,
    Vec<PyMatch>,
    Option<PyTarget>,
);

fn field(v: &Option<Negatable>) -> PyField {
    v.as_ref().map(|n| (n.inverted, rule::unquote(&n.value)))
}

fn options(opts: &[OptionArg]) -> Vec<PyOption> {
    opts.iter()
        .map(|o| {
            (
                o.name.clone(),
                o.inverted,
                o.args.iter().map(|a| rule::unquote(a)).collect(),
            )
        })
        .collect()
}

/// Splits one rule spec (the text after `-A CHAIN`) into Python values; args are unquoted.
#[pyfunction]
pub fn parse_rule(spec: &str) -> PyResult<PyRule> {
    let r = RuleSpec::parse(spec)
        .map_err(|e| PyValueError::new_err(format!("invalid rule {spec:?}: {e}")))?;
    Ok(to_py(&r))
}

pub fn to_py(r: &RuleSpec) -> PyRule {
    (
        field(&r.src),
        field(&r.dst),
        field(&r.in_interface),
        field(&r.out_interface),
        field(&r.protocol),
        r.fragment,
        r.matches
            .iter()
            .map(|m| (m.name.clone(), options(&m.options)))
            .collect(),
        r.target
            .as_ref()
            .map(|t| (t.name.clone(), t.goto, options(&t.options))),
    )
}

/// Quotes a value as iptables-save prints free text.
#[pyfunction]
fn save_string(value: &str) -> String {
    rule::save_string(value)
}

/// A word as iptables-save prints it: free text quoted only when it needs to be.
#[pyfunction]
fn quote_arg(value: &str) -> String {
    quote_word(value)
}

pub fn quote_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\\' | b'\''));
    if plain {
        value.to_string()
    } else {
        rule::save_string(value)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_rule, m)?)?;
    m.add_function(wrap_pyfunction!(save_string, m)?)?;
    m.add_function(wrap_pyfunction!(quote_arg, m)?)?;
    Ok(())
}
