//! The machine: rules in, matches out, safe to share between threads.
//!
//! Readers load the current [`Snapshot`] through an atomic pointer and never
//! lock. Writers serialize on a mutex, build the parts that change, and
//! publish a new snapshot; the old one lives until its last reader is done.
//!
//! Rules are kept in a few *segments*, sized like a binary counter: a new
//! pattern gets a segment of its own, and the last two segments are merged
//! while the older is at most twice the newer. So adding n patterns one by
//! one compiles each O(log n) times, a batch is compiled once, and there are
//! O(log n) segments at any time. Deleting a pattern recompiles the one
//! segment that held it, from the compiled patterns (nothing is re-parsed).

use crate::compiled::Compiled;
use crate::config::Config;
use crate::error::{Error, EventError, LimitError, PatternError};
use crate::json::Json;
use crate::matching::Scratch;
use crate::paths::{FieldId, PathTrie};
use crate::pattern::{self, Pattern, PatternLimits};
use crate::segment::{PatternId, Segment};
use crate::values::NumGate;
use arc_swap::ArcSwap;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// An immutable view of the machine, as readers see it.
#[derive(Debug)]
pub struct Snapshot {
    pub(crate) trie: Arc<PathTrie>,
    pub(crate) segments: Vec<Arc<Segment>>,
    /// Per segment: the first global id of its conditions.
    pub(crate) cond_base: Vec<u32>,
    pub(crate) total_conds: usize,
    /// By field id: some segment has a lazy condition on it, so its leaves
    /// are kept during the scan.
    pub(crate) collect: Vec<bool>,
    /// By field id: what a number leaf there can fire, over all segments
    /// (shared and lazy matchers alike).
    pub(crate) num_gates: Vec<NumGate>,
    pub(crate) config: Arc<Config>,
}

struct Stored {
    name: Arc<str>,
    /// The pattern as compact JSON text (key order and numbers as written):
    /// what `rules()` returns and `delete_rule` compares. Text, not a tree,
    /// because a tree costs a heap block per key and value.
    source: Box<str>,
    compiled: Compiled,
}

/// A rule's pattern ids, oldest first. Most rules have one pattern, kept
/// inline rather than in a heap block of its own.
#[derive(Debug, Clone)]
enum Ids {
    One(PatternId),
    Many(Vec<PatternId>),
}

impl Ids {
    fn push(&mut self, id: PatternId) {
        match self {
            Ids::One(first) => *self = Ids::Many(vec![*first, id]),
            Ids::Many(ids) => ids.push(id),
        }
    }

    fn as_slice(&self) -> &[PatternId] {
        match self {
            Ids::One(id) => std::slice::from_ref(id),
            Ids::Many(ids) => ids,
        }
    }
}

impl From<Vec<PatternId>> for Ids {
    fn from(ids: Vec<PatternId>) -> Ids {
        match ids.as_slice() {
            &[id] => Ids::One(id),
            _ => Ids::Many(ids),
        }
    }
}

/// A checked pattern not stored yet: its rule name, source text and stored form.
type NewPattern = (Arc<str>, Box<str>, Compiled);

struct SegmentEntry {
    ids: Vec<PatternId>,
    segment: Arc<Segment>,
}

#[derive(Default)]
struct Writer {
    next_id: PatternId,
    patterns: FxHashMap<PatternId, Stored>,
    by_name: BTreeMap<Arc<str>, Ids>,
    segments: Vec<SegmentEntry>,
    field_ids: FxHashMap<String, FieldId>,
    /// Per field: its path and whether an `exists: false` names it.
    fields: Vec<(String, bool)>,
    trie_dirty: bool,
    trie: Arc<PathTrie>,
}

/// The answer for one event: matching rule names, sorted, or why it could not be read.
pub type Matches = Result<Vec<Arc<str>>, EventError>;

/// A snapshot, and the `(segment, pattern)` pairs of it that matched an event.
pub type SnapshotMatches = (Arc<Snapshot>, Vec<(u32, u32)>);

