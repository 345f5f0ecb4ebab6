//! The Python face of the engine (`fastbridge._core`): convert input, call
//! the engine, map errors. Nothing here decides what matches.

use crate::error::{Error, EventErrorKind};
use crate::{Config, Machine};
use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple,
};
use std::sync::{Arc, Mutex};

create_exception!(
    fastbridge,
    InvalidPatternError,
    PyValueError,
    "A pattern EventBridge would reject. `reason` holds EventBridge's reason text."
);
create_exception!(fastbridge, InvalidEventError, PyValueError, "An event that is not a JSON object within the limits. `offset` is the byte offset of the problem.");
create_exception!(
    fastbridge,
    LimitError,
    PyValueError,
    "A configured size limit of the machine would be exceeded."
);

/// The one mapping from engine errors to Python exceptions.
impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        Python::attach(|py| {
            let message = e.to_string();
            let (err, attrs): (PyErr, Vec<(&str, Py<PyAny>)>) = match e {
                Error::Pattern(p) => (
                    InvalidPatternError::new_err(message),
                    vec![(
                        "reason",
                        p.reason
                            .into_pyobject(py)
                            .map(|o| o.into_any().unbind())
                            .unwrap_or_else(|_| py.None()),
                    )],
                ),
                Error::Event(ev) => {
                    let kind = match ev.kind {
                        EventErrorKind::InvalidUtf8 => "invalid_utf8",
                        EventErrorKind::Syntax(_) => "syntax",
                        EventErrorKind::NotAnObject => "not_an_object",
                        EventErrorKind::LoneSurrogate => "lone_surrogate",
                        EventErrorKind::TooDeep { .. } => "too_deep",
                        EventErrorKind::TooLarge { .. } => "too_large",
                        EventErrorKind::TooComplex { .. } => "too_complex",
                    };
                    (
                        InvalidEventError::new_err(message),
                        vec![
                            (
                                "offset",
                                ev.offset
                                    .into_pyobject(py)
                                    .map(|o| o.into_any().unbind())
                                    .unwrap_or_else(|_| py.None()),
                            ),
                            ("kind", PyString::new(py, kind).into_any().unbind()),
                        ],
                    )
                }
                Error::Limit(l) => (
                    LimitError::new_err(message),
                    vec![
                        ("limit_name", PyString::new(py, l.limit_name).into_any().unbind()),
                        (
                            "given",
                            l.given
                                .into_pyobject(py)
                                .map(|o| o.into_any().unbind())
                                .unwrap_or_else(|_| py.None()),
                        ),
                        (
                            "limit",
                            l.limit
                                .into_pyobject(py)
                                .map(|o| o.into_any().unbind())
                                .unwrap_or_else(|_| py.None()),
                        ),
                    ],
                ),
            };
            let value = err.value(py);
            for (name, v) in attrs {
                // Setting an attribute on a fresh exception instance cannot fail.
                let _ = value.setattr(name, v);
            }
            err
        })
    }
}

