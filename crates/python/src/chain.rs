//! `build_rules`: every Rule object of a chain built in one call.
//!
//! Reading a 10,000-rule chain through `Chain.rules` must cost a few µs per rule, so the whole
//! chain crosses the boundary at once, each rule is parsed over borrowed words ([`RuleRef`]):
//! no Rust String per word, and the Rule, Match and Target objects are made here, without a
//! Python bytecode loop: the same objects, with the same attributes, `Rule._from_save` makes.
use pyo3::exceptions::PyValueError;
use pyo3::impl_::pyclass_init::PyObjectInit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyList, PyString, PyTuple, PyType, PyWeakrefReference};
use pyo3::PyClassInitializer;
use pytables_core::rule::{self, NegRef, OptionRef, RuleRef, Token};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::objects::ExtBase;
use crate::spec::{iface_form, proto_form, v4_form, v6_form};

/// Takes a tuple of strings, bools and such tuples out of the cyclic GC's care. It can never be
/// part of a cycle, and CPython untracks such tuples itself, but only when a collection first
/// looks at them: a 10,000-rule chain has ~50,000 of them, and every collection until then
/// would walk them all (the GC was most of the cost of reading a big chain).
pub fn untrack(obj: &Bound<'_, PyAny>) {
    // SAFETY: a live object; PyObject_GC_UnTrack checks that it is tracked first.
    unsafe { pyo3::ffi::PyObject_GC_UnTrack(obj.as_ptr().cast()) }
}

/// One Python string per distinct short word of a chain (extension and option names, common
/// values like `ACCEPT` or `NEW`): thousands of rules repeat a few dozen words, and every string
/// made is one more object to allocate and free. Strings are immutable, so sharing is unseen.
pub struct Words<'py> {
    py: Python<'py>,
    known: RefCell<HashMap<String, Bound<'py, PyString>, BuildHasherDefault<Fnv>>>,
    /// Option tuples by their text (see `option`).
    options: RefCell<HashMap<String, Bound<'py, PyTuple>, BuildHasherDefault<Fnv>>>,
    /// The options of every extension without any (most targets: verdicts, jumps).
    no_options: Bound<'py, PyList>,
}

/// FNV-1a: the words are short and not attacker-chosen, so SipHash's cost buys nothing here.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl<'py> Words<'py> {
    const MAX_LEN: usize = 24;
    const MAX_WORDS: usize = 8192;

    pub fn new(py: Python<'py>) -> Self {
        Words {
            py,
            known: RefCell::new(HashMap::default()),
            options: RefCell::new(HashMap::default()),
            no_options: {
                let empty = PyList::empty(py);
                untrack(empty.as_any());
                empty
            },
        }
    }

    pub fn py(&self) -> Python<'py> {
        self.py
    }

    pub fn get(&self, word: &str) -> Bound<'py, PyString> {
        if word.len() > Self::MAX_LEN {
            return PyString::new(self.py, word);
        }
        let mut known = self.known.borrow_mut();
        if let Some(s) = known.get(word) {
            return s.clone();
        }
        let s = PyString::new(self.py, word);
        if known.len() < Self::MAX_WORDS {
            known.insert(word.to_string(), s.clone());
        }
        s
    }

    /// The Python string of a field form (`proto_form`, `iface_form`), made once per distinct
    /// `(kind, inverted, raw)` of the chain: a chain repeats a few protocols and interfaces.
    pub fn form(
        &self,
        kind: char,
        inverted: bool,
        raw: &str,
        make: impl FnOnce() -> String,
    ) -> Bound<'py, PyString> {
        let mut key = String::with_capacity(raw.len() + 2);
        key.push(kind);
        key.push(if inverted { '!' } else { '=' });
        key.push_str(raw);
        if let Some(s) = self.known.borrow().get(&key) {
            return s.clone();
        }
        let s = PyString::new(self.py, &make());
        let mut known = self.known.borrow_mut();
        if raw.len() <= Self::MAX_LEN && known.len() < Self::MAX_WORDS {
            known.insert(key, s.clone());
        }
        s
    }
}