/// Size figures of a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub rules: usize,
    pub patterns: usize,
    pub subpatterns: usize,
    pub fields: usize,
    pub segments: usize,
    pub states: usize,
    pub trie_nodes: usize,
}

/// Many patterns compiled into one automaton. See the crate docs.
pub struct Machine {
    config: Arc<Config>,
    current: ArcSwap<Snapshot>,
    writer: Mutex<Writer>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers (fresh ones if they are in use).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|sc| match sc.try_borrow_mut() {
        Ok(mut sc) => f(&mut sc),
        Err(_) => f(&mut Scratch::default()),
    })
}

impl Default for Machine {
    fn default() -> Self {
        Machine::new(Config::default())
    }
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine").field("stats", &self.stats()).finish()
    }
}

impl Machine {
    pub fn new(mut config: Config) -> Machine {
        // The scanner recurses once per nesting level: keep the stack bounded.
        config.max_depth = config.max_depth.min(2048);
        let config = Arc::new(config);
        let mut writer = Writer::default();
        let snap = writer.snapshot(&config);
        Machine { config, current: ArcSwap::from_pointee(snap), writer: Mutex::new(writer) }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn limits(&self) -> PatternLimits {
        PatternLimits {
            max_fields: self.config.max_fields_per_pattern,
            max_subpatterns: self.config.max_subpatterns_per_pattern,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock cannot leave a half-published state:
        // snapshots are only swapped in whole. Keep going with the data.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks and compiles a pattern without adding it.
    pub fn compile(&self, pattern: &str) -> Result<(Json, Pattern), PatternError> {
        let value = pattern::parse_json(pattern)?;
        let compiled = pattern::compile_value(&value, self.limits())?;
        Ok((value, compiled))
    }

    /// Adds `pattern` under `name` (OR-ed with the name's other patterns).
    pub fn add_rule(&self, name: &str, pattern: &str) -> Result<(), Error> {
        self.add_rules([(name, pattern)])
    }

    /// Adds many rules at once, compiled together; all or none are added.
    pub fn add_rules<'p>(
        &self,
        rules: impl IntoIterator<Item = (&'p str, &'p str)>,
    ) -> Result<(), Error> {
        // Compiled under the lock, as the stored form names fields by id;
        // the paths first seen in a batch that fails are forgotten again.
        let mut w = self.lock();
        let known = (w.fields.len(), w.trie_dirty);
        let mut compiled = match self.compile_batch(&mut w, rules) {
            Ok(compiled) => compiled,
            Err(e) => {
                w.forget_fields(known);
                return Err(e);
            }
        };
        if compiled.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(compiled.len());
        w.patterns.reserve(compiled.len());
        for (name, source, pattern) in compiled.drain(..) {
            let id = w.next_id;
            w.next_id += 1;
            w.mark_absent(&pattern);
            w.by_name.entry(name.clone()).and_modify(|ids| ids.push(id)).or_insert(Ids::One(id));
            w.patterns.insert(id, Stored { name, source, compiled: pattern });
            ids.push(id);
        }
        let segment = w.build(&ids);
        // The batch's buffer goes only now. glibc serves a request above its
        // mmap threshold from fresh pages, and freeing such a block raises
        // the threshold to its size: freed before the build, this one block
        // would send the build's transient buffers into the heap, between
        // the segment's tables, where they stay resident once freed
        // (100k exact rules: 115 bytes per rule).
        drop(compiled);
        w.segments.push(SegmentEntry { ids, segment });
        w.merge_tail();
        self.publish(&mut w);
        Ok(())
    }

    /// Checks and compiles a batch into the stored form, within `max_states`.
    fn compile_batch<'p>(
        &self,
        w: &mut Writer,
        rules: impl IntoIterator<Item = (&'p str, &'p str)>,
    ) -> Result<Vec<NewPattern>, Error> {
        let rules = rules.into_iter();
        let mut compiled = Vec::with_capacity(rules.size_hint().0);
        let mut new_states = 0usize;
        for (name, text) in rules {
            let (value, pattern) = self.compile(text)?;
            // Each pattern's tree and expansion are dropped before the next
            // is read: kept for the batch, they would leave holes between
            // the stored parts that the allocator keeps.
            let source = value.to_string().into_boxed_str();
            drop(value);
            let pattern = Compiled::new(pattern, |path| w.field(path));
            new_states += pattern.states();
            compiled.push((Arc::<str>::from(name), source, pattern));
        }
        let total = w.states() + new_states;
        if total > self.config.max_states {
            return Err(LimitError {
                limit_name: "max_states",
                given: total,
                limit: self.config.max_states,
            }
            .into());
        }
        Ok(compiled)
    }

    /// Deletes the rule's pattern equal to `pattern`, or all its patterns when
    /// `pattern` is `None`. Returns how many patterns were removed.
    pub fn delete_rule(&self, name: &str, pattern: Option<&str>) -> Result<usize, PatternError> {
        let wanted = pattern.map(pattern::parse_json).transpose()?.map(|v| v.to_string());
        let mut w = self.lock();
        let Some(ids) = w.by_name.get(name).map(|ids| ids.as_slice().to_vec()) else {
            return Ok(0);
        };
        let remove: Vec<PatternId> = ids
            .iter()
            .copied()
            .filter(|id| wanted.as_deref().is_none_or(|v| *w.patterns[id].source == *v))
            .collect();
        if remove.is_empty() {
            return Ok(0);
        }
        let keep: Vec<PatternId> = ids.into_iter().filter(|id| !remove.contains(id)).collect();
        if keep.is_empty() {
            w.by_name.remove(name);
        } else {
            w.by_name.insert(name.into(), Ids::from(keep));
        }
        for id in &remove {
            w.patterns.remove(id);
        }
        let mut i = 0;
        while i < w.segments.len() {
            if w.segments[i].ids.iter().any(|id| remove.contains(id)) {
                let ids: Vec<PatternId> =
                    w.segments[i].ids.iter().copied().filter(|id| !remove.contains(id)).collect();
                if ids.is_empty() {
                    w.segments.remove(i);
                    continue;
                }
                let segment = w.build(&ids);
                w.segments[i] = SegmentEntry { ids, segment };
            }
            i += 1;
        }
        self.publish(&mut w);
        Ok(remove.len())
    }

    fn publish(&self, w: &mut Writer) {
        self.current.store(Arc::new(w.snapshot(&self.config)));
    }

    /// The snapshot readers currently see.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Names of the rules that match `event` (raw JSON bytes), sorted.
    pub fn rules_for_event(&self, event: &[u8]) -> Result<Vec<Arc<str>>, EventError> {
        let snap = self.current.load();
        with_scratch(|sc| snap.rules_for_event(event, sc))
    }

    /// The rules that match `event` as `(segment, pattern)` pairs of the
    /// snapshot that answered (see [`Snapshot::matches_for_event`]).
    pub fn matches_for_event(&self, event: &[u8]) -> Result<SnapshotMatches, EventError> {
        let snap = self.snapshot();
        let mut pairs = Vec::new();
        with_scratch(|sc| snap.matches_for_event(event, sc, &mut pairs))?;
        Ok((snap, pairs))
    }

    /// Matches a batch of events against one snapshot, split over up to
    /// `threads` threads: [`Snapshot::rules_for_events`] on the current one.
    pub fn rules_for_events<E: AsRef<[u8]> + Sync>(
        &self,
        events: &[E],
        threads: usize,
        stop_at_error: bool,
    ) -> (Arc<Snapshot>, Vec<Matches>) {
        let snap = self.snapshot();
        let out = snap.rules_for_events(events, threads, stop_at_error);
        (snap, out)
    }

    /// Rule names, sorted.
    pub fn rule_names(&self) -> Vec<Arc<str>> {
        self.lock().by_name.keys().cloned().collect()
    }

    /// Every stored `(name, pattern JSON)` pair, by name then age.
    pub fn rules(&self) -> Vec<(Arc<str>, String)> {
        let w = self.lock();
        w.by_name
            .iter()
            .flat_map(|(name, ids)| {
                ids.as_slice().iter().map(|id| (name.clone(), w.patterns[id].source.to_string()))
            })
            .collect()
    }

    pub fn stats(&self) -> Stats {
        let w = self.lock();
        Stats {
            rules: w.by_name.len(),
            patterns: w.patterns.len(),
            subpatterns: w.patterns.values().map(|p| p.compiled.subpatterns().count()).sum(),
            fields: w.fields.len(),
            segments: w.segments.len(),
            states: w.states(),
            trie_nodes: w.trie.len(),
        }
    }
}

impl Snapshot {
    /// Matches a batch of events against this snapshot, split over up to
    /// `threads` threads; the results come back in order. With
    /// `stop_at_error`, each thread's part stops at its first bad event (so
    /// the first error in order is always there, and work after it is saved).
    pub fn rules_for_events<E: AsRef<[u8]> + Sync>(
        &self,
        events: &[E],
        threads: usize,
        stop_at_error: bool,
    ) -> Vec<Matches> {
        let m = self.matches_for_events(events, threads, stop_at_error);
        m.events.into_iter().map(|r| r.map(|range| self.names(&m.pairs[range]))).collect()
    }