/// Event or pattern text as handed over by Python, without copying where possible.
enum Text {
    Bytes(PyBackedBytes),
    Str(PyBackedStr),
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

impl Text {
    fn bytes(&self) -> &[u8] {
        match self {
            Text::Bytes(b) => b,
            Text::Str(s) => s.as_bytes(),
            Text::Owned(v) => v,
        }
    }
}

/// Deepest container nesting accepted when writing a dict as JSON (also
/// stops self-referencing containers).
const MAX_WRITE_DEPTH: usize = 2048;

fn invalid_event(message: String) -> PyErr {
    InvalidEventError::new_err(message)
}

/// Writes a Python value (dict, list, tuple, str, int, float, bool, None) as JSON.
fn write_json(obj: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
    if depth > MAX_WRITE_DEPTH {
        return Err(invalid_event(format!("value nests deeper than {} levels", MAX_WRITE_DEPTH)));
    }
    if obj.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(b) = obj.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
    } else if let Ok(s) = obj.cast::<PyString>() {
        let s = s
            .to_str()
            .map_err(|_| invalid_event("string is not valid Unicode (lone surrogate)".into()))?;
        write_string(s, out);
    } else if obj.cast::<PyInt>().is_ok() {
        out.extend_from_slice(obj.str()?.to_str()?.as_bytes());
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        if !v.is_finite() {
            return Err(PyValueError::new_err(format!("{} is not a JSON number", v)));
        }
        out.extend_from_slice(obj.repr()?.to_str()?.as_bytes());
    } else if let Ok(d) = obj.cast::<PyDict>() {
        out.push(b'{');
        for (i, (k, v)) in d.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let key = k
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("JSON object keys must be str"))?;
            write_string(key.to_str()?, out);
            out.push(b':');
            write_json(&v, out, depth + 1)?;
        }
        out.push(b'}');
    } else if obj.cast::<PyList>().is_ok() || obj.cast::<PyTuple>().is_ok() {
        out.push(b'[');
        for (i, item) in obj.try_iter()?.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json(&item?, out, depth + 1)?;
        }
        out.push(b']');
    } else {
        return Err(PyTypeError::new_err(format!(
            "cannot write a {} as JSON",
            obj.get_type().name()?
        )));
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Accepts `bytes`, `bytearray`, `str`, or a `dict` (written as JSON in Rust).
fn text_of(obj: &Bound<'_, PyAny>) -> PyResult<Text> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Text::Bytes(PyBackedBytes::from(b.clone())));
    }
    if obj.cast::<PyByteArray>().is_ok() {
        return Ok(Text::Bytes(obj.extract::<PyBackedBytes>()?));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.extract::<PyBackedStr>() {
            Ok(b) => Ok(Text::Str(b)),
            Err(_) => Err(invalid_event("string is not valid Unicode (lone surrogate)".into())),
        };
    }
    if obj.cast::<PyDict>().is_ok() {
        let mut out = Vec::with_capacity(256);
        write_json(obj, &mut out, 0)?;
        return Ok(Text::Owned(out));
    }
    Err(PyTypeError::new_err(format!(
        "expected bytes, str or dict, not {}",
        obj.get_type().name()?
    )))
}

/// Pattern text: a Python `str`'s own UTF-8 where it has one (a batch of
/// rules is not copied again before it is compiled), else a copy or JSON
/// written here.
enum PatternText {
    Str(PyBackedStr),
    Owned(String),
}

impl std::ops::Deref for PatternText {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            PatternText::Str(s) => s,
            PatternText::Owned(s) => s,
        }
    }
}

/// Pattern text: `str`, `bytes` or any JSON-like value (dicts mostly).
fn pattern_text(obj: &Bound<'_, PyAny>) -> PyResult<PatternText> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(PatternText::Str(s.extract()?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return String::from_utf8(b.as_bytes().to_vec()).map(PatternText::Owned).map_err(|_| {
            Error::Pattern(crate::PatternError::new("pattern is not valid UTF-8")).into()
        });
    }
    let mut out = Vec::new();
    write_json(obj, &mut out, 0)?;
    // Written from Python strings: valid UTF-8.
    String::from_utf8(out)
        .map(PatternText::Owned)
        .map_err(|_| PyValueError::new_err("pattern is not valid UTF-8"))
}

/// Many patterns compiled into one automaton; thread-safe, readers never block.
#[pyclass(frozen, module = "fastbridge._core", name = "Machine")]
pub struct PyMachine {
    inner: Arc<Machine>,
    names: Mutex<NameStrings>,
}

/// The Python strings of the rule names calls have answered with, kept
/// from one call to the next while the machine's snapshot stays the same:
/// a name a rule set returns often is made a string once, not once a call.
/// They are kept by `(segment, pattern)`, the numbers the snapshot answers
/// with, each with its sort key, so that a match is put in its place
/// without reading its name or counting a reference to it. The weak
/// reference keeps the snapshot's address from being reused, so a new
/// snapshot is always noticed (and the strings dropped). At most one
/// string per rule pattern, and 32 bytes per pattern of each segment that
/// has answered.
#[derive(Default)]
struct NameStrings {
    snapshot: std::sync::Weak<crate::Snapshot>,
    /// By segment (made at its first match), then pattern.
    strings: Vec<Vec<Option<Named>>>,
    /// An event's matches with their sort keys (reused).
    keyed: Vec<(u128, (u32, u32))>,
}