/// One option as `(name, inverted, (unquoted args…))`. Tuples are immutable, so one object
/// serves every rule of the chain with the same short option (`--ctstate NEW`, `--dport 53`):
/// fewer objects to make, free, and keep in the CPU's caches.
fn option<'py>(words: &Words<'py>, o: &OptionRef<'_, Token<'_>>) -> PyResult<Bound<'py, PyTuple>> {
    let key_len = o.name.len() + o.args.iter().map(|a| a.raw.len() + 1).sum::<usize>();
    let key = (key_len <= Words::MAX_LEN * 2).then(|| {
        let mut key = String::with_capacity(key_len + 2);
        key.push(if o.inverted { '!' } else { '=' });
        key.push_str(o.name);
        for a in o.args {
            key.push('\0');
            key.push_str(a.raw);
        }
        key
    });
    if let Some(known) = key
        .as_ref()
        .and_then(|k| words.options.borrow().get(k).cloned())
    {
        return Ok(known);
    }
    let option = new_option(words, o)?;
    if let Some(key) = key {
        let mut known = words.options.borrow_mut();
        if known.len() < Words::MAX_WORDS {
            known.insert(key, option.clone());
        }
    }
    Ok(option)
}

/// `[(name, inverted, (unquoted args…))]`, as `decode_rule` gives options.
fn options<'py>(
    words: &Words<'py>,
    opts: &[OptionRef<'_, Token<'_>>],
) -> PyResult<Bound<'py, PyList>> {
    // Shared, as the option tuples are: nothing changes an options list in place.
    if opts.is_empty() {
        return Ok(words.no_options.clone());
    }
    let items = opts
        .iter()
        .map(|o| option(words, o))
        .collect::<PyResult<Vec<_>>>()?;
    let list = PyList::new(words.py, items)?;
    // Options lists hold only untracked tuples and are never changed in place (Match and
    // Target replace the whole list), so they can never close a cycle either.
    untrack(list.as_any());
    Ok(list)
}

fn new_option<'py>(
    words: &Words<'py>,
    o: &OptionRef<'_, Token<'_>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let py = words.py;
    let args = PyTuple::new(
        py,
        o.args.iter().map(|a| words.get(&rule::unquote_cow(a.raw))),
    )?;
    untrack(args.as_any());
    let option = PyTuple::new(
        py,
        [
            words.get(o.name).into_any(),
            o.inverted.into_pyobject(py)?.to_owned().into_any(),
            args.into_any(),
        ],
    )?;
    untrack(option.as_any());
    Ok(option)
}

/// Sets attributes with the generic setter, as `object.__setattr__` does: not the class's own
/// `__setattr__` (Match/Target turn names into options there). Attribute by attribute rather
/// than a whole `__dict__`, so CPython keeps them in the object's inline values: no dict object
/// per Rule, Match and Target for the cyclic GC to walk and free.
fn set_attrs<'py>(
    obj: &Bound<'py, PyAny>,
    attrs: &[(&Bound<'py, PyString>, &Bound<'py, PyAny>)],
) -> PyResult<()> {
    for (k, v) in attrs {
        // SAFETY: three live objects; the call borrows them.
        let rc =
            unsafe { pyo3::ffi::PyObject_GenericSetAttr(obj.as_ptr(), k.as_ptr(), v.as_ptr()) };
        if rc != 0 {
            return Err(PyErr::fetch(obj.py()));
        }
    }
    Ok(())
}

/// A snapshot pair's counters as `Rule.counters` gives them: a tuple, `(0, 0)` for none.
pub fn counters_of<'py>(
    pair: &Bound<'py, PyAny>,
    zero: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let counters = pair.get_item(1)?;
    Ok(if counters.is_instance_of::<PyTuple>() {
        counters
    } else if counters.is_none() {
        zero.clone()
    } else {
        let items = counters.try_iter()?.collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(pair.py(), items)?.into_any()
    })
}

/// `cls.__new__(cls)` without arguments: the type's `tp_new` slot, called directly.
fn new_object<'py>(cls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let cls = cls.downcast::<pyo3::types::PyType>()?;
    let args = PyTuple::empty(py);
    // SAFETY: `cls` is a live heap type (a Python class), so PyType_GetSlot may read it; its
    // tp_new is called as type.__call__ would, with an empty argument tuple and no keywords.
    unsafe {
        let tp = cls.as_type_ptr();
        let slot = pyo3::ffi::PyType_GetSlot(tp, pyo3::ffi::Py_tp_new);
        if slot.is_null() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "type has no __new__",
            ));
        }
        let new: pyo3::ffi::newfunc = std::mem::transmute(slot);
        Bound::from_owned_ptr_or_err(py, new(tp, args.as_ptr(), std::ptr::null_mut()))
    }
}

/// A `Match` or `Target` (`cls`, a Python subclass of ExtBase) holding `state`: the object made
/// as its `__new__` would, with the fields in place (no argument parsing, no None to replace).
fn new_ext<'py>(cls: &Bound<'py, PyType>, state: ExtBase) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    // SAFETY: `build_rules` checked that `cls` is a subclass of ExtBase; into_new_object
    // allocates an instance of it and moves `state` into its ExtBase part.
    unsafe {
        let obj = PyClassInitializer::from(state).into_new_object(py, cls.as_type_ptr())?;
        Ok(Bound::from_owned_ptr(py, obj))
    }
}

