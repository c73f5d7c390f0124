//! The native base class of the Python `Match` and `Target` (python/pytables/_ext.py): the
//! getters a program reads on every rule, in C instead of Python frames. (`Rule` stays a plain
//! Python class: its attributes live in CPython's inline values, which a native base would
//! turn into one dict object per rule.)
//!
//! `ExtBase` holds an extension's state (`_rref`, `_ext`, `_options`, `_canon`, `_std` …) as
//! fields the Python side reads and writes by those names; the Python classes keep every
//! mutation and check, and these getters only read (calling back into Python where a value is
//! not known yet). Reading a 10,000-rule chain touches ~20 attributes per rule, and a Python
//! property is a frame each.
use pyo3::exceptions::PyAttributeError;
use pyo3::ffi;
use pyo3::gc::PyVisit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyWeakrefReference};
use pyo3::PyTraverseError;

/// What python-iptables raises for the parameters of a standard target (it has no save routine).
const NONE_DECODE: &str = "'NoneType' object has no attribute 'decode'";

/// That error, its message made once: reading a standard target's `parameters` raises twice
/// (the getter, then `__getattr__`), for most rules of a chain.
fn none_decode(py: Python<'_>) -> PyErr {
    static MESSAGE: GILOnceCell<Py<PyString>> = GILOnceCell::new();
    let message = MESSAGE.get_or_init(py, || PyString::new(py, NONE_DECODE).unbind());
    PyAttributeError::new_err(message.clone_ref(py))
}

/// One option `(name, inverted, args)`, as the Python side unpacks it.
fn option<'py>(
    opt: PyResult<Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, bool, Bound<'py, PyAny>)> {
    let opt = opt?;
    if let Ok(t) = opt.downcast::<PyTuple>() {
        if t.len() == 3 {
            return Ok((t.get_item(0)?, t.get_item(1)?.is_truthy()?, t.get_item(2)?));
        }
    }
    let (name, inverted, args): (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>) =
        opt.extract()?;
    Ok((name, inverted.is_truthy()?, args))
}

/// The canonical options `[(name, inverted, (args…))]`: `_canon`, else `_canonical()`.
fn canonical<'py>(slf: &Bound<'py, ExtBase>) -> PyResult<Bound<'py, PyAny>> {
    let canon = slf.borrow().canon.clone_ref(slf.py()).into_bound(slf.py());
    if canon.is_none() {
        slf.call_method0(intern!(slf.py(), "_canonical"))
    } else {
        Ok(canon)
    }
}

/// `name.replace("-", "_")`, the same object when there is no dash (as CPython's replace).
fn underscored<'py>(name: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = name.py();
    // SAFETY: live objects; PyUnicode_Replace checks their types and returns a new reference.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyUnicode_Replace(
                name.as_ptr(),
                intern!(py, "-").as_ptr(),
                intern!(py, "_").as_ptr(),
                -1,
            ),
        )
    }
}

/// `"!" + " ".join(args) if inverted else " ".join(args)`, in C string functions (the abi3
/// build has no borrowed UTF-8 view, so a Rust &str would be a copy per word).
fn joined<'py>(args: &Bound<'py, PyAny>, inverted: bool) -> PyResult<Bound<'py, PyAny>> {
    let py = args.py();
    // SAFETY: live objects; both functions check their arguments and return new references.
    unsafe {
        let joined = Bound::from_owned_ptr_or_err(
            py,
            ffi::PyUnicode_Join(intern!(py, " ").as_ptr(), args.as_ptr()),
        )?;
        if !inverted {
            return Ok(joined);
        }
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyUnicode_Concat(intern!(py, "!").as_ptr(), joined.as_ptr()),
        )
    }
}

/// Whether `obj` is a str equal to the ASCII `text`.
fn is_str(obj: &Bound<'_, PyAny>, text: &std::ffi::CStr) -> bool {
    // SAFETY: a live str; the comparison raises nothing.
    obj.is_instance_of::<PyString>()
        && unsafe { ffi::PyUnicode_CompareWithASCIIString(obj.as_ptr(), text.as_ptr()) == 0 }
}