struct Named {
    string: Py<PyString>,
    key: u128,
}

impl NameStrings {
    /// Ready for answers of `snap`: emptied first if the strings were made
    /// under another snapshot.
    fn of(&mut self, snap: &Arc<crate::Snapshot>) -> &mut Self {
        if self.snapshot.as_ptr() != Arc::as_ptr(snap) {
            self.strings = snap.segment_sizes().map(|_| Vec::new()).collect();
            self.snapshot = Arc::downgrade(snap);
        }
        self
    }

    /// The list of the names of `pairs` (a `matches_for_event` answer of
    /// `snap`), sorted, each once.
    fn list<'py>(
        &mut self,
        py: Python<'py>,
        snap: &crate::Snapshot,
        pairs: &[(u32, u32)],
    ) -> PyResult<Bound<'py, PyList>> {
        self.keyed.clear();
        for &pair in pairs {
            let segment = &mut self.strings[pair.0 as usize];
            if segment.is_empty() {
                let size = snap.segment_sizes().nth(pair.0 as usize).unwrap_or(0);
                segment.resize_with(size, || None);
            }
            let named = segment[pair.1 as usize].get_or_insert_with(|| {
                let name = snap.name(pair);
                Named {
                    string: PyString::new(py, name).unbind(),
                    key: crate::matching::name_key(name.as_bytes()),
                }
            });
            self.keyed.push((named.key, pair));
        }
        crate::matching::sort_by_name(&mut self.keyed, |&p| snap.name(p).as_bytes());
        let strings = &self.strings;
        PyList::new(
            py,
            self.keyed.iter().map(|&(_, (segment, pattern))| {
                let named = strings[segment as usize][pattern as usize].as_ref();
                named.map(|n| n.string.bind(py).clone())
            }),
        )
    }
}

fn names_list<'py>(py: Python<'py>, names: &[Arc<str>]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, names.iter().map(|n| &**n))
}

