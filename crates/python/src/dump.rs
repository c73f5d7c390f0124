//! `dump_rules`: `easy.dump_chain`'s dicts for a snapshot chain, straight from the spec text.
//!
//! `easy.decode_iptc_rule` over Rule objects is the definition; this builds the same dicts
//! without making the objects first (that was most of `easy.dump_table`'s time). A rule this
//! code is not sure about (an address mask it cannot count) gives `None`, and Python decodes
//! that one through the objects. tests/python checks both paths agree on varied rules.
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use pytables_core::rule::{self, NegRef, OptionRef, RuleRef, Token};
use std::collections::HashMap;

use crate::chain::{counters_of, Words};
use crate::spec::{iface_form, proto_form, v4_form, v6_form};

/// `_clean(get_all_parameters())` of a match or target: one arg as a string, none as `""`,
/// several as a list, `"!"` first when inverted.
fn params<'py>(
    words: &Words<'py>,
    opts: &[OptionRef<'_, Token<'_>>],
) -> PyResult<Bound<'py, PyDict>> {
    let py = words.py();
    let d = PyDict::new(py);
    for o in opts {
        let key = words.get(o.name);
        let arg = |a: &Token<'_>| words.get(&rule::unquote_cow(a.raw)).into_any();
        match (o.inverted, o.args) {
            (false, []) => d.set_item(key, intern!(py, ""))?,
            (false, [one]) => d.set_item(key, arg(one))?,
            (true, []) => d.set_item(key, intern!(py, "!"))?,
            _ => {
                let bang = o.inverted.then(|| intern!(py, "!").clone().into_any());
                let items: Vec<_> = bang.into_iter().chain(o.args.iter().map(arg)).collect();
                d.set_item(key, PyList::new(py, items)?)?
            }
        }
    }
    Ok(d)
}

/// `addr/mask` with the dotted mask as its bit count (`_mask_bits`); None when a part of the
/// mask is not a number.
fn v4_prefix(form: &str) -> Option<String> {
    let (addr, mask) = form.split_once('/').unwrap_or((form, ""));
    let mut bits = 0u32;
    for octet in mask.split('.') {
        bits += octet.parse::<u64>().ok()?.count_ones();
    }
    Some(format!("{addr}/{bits}"))
}

struct Dumper<'py> {
    py: Python<'py>,
    words: Words<'py>,
    v6: bool,
    nfproto: u8,
    is_standard: Bound<'py, PyAny>,
    standard: HashMap<String, bool>,
    zero: Bound<'py, PyAny>,
}

impl<'py> Dumper<'py> {
    fn standard(&mut self, name: &str) -> PyResult<bool> {
        if let Some(known) = self.standard.get(name) {
            return Ok(*known);
        }
        let std = self.is_standard.call1((self.nfproto, name))?.is_truthy()?;
        self.standard.insert(name.to_string(), std);
        Ok(std)
    }

    fn addr(
        &self,
        d: &Bound<'py, PyDict>,
        key: &Bound<'py, PyString>,
        a: &Option<NegRef<'_>>,
    ) -> PyResult<bool> {
        let Some(n) = a else { return Ok(true) };
        if self.v6 {
            let form = v6_form(n.inverted, n.value);
            if form != "::/0" {
                d.set_item(key, form)?;
            }
            return Ok(true);
        }
        // The usual `addr/bits` (or a bare address): its dotted mask would count `bits` ones.
        let word = rule::unquote_cow(n.value);
        let (addr, mask) = word.split_once('/').unwrap_or((&word, "32"));
        if let Ok(bits) = mask.parse::<u8>() {
            if bits <= 32 && mask.bytes().all(|b| b.is_ascii_digit()) {
                if !(n.inverted || bits != 0 || addr != "0.0.0.0") {
                    return Ok(true);
                }
                let bang = if n.inverted { "!" } else { "" };
                d.set_item(key, format!("{bang}{addr}/{bits}"))?;
                return Ok(true);
            }
        }
        let form = v4_form(n.inverted, n.value);
        if form == "0.0.0.0/0.0.0.0" {
            return Ok(true);
        }
        match v4_prefix(&form) {
            Some(p) => d.set_item(key, p)?,
            None => return Ok(false),
        }
        Ok(true)
    }