/// Calls `f(name, inverted, args)` for each canonical option. The usual canonical options (a
/// list of `(name, bool, tuple)`) are read by index, without an iterator object per call.
fn each_option<'py>(
    slf: &Bound<'py, ExtBase>,
    mut f: impl FnMut(Bound<'py, PyAny>, bool, Bound<'py, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    let canon = canonical(slf)?;
    if let Ok(list) = canon.downcast_exact::<PyList>() {
        for i in 0..list.len() {
            let (name, inverted, args) = option(list.get_item(i))?;
            f(name, inverted, args)?;
        }
        return Ok(());
    }
    for opt in canon.try_iter()? {
        let (name, inverted, args) = option(opt)?;
        f(name, inverted, args)?;
    }
    Ok(())
}

/// `parameters`: `{name_with_underscores: "value words"}` (`"!…"` when inverted).
fn parameters<'py>(slf: &Bound<'py, ExtBase>) -> PyResult<Bound<'py, PyDict>> {
    let params = PyDict::new(slf.py());
    each_option(slf, |name, inverted, args| {
        params.set_item(underscored(&name)?, joined(&args, inverted)?)
    })?;
    Ok(params)
}

/// `get_all_parameters()`: `{dash-name: [args…]}` (`["!", …]` when inverted).
fn all_parameters<'py>(slf: &Bound<'py, ExtBase>) -> PyResult<Bound<'py, PyDict>> {
    let py = slf.py();
    let params = PyDict::new(py);
    each_option(slf, |name, inverted, args| {
        let list = match args.downcast::<PyTuple>() {
            Ok(t) if !inverted => t.to_list(),
            _ => {
                let list = PyList::empty(py);
                if inverted {
                    list.append(intern!(py, "!"))?;
                }
                for arg in args.try_iter()? {
                    list.append(arg?)?;
                }
                list
            }
        };
        params.set_item(name, list)
    })?;
    Ok(params)
}

/// Names the Python side keeps in the native base: a failed lookup of one is no option.
fn is_private(attr: &Bound<'_, PyString>) -> bool {
    let py = attr.py();
    // SAFETY: a live str; reading past its end sets an IndexError, cleared here.
    let first = unsafe { ffi::PyUnicode_ReadChar(attr.as_ptr(), 0) };
    if first != u32::from(b'_') {
        if first == u32::MAX {
            drop(PyErr::take(py)); // the empty name
        }
        return false; // the usual miss (`parameters` of a standard target, an option name)
    }
    // SAFETY: live str objects; PyUnicode_Tailmatch raises nothing for them.
    let dunder = unsafe {
        ffi::PyUnicode_Tailmatch(
            attr.as_ptr(),
            intern!(py, "__").as_ptr(),
            0,
            ffi::PY_SSIZE_T_MAX,
            -1,
        ) == 1
    };
    dunder
        || [
            c"_rref",
            c"_ext",
            c"_options",
            c"_canon",
            c"_revision",
            c"_std",
        ]
        .iter()
        .any(|name| is_str(attr.as_any(), name))
}

/// Base of the Python `_Extension` (and so of `Match`): its state and the option views.
///
/// The state is here, not in the instance `__dict__`: the getters read it without an attribute
/// lookup, and the builder (chain.rs) sets it without one. The Python side reads and writes it
/// by the same names as before (`self._options = …`).
#[pyclass(subclass, module = "pytables._native")]
pub struct ExtBase {
    /// The rule, None, or (read back from the kernel) a weak reference to the rule. Its setter
    /// is written out below: the rule it replaces may be freed, and run `Rule.__del__`.
    #[pyo3(get, name = "_rref")]
    pub rref: PyObject,
    /// The extension name as given (`name` is what python-iptables reports).
    #[pyo3(get, set, name = "_ext")]
    pub ext: PyObject,
    #[pyo3(get, set, name = "_revision")]
    pub revision: PyObject,
    /// Options as set: `[(dash-name, inverted, (args…))]`.
    #[pyo3(get, set, name = "_options")]
    pub options: PyObject,
    /// The canonical options, None until known.
    #[pyo3(get, set, name = "_canon")]
    pub canon: PyObject,
    /// Target only: `(name, is standard)` for the name last judged, or None.
    #[pyo3(get, set, name = "_std")]
    pub std: PyObject,
}