/// The classes and values every object of one chain is built from.
struct Builder<'py> {
    py: Python<'py>,
    v6: bool,
    nfproto: u8,
    rule_cls: Bound<'py, PyAny>,
    match_cls: Bound<'py, PyType>,
    target_cls: Bound<'py, PyType>,
    chain: Bound<'py, PyAny>,
    /// `is_standard(nfproto, name)` of the Python side, asked once per target name.
    is_standard: Bound<'py, PyAny>,
    standard: RefCell<HashMap<String, Bound<'py, PyAny>, BuildHasherDefault<Fnv>>>,
    words: Words<'py>,
}

impl<'py> Builder<'py> {
    fn standard(&self, name: &str) -> PyResult<Bound<'py, PyAny>> {
        if let Some(known) = self.standard.borrow().get(name) {
            return Ok(known.clone());
        }
        let std = self.is_standard.call1((self.nfproto, name))?;
        let known =
            PyTuple::new(self.py, [PyString::new(self.py, name).into_any(), std])?.into_any();
        self.standard
            .borrow_mut()
            .insert(name.to_string(), known.clone());
        Ok(known)
    }

    /// One `[spec, counters]` pair of a snapshot chain as a Rule with its Matches and Target.
    fn rule(&self, pair: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let spec_obj = pair.get_item(0)?;
        let spec = spec_obj.downcast::<PyString>()?.to_cow()?;
        let invalid =
            |e: rule::SpecError| PyValueError::new_err(format!("invalid rule {spec:?}: {e}"));
        let tokens = rule::tokenize(&spec).map_err(invalid)?;
        let r = RuleRef::parse(&spec, &tokens).map_err(invalid)?;
        let v6 = self.v6;
        // Fields at their default are left to `Rule`'s class attributes: each instance
        // attribute is a store now and a release when the rule is freed.
        let addr = |a: &Option<NegRef<'_>>| -> Option<Bound<'py, PyAny>> {
            let n = a.as_ref()?;
            let form = if v6 {
                v6_form(n.inverted, n.value)
            } else {
                v4_form(n.inverted, n.value)
            };
            Some(PyString::new(py, &form).into_any())
        };
        let words = &self.words;
        // Keys start with a control character: no word of a rule has one.
        let iface = |i: &Option<NegRef<'_>>| match i {
            Some(n) if rule::unquote_cow(n.value) != "+" => Some(
                words
                    .form('\u{1}', n.inverted, n.value, || {
                        iface_form(n.inverted, n.value).unwrap_or_default()
                    })
                    .into_any(),
            ),
            _ => None,
        };
        let protocol = r.protocol.as_ref().map(|n| {
            words
                .form('\u{2}', n.inverted, n.value, || {
                    proto_form(n.inverted, n.value)
                })
                .into_any()
        });
        let (tname, topts, goto): (&str, &[OptionRef<'_, Token<'_>>], bool) = match &r.target {
            Some((t, goto)) => (&t.name, r.options_of(t), *goto),
            None => ("", &[], false),
        };
        let std = self.standard(tname)?;
        let rule = new_object(&self.rule_cls)?;
        // Extensions point back weakly: see `_Extension._rule` on the Python side.
        let back = PyWeakrefReference::new(&rule)?.into_any();
        // A weak reference without callback holds nothing the GC must see: one tracked object
        // less per rule for every collection to walk.
        untrack(&back);
        let zero_rev = 0u8.into_pyobject(py)?.into_any();
        let ext = |cls: &Bound<'py, PyType>,
                   name: &str,
                   opts: &[OptionRef<'_, Token<'_>>],
                   std: Option<&Bound<'py, PyAny>>|
         -> PyResult<Bound<'py, PyAny>> {
            let opts = options(&self.words, opts)?.into_any().unbind();
            let state = ExtBase {
                rref: back.clone().unbind(),
                ext: self.words.get(name).into_any().unbind(),
                revision: zero_rev.clone().unbind(),
                canon: opts.clone_ref(py),
                options: opts,
                std: std.map_or_else(|| py.None(), |s| s.clone().unbind()),
            };
            new_ext(cls, state)
        };
        let matches = r
            .matches
            .iter()
            .map(|m| ext(&self.match_cls, &m.name, r.options_of(m), None))
            .collect::<PyResult<Vec<_>>>()?;
        let target = ext(&self.target_cls, tname, topts, Some(&std))?;
        // The rule, its match list, matches and target start untracked by the cyclic GC: as
        // built they can be in no cycle (the back-references are weak), and a 10,000-rule chain
        // is ~45,000 objects every collection would walk. Any change that could close a cycle
        // tracks them again first (`Rule.__setattr__`, `_Extension.__setattr__`, `add_match`,
        // `Rule.__del__`, through `track` below).
        for obj in matches.iter().chain([&target]) {
            untrack(obj);
        }
        let match_list = PyList::new(py, matches)?.into_any();
        untrack(&match_list);
        let mut fields = vec![
            (intern!(py, "chain"), self.chain.clone()),
            (intern!(py, "_spec_cache"), spec_obj.clone()),
            // The entry itself: its counters may still be on their way (`Rule.get_counters`).
            (intern!(py, "_counters"), pair.clone()),
            (intern!(py, "_matches"), match_list),
            (intern!(py, "_target"), target),
        ];
        let optional = [
            (intern!(py, "_src"), addr(&r.src)),
            (intern!(py, "_dst"), addr(&r.dst)),
            (intern!(py, "_in"), iface(&r.in_interface)),
            (intern!(py, "_out"), iface(&r.out_interface)),
            (intern!(py, "_proto"), protocol),
            (
                intern!(py, "_frag"),
                r.fragment
                    .map(|f| f.into_pyobject(py).map(|b| b.to_owned().into_any()))
                    .transpose()?,
            ),
            (
                intern!(py, "_goto"),
                goto.then(|| true.into_pyobject(py).map(|b| b.to_owned().into_any()))
                    .transpose()?,
            ),
        ];
        fields.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v)).collect();
        set_attrs(&rule, &fields)?;
        untrack(&rule);
        Ok(rule)
    }
}