    /// [`Snapshot::rules_for_events`] answered as `(segment, pattern)` pairs
    /// (see [`Snapshot::matches_for_event`]), the names left alone.
    pub fn matches_for_events<E: AsRef<[u8]> + Sync>(
        &self,
        events: &[E],
        threads: usize,
        stop_at_error: bool,
    ) -> BatchMatches {
        let parts = in_parts(events, threads, |part| {
            let mut out = BatchMatches::default();
            out.events.reserve(part.len());
            each_event(part, stop_at_error, |e, sc| {
                let start = out.pairs.len();
                let r = self.matches_for_event(e, sc, &mut out.pairs);
                let failed = r.is_err();
                out.events.push(r.map(|()| start..out.pairs.len()));
                failed
            });
            out
        });
        let mut all = BatchMatches::default();
        for part in parts {
            let stopped = part.events.last().is_some_and(|r| r.is_err()) && stop_at_error;
            let shift = all.pairs.len();
            all.pairs.extend(part.pairs);
            all.events
                .extend(part.events.into_iter().map(|r| r.map(|m| m.start + shift..m.end + shift)));
            if stopped {
                break;
            }
        }
        all
    }

    /// Names of the rules in this snapshot, sorted.
    pub fn rule_names(&self) -> Vec<Arc<str>> {
        let mut names: Vec<Arc<str>> =
            self.segments.iter().flat_map(|s| s.patterns.iter().cloned()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// A batch's answers as `(segment, pattern)` pairs: event `i` matched
/// `pairs[events[i]]` (unsorted; see [`Snapshot::matches_for_event`]), or
/// is its error.
#[derive(Debug, Default)]
pub struct BatchMatches {
    pub pairs: Vec<(u32, u32)>,
    pub events: Vec<Result<std::ops::Range<usize>, EventError>>,
}

/// `run` over `events` split into up to `threads` parts, one thread each;
/// the parts' results in order.
fn in_parts<E: Sync, R: Send>(
    events: &[E],
    threads: usize,
    run: impl Fn(&[E]) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, events.len().max(1));
    if threads == 1 {
        return vec![run(events)];
    }
    let chunk = events.len().div_ceil(threads);
    let run = &run;
    // The calling thread takes the first part itself (its scratch is
    // warm), and one thread is started for each other part.
    std::thread::scope(|scope| {
        let mut chunks = events.chunks(chunk);
        let first = chunks.next().unwrap_or_default();
        let handles: Vec<_> = chunks.map(|part| scope.spawn(move || run(part))).collect();
        let mut parts = vec![run(first)];
        parts.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))),
        );
        parts
    })
}