#[pymethods]
impl PyMachine {
    #[new]
    #[pyo3(signature = (*, max_fields_per_pattern = 256, max_subpatterns_per_pattern = 1024,
                        max_states = 50_000_000, max_event_bytes = 1_048_576, max_depth = 1000,
                        max_consistency_steps = 1_000_000))]
    fn new(
        max_fields_per_pattern: usize,
        max_subpatterns_per_pattern: usize,
        max_states: usize,
        max_event_bytes: usize,
        max_depth: usize,
        max_consistency_steps: usize,
    ) -> Self {
        PyMachine {
            names: Mutex::default(),
            inner: Arc::new(Machine::new(Config {
                max_fields_per_pattern,
                max_subpatterns_per_pattern,
                max_states,
                max_event_bytes,
                max_depth,
                max_consistency_steps,
            })),
        }
    }

    fn add_rule(&self, name: &str, pattern: &Bound<'_, PyAny>) -> PyResult<()> {
        let text = pattern_text(pattern)?;
        self.inner.add_rule(name, &text)?;
        Ok(())
    }

    fn add_rules(&self, rules: &Bound<'_, PyAny>) -> PyResult<()> {
        let items = if let Ok(m) = rules.cast::<PyMapping>() {
            m.items()?.into_any()
        } else {
            rules.clone()
        };
        // Names and `str` patterns are borrowed from Python, not copied:
        // copies of a whole batch, freed after it is compiled, would leave
        // a gap below the stored rules that the allocator keeps.
        let mut pairs: Vec<(PyBackedStr, PatternText)> = Vec::new();
        for item in items.try_iter()? {
            let item = item?;
            let (name, pattern): (PyBackedStr, Bound<'_, PyAny>) = item.extract()?;
            pairs.push((name, pattern_text(&pattern)?));
        }
        self.inner.add_rules(pairs.iter().map(|(n, p)| (&**n, &**p)))?;
        Ok(())
    }

    #[pyo3(signature = (name, pattern = None))]
    fn delete_rule(&self, name: &str, pattern: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let text = pattern.map(pattern_text).transpose()?;
        Ok(self.inner.delete_rule(name, text.as_deref()).map_err(Error::Pattern)?)
    }

    fn rules_for_event<'py>(
        &self,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = text_of(event)?;
        let (snap, pairs) = self.inner.matches_for_event(text.bytes()).map_err(Error::Event)?;
        if pairs.is_empty() {
            return Ok(PyList::empty(py));
        }
        // The names' strings kept for batches serve here too (see
        // `rules_for_events` for the lock).
        let mut shared = self.names.try_lock().ok();
        let mut own = NameStrings::default();
        shared.as_deref_mut().unwrap_or(&mut own).of(&snap).list(py, &snap, &pairs)
    }

    /// Matches many events with the GIL released, on `threads` threads. A
    /// bad event raises at once (`errors="raise"`, with `.index` set) or
    /// stands in the result list as its `InvalidEventError` (`errors="return"`).
    #[pyo3(signature = (events, *, errors = "raise", threads = 1))]
    fn rules_for_events<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyAny>,
        errors: &str,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let stop_at_error = match errors {
            "raise" => true,
            "return" => false,
            other => {
                return Err(PyValueError::new_err(format!(
                    "errors must be \"raise\" or \"return\", not {:?}",
                    other
                )))
            }
        };
        let snap = self.inner.snapshot();
        let mut own = NameStrings::default();
        let mut out = Vec::new();
        Self::batch(&snap, py, events, threads, stop_at_error, |first, results| {
            // Held only while answers are made, with the GIL: another batch
            // finding it in use (one run from within this one, by a
            // finalizer the garbage collector calls while strings are
            // made) makes strings of its own.
            let mut shared = self.names.try_lock().ok();
            let strings = shared.as_deref_mut().unwrap_or(&mut own).of(&snap);
            for (i, r) in results.events.into_iter().enumerate() {
                match r {
                    Ok(range) => {
                        out.push(strings.list(py, &snap, &results.pairs[range])?.into_any());
                    }
                    Err(e) => {
                        let err = event_error(py, e, first + i)?;
                        if stop_at_error {
                            return Err(err);
                        }
                        out.push(err.value(py).clone().into_any());
                    }
                }
            }
            Ok(())
        })?;
        PyList::new(py, out)
    }

    /// How many of `events` each rule matches (every rule listed, zeros too).
    #[pyo3(signature = (events, *, threads = 1))]
    fn count_matches<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyAny>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (names, rows) = self.indexed(py, events, threads)?;
        let mut counts = vec![0usize; names.len()];
        rows.iter().flatten().for_each(|&i| counts[i as usize] += 1);
        let d = PyDict::new(py);
        for (name, n) in names.iter().zip(counts) {
            d.set_item(&**name, n)?;
        }
        Ok(d)
    }

    /// `(rule names, matrix)`: a numpy bool array, one row per event and one
    /// column per rule (in the order of the names). Needs numpy.
    #[pyo3(signature = (events, *, threads = 1))]
    fn match_matrix<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyAny>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let (names, rows) = self.indexed(py, events, threads)?;
        let width = names.len();
        let mut cells = vec![0u8; rows.len() * width];
        for (r, row) in rows.iter().enumerate() {
            row.iter().for_each(|&c| cells[r * width + c as usize] = 1);
        }
        let np = py.import("numpy")?;
        let flat = np.call_method1("frombuffer", (PyBytes::new(py, &cells), "bool"))?;
        let matrix = flat.call_method1("reshape", ((rows.len(), width),))?;
        PyTuple::new(py, [names_list(py, &names)?.into_any(), matrix])
    }

    /// `(rule names, indptr, indices)` in CSR form: the rules event `i`
    /// matches are `names[j]` for `j` in `indices[indptr[i]:indptr[i + 1]]`.
    /// numpy int64 and int32 arrays. Needs numpy.
    #[pyo3(signature = (events, *, threads = 1))]
    fn match_indices<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyAny>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let (names, rows) = self.indexed(py, events, threads)?;
        let mut indptr: Vec<u8> = Vec::with_capacity((rows.len() + 1) * 8);
        let mut indices: Vec<u8> = Vec::new();
        let mut total = 0i64;
        indptr.extend_from_slice(&total.to_le_bytes());
        for row in &rows {
            for &c in row {
                indices.extend_from_slice(&(c as i32).to_le_bytes());
            }
            total += row.len() as i64;
            indptr.extend_from_slice(&total.to_le_bytes());
        }
        let np = py.import("numpy")?;
        let indptr = np.call_method1("frombuffer", (PyBytes::new(py, &indptr), "<i8"))?;
        let indices = np.call_method1("frombuffer", (PyBytes::new(py, &indices), "<i4"))?;
        PyTuple::new(py, [names_list(py, &names)?.into_any(), indptr, indices])
    }

    fn rule_names<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        names_list(py, &self.inner.rule_names())
    }

    /// Every `(name, pattern JSON)` pair.
    fn rules(&self) -> Vec<(String, String)> {
        self.inner.rules().into_iter().map(|(n, p)| (n.to_string(), p)).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.stats().rules
    }

    fn __contains__(&self, name: &str) -> bool {
        self.inner.rule_names().iter().any(|n| &**n == name)
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("rules", s.rules)?;
        d.set_item("patterns", s.patterns)?;
        d.set_item("subpatterns", s.subpatterns)?;
        d.set_item("fields", s.fields)?;
        d.set_item("segments", s.segments)?;
        d.set_item("states", s.states)?;
        d.set_item("trie_nodes", s.trie_nodes)?;
        Ok(d)
    }

    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut c = self.inner.config().clone();
        let d = PyDict::new(py);
        for (name, value) in c.fields_mut() {
            d.set_item(name, *value)?;
        }
        Ok(d)
    }

    /// Pickles as its configuration and rules; unpickling recompiles them.
    fn __reduce__<'py>(slf: &Bound<'py, Self>, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let me = slf.get();
        let rebuild = py.import("fastbridge._core")?.getattr("_machine_from_state")?;
        let rules = PyList::new(py, me.rules())?;
        let args = PyTuple::new(py, [me.config(py)?.into_any(), rules.into_any()])?;
        PyTuple::new(py, [rebuild, args.into_any()])
    }

    fn __repr__(&self) -> String {
        let s = self.inner.stats();
        format!(
            "<fastbridge.Machine rules={} patterns={} states={}>",
            s.rules, s.patterns, s.states
        )
    }
}