/// Every rule of a snapshot chain (`pairs`: `[[spec, counters]]`) as Rule objects of
/// `classes = (Rule class, Match, Target)`, in the state `Rule._from_save` gives a rule:
/// fields in python-iptables' read forms (see `decode_rule`), options canonical as read, a rule
/// without `-j` having the target `""`.
#[pyfunction]
pub fn build_rules<'py>(
    py: Python<'py>,
    pairs: &Bound<'py, PyList>,
    nfproto: u8,
    classes: (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>),
    chain: Bound<'py, PyAny>,
    is_standard: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let (rule_cls, match_cls, target_cls) = classes;
    let ext_class = |cls: Bound<'py, PyAny>| -> PyResult<Bound<'py, PyType>> {
        let cls = cls.downcast_into::<PyType>()?;
        if !cls.is_subclass_of::<ExtBase>()? {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "Match and Target must derive from _native.ExtBase",
            ));
        }
        Ok(cls)
    };
    let (match_cls, target_cls) = (ext_class(match_cls)?, ext_class(target_cls)?);
    let b = Builder {
        py,
        v6: nfproto == 10,
        nfproto,
        rule_cls,
        match_cls,
        target_cls,
        chain,
        is_standard,
        standard: RefCell::new(HashMap::default()),
        words: Words::new(py),
    };
    let rules = pairs
        .iter()
        .map(|pair| b.rule(&pair))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, rules)
}

/// `gc.is_tracked`, looked up when the module is loaded: `track` also runs from `Rule.__del__`
/// during interpreter shutdown, when nothing can be imported any more.
static IS_TRACKED: GILOnceCell<PyObject> = GILOnceCell::new();

/// Tracks `obj` by the cyclic GC again when `build_rules` left it untracked (no-op otherwise):
/// the Python side calls it before a change that could make it part of a cycle.
#[pyfunction]
pub fn track(obj: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = obj.py();
    let is_tracked = IS_TRACKED.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("gc")?.getattr("is_tracked")?.unbind())
    })?;
    if is_tracked.call1(py, (obj,))?.is_truthy(py)? {
        return Ok(());
    }
    // SAFETY: a live object; PyObject_GC_Track is only called for a GC type's untracked one
    // (tracking a tracked object is a fatal error).
    unsafe {
        let flags = pyo3::ffi::PyType_GetFlags(pyo3::ffi::Py_TYPE(obj.as_ptr()));
        if flags & pyo3::ffi::Py_TPFLAGS_HAVE_GC != 0 {
            pyo3::ffi::PyObject_GC_Track(obj.as_ptr().cast());
        }
    }
    Ok(())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(build_rules, m)?)?;
    m.add_function(wrap_pyfunction!(track, m)?)?;
    let py = m.py();
    IS_TRACKED.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("gc")?.getattr("is_tracked")?.unbind())
    })?;
    Ok(())
}