/// `one(event, scratch)` for each event of `part` in order, on this
/// thread's scratch; `one` says whether the event failed, and with
/// `stop_at_error` the first that did is the last.
fn each_event<E: AsRef<[u8]>>(
    part: &[E],
    stop_at_error: bool,
    mut one: impl FnMut(&[u8], &mut Scratch) -> bool,
) {
    with_scratch(|sc| {
        for (i, e) in part.iter().enumerate() {
            // The next event's first kilobyte is asked for while this one
            // is matched: a batch's events are rarely in cache yet (past
            // that, the scan's own order keeps the processor's prefetcher
            // ahead).
            if let Some(next) = part.get(i + 1) {
                let next = next.as_ref();
                for line in next[..next.len().min(1024)].chunks(64) {
                    crate::anchors::prefetch(&line[0]);
                }
            }
            if one(e.as_ref(), sc) && stop_at_error {
                break;
            }
        }
    })
}

impl Writer {
    fn states(&self) -> usize {
        self.segments.iter().map(|s| s.segment.states).sum()
    }

    fn build(&self, ids: &[PatternId]) -> Arc<Segment> {
        let list: Vec<_> = ids
            .iter()
            .map(|id| {
                let p = &self.patterns[id];
                (*id, &p.name, &p.compiled)
            })
            .collect();
        Arc::new(Segment::build(&list))
    }