impl PyMachine {
    /// Converts `events` and matches them on `snap` with the GIL released, a
    /// part at a time: `each(index of the part's first event, its answers)`
    /// takes each part's answers in order. On one thread a part is at most
    /// [`PART_BYTES`] of text, so that an event converted (its object's
    /// header read) is still in the processor's cache when it is matched.
    /// With `stop_at_error`, nothing is matched past the first bad event
    /// (whose part is the last).
    fn batch(
        snap: &crate::Snapshot,
        py: Python<'_>,
        events: &Bound<'_, PyAny>,
        threads: usize,
        stop_at_error: bool,
        mut each: impl FnMut(usize, crate::BatchMatches) -> PyResult<()>,
    ) -> PyResult<()> {
        // Threads are started for each part, so with more than one the
        // batch is one part.
        let budget = if threads > 1 { usize::MAX } else { PART_BYTES };
        let mut items = events.try_iter()?;
        let mut texts: Vec<Text> = Vec::new();
        let mut first = 0;
        loop {
            let mut size = 0;
            let mut ended = true;
            for e in items.by_ref() {
                let text = text_of(&e?)?;
                size += text.bytes().len();
                texts.push(text);
                if size >= budget {
                    ended = false;
                    break;
                }
            }
            if texts.is_empty() {
                return Ok(());
            }
            let results = py.detach(|| snap.matches_for_events(&texts, threads, stop_at_error));
            // Dropped here, with the GIL held: dropped without it, each text
            // would queue its reference count in PyO3's global pool.
            let n = texts.len();
            texts.clear();
            let stopped = stop_at_error && results.events.last().is_some_and(|r| r.is_err());
            each(first, results)?;
            if ended || stopped {
                return Ok(());
            }
            first += n;
        }
    }