#[pymethods]
impl ExtBase {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        py: Python<'_>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> Self {
        ExtBase::empty(py)
    }

    /// The extension's name; `state` is implemented by conntrack and libxtables reports it by
    /// that name until an option is set.
    #[getter]
    fn name(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        let py = slf.py();
        let this = slf.borrow();
        let ext = this.ext.bind(py);
        if is_str(ext, c"state") && !this.options.bind(py).is_truthy()? {
            return Ok(intern!(py, "conntrack").clone().into_any().unbind());
        }
        Ok(ext.clone().unbind())
    }

    /// Sets the rule; the one it replaces is released only after this object's borrow ends,
    /// since releasing the last reference to it runs `Rule.__del__`, which reads this object.
    #[setter(_rref)]
    fn set_rref(slf: &Bound<'_, Self>, rule: PyObject) {
        let old = std::mem::replace(&mut slf.borrow_mut().rref, rule);
        drop(old);
    }

    #[getter]
    fn parameters<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        parameters(slf)
    }

    fn get_all_parameters<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        all_parameters(slf)
    }

    // Target views (the Python `Target` binds them to its own names, so one native base
    // serves Match and Target and the Python classes stay single inheritance).

    /// python-iptables reports NOTRACK by its real implementation, CT.
    #[getter]
    fn _target_name(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        let py = slf.py();
        let ext = slf.borrow().ext.clone_ref(py);
        if is_str(ext.bind(py), c"NOTRACK") {
            return Ok(intern!(py, "CT").clone().into_any().unbind());
        }
        Ok(ext)
    }

    #[getter]
    fn _target_is_standard(slf: &Bound<'_, Self>) -> PyResult<bool> {
        standard(slf)
    }

    #[getter]
    fn _target_goto(slf: &Bound<'_, Self>) -> PyResult<bool> {
        let py = slf.py();
        let rref = slf.borrow().rref.clone_ref(py).into_bound(py);
        let rule = match rref.downcast::<PyWeakrefReference>() {
            Ok(weak) => weak.upgrade(),
            Err(_) => Some(rref),
        };
        match rule.filter(|r| !r.is_none()) {
            Some(rule) => rule.getattr(intern!(py, "_goto"))?.is_truthy(),
            None => Ok(false),
        }
    }

    /// A standard target has no save routine: python-iptables raises.
    #[getter]
    fn _target_parameters<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        if standard(slf)? {
            return Err(none_decode(slf.py()));
        }
        parameters(slf)
    }

    fn _target_get_all_parameters<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        if standard(slf)? {
            return Ok(PyDict::new(slf.py()));
        }
        all_parameters(slf)
    }

    /// `Match.__getattr__` (the Python class binds it by that name, so only a failed lookup
    /// reaches it; the type keeps CPython's own attribute lookup): an option by attribute name.
    fn _match_getattr<'py>(
        slf: &Bound<'py, Self>,
        attr: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if is_private(attr) {
            return Err(PyAttributeError::new_err(attr.clone().unbind()));
        }
        parameters(slf)?.get_item(attr)
    }

    /// `Target.__getattr__`: a standard target has no options, and python-iptables raises.
    fn _target_getattr<'py>(
        slf: &Bound<'py, Self>,
        attr: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if is_private(attr) {
            return Err(PyAttributeError::new_err(attr.clone().unbind()));
        }
        if standard(slf)? {
            return Err(none_decode(slf.py()));
        }
        parameters(slf)?.get_item(attr)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // The rule may hold this extension: a cycle the GC must see through these fields.
        for field in [
            &self.rref,
            &self.ext,
            &self.revision,
            &self.options,
            &self.canon,
            &self.std,
        ] {
            visit.call(field)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        let py_none = Python::with_gil(|py| py.None());
        self.rref = py_none;
    }
}

impl ExtBase {
    pub fn empty(py: Python<'_>) -> Self {
        ExtBase {
            rref: py.None(),
            ext: py.None(),
            revision: py.None(),
            options: py.None(),
            canon: py.None(),
            std: py.None(),
        }
    }
}

/// Whether a target is libxtables' standard one: `_std` remembers the judgement with the name
/// it was made for; `_judge_standard()` (Python) judges and remembers.
fn standard(slf: &Bound<'_, ExtBase>) -> PyResult<bool> {
    let py = slf.py();
    {
        let this = slf.borrow();
        if let Ok(known) = this.std.bind(py).downcast::<PyTuple>() {
            let name = known.get_item(0)?;
            if name.is(this.ext.bind(py)) || name.eq(this.ext.bind(py))? {
                return known.get_item(1)?.is_truthy();
            }
        }
    }
    slf.call_method0(intern!(py, "_judge_standard"))?
        .is_truthy()
}

// ----- Rule helpers (the Python `Rule` stays a plain class; see the module comment) ---------