    /// Notes the fields that `pattern` needs absent: the scanner must then
    /// report their presence.
    fn mark_absent(&mut self, pattern: &Compiled) {
        for sp in pattern.subpatterns() {
            for &f in sp.absent {
                if !self.fields[f as usize].1 {
                    self.fields[f as usize].1 = true;
                    self.trie_dirty = true;
                }
            }
        }
    }

    /// Forgets the fields added since `known` (an earlier field count and
    /// trie state): their batch failed, so no pattern names them.
    fn forget_fields(&mut self, known: (usize, bool)) {
        let (count, dirty) = known;
        for (path, _) in self.fields.drain(count..) {
            self.field_ids.remove(&path);
        }
        self.trie_dirty = dirty;
    }

    fn field(&mut self, path: &str) -> FieldId {
        if let Some(&f) = self.field_ids.get(path) {
            return f;
        }
        let f = self.fields.len() as FieldId;
        self.fields.push((path.to_string(), false));
        self.field_ids.insert(path.to_string(), f);
        self.trie_dirty = true;
        f
    }

    fn merge_tail(&mut self) {
        while self.segments.len() >= 2 {
            let n = self.segments.len();
            if self.segments[n - 2].ids.len() > 2 * self.segments[n - 1].ids.len() {
                break;
            }
            let last = self.segments.pop().map(|s| s.ids).unwrap_or_default();
            let mut ids = self.segments.pop().map(|s| s.ids).unwrap_or_default();
            ids.extend(last);
            let segment = self.build(&ids);
            self.segments.push(SegmentEntry { ids, segment });
        }
    }

    fn snapshot(&mut self, config: &Arc<Config>) -> Snapshot {
        if self.trie_dirty {
            let mut t = PathTrie::default();
            for (id, (path, presence)) in self.fields.iter().enumerate() {
                t.insert(path, id as FieldId, *presence);
            }
            t.finish();
            self.trie = Arc::new(t);
            self.trie_dirty = false;
        }
        let trie = self.trie.clone();
        let mut cond_base = Vec::with_capacity(self.segments.len());
        let mut conds = 0usize;
        let mut collect = Vec::new();
        for s in &self.segments {
            cond_base.push(conds as u32);
            conds += s.segment.conds as usize;
            for &(f, _) in &s.segment.lazy_matchers {
                if collect.len() <= f as usize {
                    collect.resize(f as usize + 1, false);
                }
                collect[f as usize] = true;
            }
        }
        let mut num_gates = vec![NumGate::Never; self.fields.len()];
        for s in &self.segments {
            let shared = s.segment.matchers().map(|(f, m)| (f, m.num_gate()));
            let lazy = s.segment.lazy_matchers.iter().map(|(f, m)| (*f, m.num_gate()));
            for (field, gate) in shared.chain(lazy) {
                if let Some(g) = num_gates.get_mut(field as usize) {
                    *g = std::mem::take(g).union(gate);
                }
            }
        }
        Snapshot {
            trie,
            segments: self.segments.iter().map(|s| s.segment.clone()).collect(),
            cond_base,
            total_conds: conds,
            collect,
            num_gates,
            config: config.clone(),
        }
    }
}