    /// One `[spec, counters]` pair as decode_iptc_rule's dict, or None (see the module doc).
    fn rule(&mut self, pair: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let py = self.py;
        let spec_obj = pair.get_item(0)?;
        let spec = spec_obj.downcast::<PyString>()?.to_cow()?;
        let invalid =
            |e: rule::SpecError| PyValueError::new_err(format!("invalid rule {spec:?}: {e}"));
        let tokens = rule::tokenize(&spec).map_err(invalid)?;
        let r = RuleRef::parse(&spec, &tokens).map_err(invalid)?;
        let d = PyDict::new(py);
        if !self.addr(&d, intern!(py, "src"), &r.src)?
            || !self.addr(&d, intern!(py, "dst"), &r.dst)?
        {
            return Ok(None);
        }
        if let Some(n) = &r.protocol {
            // Keys of `Words::form` start with a control character: no word of a rule has one.
            let form = self.words.form('\u{2}', n.inverted, n.value, || {
                proto_form(n.inverted, n.value)
            });
            if !form.as_any().eq(intern!(py, "ip"))? {
                d.set_item(intern!(py, "protocol"), form)?;
            }
        }
        for (key, i) in [
            (intern!(py, "in-interface"), &r.in_interface),
            (intern!(py, "out-interface"), &r.out_interface),
        ] {
            if let Some(n) = i.filter(|n| rule::unquote_cow(n.value) != "+") {
                let form = self.words.form('\u{1}', n.inverted, n.value, || {
                    iface_form(n.inverted, n.value).unwrap_or_default()
                });
                d.set_item(key, form)?;
            }
        }
        if !self.v6 && r.fragment == Some(false) {
            d.set_item(intern!(py, "fragment"), true)?;
        }
        for m in &r.matches {
            let opts = r.options_of(m);
            // Match.name: libxtables reports an empty `state` by its real name.
            let name: &str = if m.name == "state" && opts.is_empty() {
                "conntrack"
            } else {
                &m.name
            };
            let p = params(&self.words, opts)?;
            let name = self.words.get(name);
            match d.get_item(&name)? {
                None => d.set_item(name, p)?,
                Some(prev) => {
                    if let Ok(list) = prev.downcast::<PyList>() {
                        list.append(p)?;
                    } else {
                        d.set_item(name, PyList::new(py, [prev, p.into_any()])?)?;
                    }
                }
            }
        }
        if let Some((t, goto)) = &r.target {
            let name: &str = if t.name == "NOTRACK" { "CT" } else { &t.name };
            if !name.is_empty() {
                let p = if self.standard(&t.name)? {
                    PyDict::new(py)
                } else {
                    params(&self.words, r.options_of(t))?
                };
                if *goto {
                    let g = PyDict::new(py);
                    g.set_item(intern!(py, "goto"), self.words.get(name))?;
                    d.set_item(intern!(py, "target"), g)?;
                } else if !p.is_empty() {
                    let g = PyDict::new(py);
                    g.set_item(self.words.get(name), p)?;
                    d.set_item(intern!(py, "target"), g)?;
                } else {
                    d.set_item(intern!(py, "target"), self.words.get(name))?;
                }
            }
        }
        d.set_item(intern!(py, "counters"), counters_of(pair, &self.zero)?)?;
        Ok(Some(d))
    }
}

/// `[dict or None]` for a snapshot chain's `[[spec, counters]]` of family `nfproto`;
/// `is_standard(nfproto, name)` judges targets as `Target` does.
#[pyfunction]
pub fn dump_rules<'py>(
    py: Python<'py>,
    pairs: &Bound<'py, PyList>,
    nfproto: u8,
    is_standard: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let mut dumper = Dumper {
        py,
        words: Words::new(py),
        v6: nfproto == 10,
        nfproto,
        is_standard,
        standard: HashMap::new(),
        zero: PyTuple::new(py, [0u8, 0u8])?.into_any(),
    };
    let dicts = pairs
        .iter()
        .map(|pair| dumper.rule(&pair))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, dicts)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(dump_rules, m)?)?;
    Ok(())
}