/// The body of `Rule.__del__`. Extensions read from the kernel point back at their rule weakly
/// (see `_Extension._rule`); when one is still referenced elsewhere as its rule goes away,
/// python-iptables' extension would keep its rule alive: the back references become strong,
/// which resurrects the rule (then an ordinary cycle for the cyclic GC).
fn rule_finalize(rule: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = rule.py();
    let absent = |e: PyErr| match e.is_instance_of::<PyAttributeError>(py) {
        true => Ok(None),
        false => Err(e),
    };
    // A rule never initialised has neither.
    let Some(target) = rule
        .getattr(intern!(py, "_target"))
        .map(Some)
        .or_else(absent)?
    else {
        return Ok(());
    };
    let Some(matches) = rule
        .getattr(intern!(py, "_matches"))
        .map(Some)
        .or_else(absent)?
    else {
        return Ok(());
    };
    // An unused extension has two references: its rule's (attribute or list) and ours.
    // SAFETY: live objects.
    let used = |e: &Bound<'_, PyAny>| unsafe { ffi::Py_REFCNT(e.as_ptr()) } > 2;
    let target_used = !target.is_none() && used(&target);
    // The usual case, every rule of a dropped chain: nothing outlives the rule.
    if let Ok(list) = matches.downcast_exact::<PyList>() {
        if !target_used && !(0..list.len()).any(|i| list.get_item(i).is_ok_and(|m| used(&m))) {
            return Ok(());
        }
    }
    let matches: Vec<_> = matches.try_iter()?.collect::<PyResult<_>>()?;
    if !target_used && !matches.iter().any(used) {
        return Ok(());
    }
    // The rule is tracked while finalised; its match list and extensions may not be, and are
    // about to be part of a cycle.
    crate::chain::track(&rule.getattr(intern!(py, "_matches"))?)?;
    for e in std::iter::once(target).chain(matches) {
        if e.is_none() {
            continue;
        }
        if let Ok(ext) = e.downcast::<ExtBase>() {
            let weak = is_weakref(ext.borrow().rref.bind(py));
            if weak {
                crate::chain::track(&e)?;
                ext.borrow_mut().rref = rule.clone().unbind();
            }
        } else if is_weakref(&e.getattr(intern!(py, "_rref"))?) {
            e.setattr(intern!(py, "_rref"), rule)?;
        }
    }
    Ok(())
}

/// `type(obj) is weakref.ref`.
fn is_weakref(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: a live object.
    unsafe { ffi::PyWeakref_CheckRefExact(obj.as_ptr()) != 0 }
}

unsafe extern "C" fn rule_del(
    slf: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // No unwinding across the C boundary; a Rust panic here would be a bug, reported as an error.
    let result = std::panic::catch_unwind(|| {
        // SAFETY: CPython calls a finaliser with the GIL held and `slf` alive.
        let py = unsafe { Python::assume_gil_acquired() };
        let rule = unsafe { Bound::from_borrowed_ptr(py, slf) };
        match rule_finalize(&rule) {
            Ok(()) => py.None().into_ptr(),
            Err(e) => {
                e.restore(py);
                std::ptr::null_mut()
            }
        }
    });
    result.unwrap_or_else(|_| {
        // SAFETY: the GIL is held (see above).
        let py = unsafe { Python::assume_gil_acquired() };
        pyo3::exceptions::PySystemError::new_err("panic in Rule.__del__").restore(py);
        std::ptr::null_mut()
    })
}

/// `Rule.__del__` as a method descriptor of `object`: CPython's finaliser slot calls such a
/// descriptor directly with the rule (no bound method, no Python frame per freed rule), and
/// `Rule` stays a plain Python class. (A `#[pyfunction]` would not receive the rule: builtin
/// functions do not bind as methods.)
fn rule_del_descriptor(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"__del__".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunction: rule_del,
        },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"Makes extensions that outlive their rule keep it (python-iptables' behaviour)."
            .as_ptr(),
    }));
    // SAFETY: `def` lives for the rest of the process; PyBaseObject_Type is static.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyDescr_NewMethod(std::ptr::addr_of_mut!(ffi::PyBaseObject_Type), def),
        )
    }
}

/// What a Rule view returns for the instance attribute it reads. (A plain alias gains
/// nothing over `property(operator.attrgetter(…))`: measured.)
#[derive(Clone, Copy, PartialEq)]
enum ViewKind {
    /// A new list of its items (`matches`: python-iptables gives a fresh list).
    ListCopy,
    /// Whether it is `False` (`fragment`: `_frag` is None, False for `-f`, True for `! -f`).
    IsFalse,
}