    /// Matches `events` and gives each event's rules as column numbers into
    /// the snapshot's sorted rule names. The first bad event raises.
    fn indexed(
        &self,
        py: Python<'_>,
        events: &Bound<'_, PyAny>,
        threads: usize,
    ) -> PyResult<RuleColumns> {
        let snap = self.inner.snapshot();
        let names = snap.rule_names();
        // By segment, then pattern: the column of the pattern's rule (its
        // name is among `names`, made of the same segments).
        let columns: Vec<Vec<u32>> = snap
            .segment_sizes()
            .enumerate()
            .map(|(segment, size)| {
                let column = |p| names.binary_search(snap.name((segment as u32, p))).unwrap_or(0);
                (0..size as u32).map(|p| column(p) as u32).collect()
            })
            .collect();
        let mut rows = Vec::new();
        Self::batch(&snap, py, events, threads, true, |first, results| {
            for (i, r) in results.events.into_iter().enumerate() {
                match r {
                    Ok(range) => {
                        let pairs = &results.pairs[range];
                        let mut row: Vec<u32> =
                            pairs.iter().map(|&(s, p)| columns[s as usize][p as usize]).collect();
                        row.sort_unstable();
                        row.dedup();
                        rows.push(row);
                    }
                    Err(e) => return Err(event_error(py, e, first + i)?),
                }
            }
            Ok(())
        })?;
        Ok((names, rows))
    }
}

/// How much event text a single-threaded batch matches between two
/// conversions from Python (see `PyMachine::batch`): well inside a core's
/// second-level cache.
const PART_BYTES: usize = 512 << 10;

/// Sorted rule names, and per event the column numbers of the rules it matches.
type RuleColumns = (Vec<Arc<str>>, Vec<Vec<u32>>);

/// The exception for a bad event at position `index` of a batch.
fn event_error(py: Python<'_>, e: crate::EventError, index: usize) -> PyResult<PyErr> {
    let err: PyErr = Error::Event(e).into();
    err.value(py).setattr("index", index)?;
    Ok(err)
}

/// Rebuilds a pickled machine.
#[pyfunction]
fn _machine_from_state(
    config: &Bound<'_, PyDict>,
    rules: Vec<(PyBackedStr, PyBackedStr)>,
) -> PyResult<PyMachine> {
    let mut c = Config::default();
    for (name, value) in c.fields_mut() {
        if let Some(v) = config.get_item(name)? {
            *value = v.extract()?;
        }
    }
    let machine = Machine::new(c);
    machine.add_rules(rules.iter().map(|(n, p)| (&**n, &**p)))?;
    Ok(PyMachine { inner: Arc::new(machine), names: Mutex::default() })
}

/// Does `pattern` match `event`? Raises `InvalidPatternError` / `InvalidEventError`.
#[pyfunction]
fn matches(pattern: &Bound<'_, PyAny>, event: &Bound<'_, PyAny>) -> PyResult<bool> {
    let p = pattern_text(pattern)?;
    let e = text_of(event)?;
    Ok(crate::matches(&p, e.bytes())?)
}

/// Raises `InvalidPatternError` when EventBridge would reject `pattern`.
#[pyfunction]
fn validate_pattern(pattern: &Bound<'_, PyAny>) -> PyResult<()> {
    let p = pattern_text(pattern)?;
    crate::validate_pattern(&p).map_err(Error::Pattern)?;
    Ok(())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyMachine>()?;
    m.add_function(wrap_pyfunction!(matches, m)?)?;
    m.add_function(wrap_pyfunction!(validate_pattern, m)?)?;
    m.add_function(wrap_pyfunction!(_machine_from_state, m)?)?;
    m.add("InvalidPatternError", py.get_type::<InvalidPatternError>())?;
    m.add("InvalidEventError", py.get_type::<InvalidEventError>())?;
    m.add("LimitError", py.get_type::<LimitError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