/// One read view of `Rule` (see [`rule_view`]); leaked, like the class attribute it backs.
struct View {
    name: Py<PyString>,
    attr: Py<PyString>,
    setter: Option<PyObject>,
    kind: ViewKind,
}

unsafe extern "C" fn view_get(
    obj: *mut ffi::PyObject,
    closure: *mut std::ffi::c_void,
) -> *mut ffi::PyObject {
    // SAFETY: `closure` is the leaked View of this descriptor; CPython calls getters with the
    // GIL held and a live object. Only C API calls here: nothing can panic.
    unsafe {
        let view = &*(closure as *const View);
        let value = ffi::PyObject_GetAttr(obj, view.attr.as_ptr());
        if value.is_null() {
            return value;
        }
        let result = if view.kind == ViewKind::IsFalse {
            ffi::PyBool_FromLong(std::ffi::c_long::from(value == ffi::Py_False()))
        } else if ffi::PyList_CheckExact(value) != 0 {
            ffi::PyList_GetSlice(value, 0, ffi::PY_SSIZE_T_MAX)
        } else {
            ffi::PySequence_List(value)
        };
        ffi::Py_DecRef(value);
        result
    }
}

/// Assignment through the Python setter (`set_src`), or property's errors where it has none.
fn view_assign(
    view: &View,
    obj: &Bound<'_, PyAny>,
    value: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let py = obj.py();
    let missing = match (value, &view.setter) {
        (Some(value), Some(setter)) => return setter.call1(py, (obj, value)).map(drop),
        (Some(_), None) => "setter",
        (None, _) => "deleter",
    };
    let owner = obj.get_type().qualname()?;
    Err(PyAttributeError::new_err(format!(
        "property {} of {} object has no {missing}",
        view.name.bind(py).repr()?,
        owner.repr()?
    )))
}

unsafe extern "C" fn view_set(
    obj: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    closure: *mut std::ffi::c_void,
) -> std::ffi::c_int {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: as in view_get; `value` is NULL for a deletion.
        unsafe {
            let py = Python::assume_gil_acquired();
            let view = &*(closure as *const View);
            let obj = Bound::from_borrowed_ptr(py, obj);
            let value = Bound::from_borrowed_ptr_or_opt(py, value);
            view_assign(view, &obj, value.as_ref())
        }
    });
    // SAFETY: the GIL is held (see above).
    let py = unsafe { Python::assume_gil_acquired() };
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            e.restore(py);
            -1
        }
        Err(_) => {
            pyo3::exceptions::PySystemError::new_err("panic in a Rule setter").restore(py);
            -1
        }
    }
}

/// A read view of `Rule` (`matches`, `fragment`) as a getset descriptor of `object`: reading it
/// runs one C function, where a `property` runs its getter's Python frame first. It reads the
/// instance attribute `attr` (see [`ViewKind`]); assigning calls `setter(rule, value)`, the
/// function the property had, and without one fails as the property would.
#[pyfunction]
#[pyo3(signature = (name, attr, setter, kind))]
fn rule_view<'py>(
    py: Python<'py>,
    name: &str,
    attr: &Bound<'py, PyString>,
    setter: Option<PyObject>,
    kind: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = match kind {
        "list_copy" => ViewKind::ListCopy,
        "is_false" => ViewKind::IsFalse,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown view kind {other:?}"
            )))
        }
    };
    let c_name = std::ffi::CString::new(name)?;
    let view = Box::leak(Box::new(View {
        name: PyString::intern(py, name).unbind(),
        attr: PyString::intern(py, &attr.to_cow()?).unbind(),
        setter,
        kind,
    }));
    let def = Box::leak(Box::new(ffi::PyGetSetDef {
        name: c_name.into_raw(),
        get: Some(view_get),
        set: Some(view_set),
        doc: std::ptr::null(),
        closure: (view as *mut View).cast(),
    }));
    // SAFETY: `def` and its closure live for the rest of the process; PyBaseObject_Type is
    // static.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyDescr_NewGetSet(std::ptr::addr_of_mut!(ffi::PyBaseObject_Type), def),
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ExtBase>()?;
    m.add_function(wrap_pyfunction!(rule_view, m)?)?;
    m.add("rule_del", rule_del_descriptor(m.py())?)?;
    Ok(())
}
