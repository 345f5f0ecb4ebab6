//! Matching one event against a snapshot: the scanner reports leaves, each
//! leaf is run through the segments' value matchers, and every condition
//! that holds is recorded once per event. After the scan, each condition
//! that held and anchors sub-patterns (see `anchors.rs`) hands over its
//! candidates; a candidate whose other conditions all held too is confirmed
//! — directly when no array and no `exists: false` is involved, else by the
//! array-consistency search below.
//!
//! Work per event follows the leaves of used fields, the distinct
//! conditions that hold and the candidates of the anchors among them;
//! nothing loops over all rules, nor over every rule sharing a common value.

use crate::anchors::Other;
use crate::error::{EventError, EventErrorKind};
use crate::machine::Snapshot;
use crate::paths::FieldId;
use crate::scanner::{self, Context, Leaf, Visitor};
use crate::segment::{Segment, SubInfo, EAGER};
use crate::tables::cmp_bytes;
use crate::values::ValueScratch;
use std::sync::Arc;

/// High bit of a condition's state word: some leaf it held for sat inside
/// an array.
const ARRAYED: u32 = 1 << 31;
/// Next bit: a lazy condition was evaluated in this event and did not hold.
/// The other bits are the epoch of the event the condition last held in (or
/// was evaluated in).
const MISSED: u32 = 1 << 30;
const EPOCH: u32 = MISSED - 1;

/// Past this many look-ups to come (the slots and absent fields of the
/// candidates to search, the absent fields of `exists: false`-only
/// sub-patterns), the hits and presence records are sorted once; up to it,
/// each look-up scans them and sorts its few contexts. So scanning costs at
/// most this many passes, about what sorting costs anyway, and an event
/// with a check or two sorts nothing (its hits come in no useful order).
const SCAN_LOOKUPS: usize = 12;

/// Steps `search` takes to pick a leaf for one slot: enter, try, complete.
const ONE_SLOT_STEPS: usize = 3;

/// Array contexts of the leaves of one event, interned on demand: id 0 is
/// "in no array"; other ids name a span of `arena`.
#[derive(Default)]
struct Contexts {
    spans: Vec<(u32, u32)>,
    arena: Vec<(u32, u32)>,
    /// The scanner's context version last interned, and its id.
    cached: Option<(u32, u32)>,
}

impl Contexts {
    fn reset(&mut self) {
        self.spans.clear();
        self.spans.push((0, 0));
        self.arena.clear();
        self.cached = None;
    }

    fn id(&mut self, ctx: Context<'_>) -> u32 {
        if ctx.arrays.is_empty() {
            return 0;
        }
        if let Some((version, id)) = self.cached {
            if version == ctx.version {
                return id;
            }
        }
        let id = self.spans.len() as u32;
        self.spans.push((self.arena.len() as u32, ctx.arrays.len() as u32));
        self.arena.extend_from_slice(ctx.arrays);
        self.cached = Some((ctx.version, id));
        id
    }

    fn get(&self, id: u32) -> &[(u32, u32)] {
        let (start, len) = self.spans[id as usize];
        &self.arena[start as usize..(start + len) as usize]
    }
}

/// Reusable per-thread buffers; sized on demand.
#[derive(Default)]
pub struct Scratch {
    /// The current event's number; always below `MISSED`.
    epoch: u32,
    /// Per global condition: `epoch` (plus `ARRAYED`) when it held in this
    /// event; for a lazy condition evaluated to false, `epoch | MISSED`.
    cond_state: Vec<u32>,
    /// `(segment, condition)` of each condition that held, once.
    fired: Vec<(u32, u32)>,
    /// `(global condition, context)` of every hit.
    hits: Vec<(u32, u32)>,
    /// `(field, context)` of every leaf of a presence-tracked field.
    presence: Vec<(FieldId, u32)>,
    /// The leaves of fields with lazy conditions, their text in `arena`;
    /// sorted by field once the first lazy condition is evaluated.
    leaves: Vec<Kept>,
    leaves_sorted: bool,
    arena: String,
    contexts: Contexts,
    /// `(segment, sub-pattern)` of the candidates that need the consistency search.
    checks: Vec<(u32, u32)>,
    /// `(segment, pattern)` of every match found.
    matched: Vec<(u32, u32)>,
    /// The conditions that hold for the current leaf in one segment.
    held: Vec<u32>,
    /// `(segment, group, arrayed conditions)` of the anchor groups whose key held.
    passing: Vec<(u32, u32, u32)>,
    /// The consistency search's lists: per slot (then per absent field) a
    /// span of `ctx_items`, the distinct contexts it may use.
    ctx_items: Vec<u32>,
    ctx_spans: Vec<(u32, u32)>,
    chosen: Vec<u32>,
    /// The hits (and presence records) are sorted and de-duplicated.
    hits_sorted: bool,
    value: ValueScratch,
    /// The scanner's buffers, kept between events.
    scan: scanner::ScanBuffers,
}

/// A leaf kept for lazy conditions: its field, kind, text span in the
/// arena (strings and numbers) and context.
#[derive(Clone, Copy)]
struct Kept {
    field: FieldId,
    kind: u8,
    start: u32,
    len: u32,
    cid: u32,
}

const STR: u8 = 0;
const NUM: u8 = 1;
const TRUE: u8 = 2;
const FALSE: u8 = 3;
const NULL: u8 = 4;

impl Kept {
    fn leaf<'a>(&self, arena: &'a str) -> Leaf<'a> {
        let text = arena.get(self.start as usize..(self.start + self.len) as usize).unwrap_or("");
        match self.kind {
            STR => Leaf::Str(text),
            NUM => Leaf::Num(text, None),
            TRUE => Leaf::True,
            FALSE => Leaf::False,
            _ => Leaf::Null,
        }
    }
}

impl Scratch {
    fn reset(&mut self, conds: usize) {
        if self.epoch >= EPOCH - 1 {
            self.epoch = 0;
            self.cond_state.iter_mut().for_each(|e| *e = 0);
        }
        self.epoch += 1;
        if self.cond_state.len() < conds {
            self.cond_state.resize(conds, 0);
        }
        self.checks.clear();
        self.matched.clear();
        self.hits_sorted = false;
        self.leaves.clear();
        self.leaves_sorted = false;
        self.arena.clear();
        self.fired.clear();
        self.hits.clear();
        self.presence.clear();
        self.contexts.reset();
    }

    /// Did global condition `g` hold in this event?
    #[inline]
    fn held(&self, g: u32) -> bool {
        self.cond_state[g as usize] & !ARRAYED == self.epoch
    }

    /// Records that global condition `g` held for a leaf in context `cid`.
    #[inline]
    fn mark(&mut self, g: u32, cid: u32) {
        self.hits.push((g, cid));
        let state = &mut self.cond_state[g as usize];
        if *state & !ARRAYED != self.epoch {
            *state = self.epoch;
        }
        if cid != 0 {
            *state |= ARRAYED;
        }
    }

    fn keep(&mut self, field: FieldId, leaf: Leaf<'_>, cid: u32) {
        let (kind, text) = match leaf {
            Leaf::Str(s) => (STR, s),
            Leaf::Num(s, _) => (NUM, s),
            Leaf::True => (TRUE, ""),
            Leaf::False => (FALSE, ""),
            Leaf::Null => (NULL, ""),
        };
        let start = self.arena.len() as u32;
        self.arena.push_str(text);
        self.leaves.push(Kept { field, kind, start, len: text.len() as u32, cid });
    }

    /// Did condition `other` of segment `seg` (global ids from `base`) hold
    /// in this event? A lazy one not evaluated yet in this event is
    /// evaluated now (out of line: the look-up stays small).
    #[inline(always)]
    fn holds(&mut self, seg: &Segment, base: u32, other: Other) -> bool {
        let g = base + other.cond;
        let state = self.cond_state[g as usize];
        if !other.lazy || state & EPOCH == self.epoch {
            return state & !ARRAYED == self.epoch;
        }
        self.evaluate_lazy(seg, base, other.cond)
    }

    /// Evaluates lazy condition `cond` of segment `seg` (global ids from
    /// `base`), once per event, over the kept leaves of its field; its hits
    /// are recorded like those of eager conditions. Did it hold?
    #[inline(never)]
    fn evaluate_lazy(&mut self, seg: &Segment, base: u32, cond: u32) -> bool {
        let g = base + cond;
        let lazy = seg.lazy[cond as usize];
        if lazy == EAGER {
            return self.held(g);
        }
        let (field, m) = &seg.lazy_matchers[lazy as usize];
        if !self.leaves_sorted {
            // The scan is over: no leaf is added any more.
            self.leaves.sort_unstable_by_key(|k| k.field);
            self.leaves_sorted = true;
        }
        let from = self.leaves.partition_point(|k| k.field < *field);
        let to = self.leaves.partition_point(|k| k.field <= *field);
        for i in from..to {
            let kept = self.leaves[i];
            if m.holds(kept.leaf(&self.arena), &mut self.value) {
                self.mark(g, kept.cid);
            }
        }
        let held = self.held(g);
        if !held {
            self.cond_state[g as usize] = self.epoch | MISSED;
        }
        held
    }

    /// Sorts and de-duplicates the hits and presence records, when enough
    /// look-ups are coming to pay for it.
    fn prepare_lookups(&mut self, lookups: usize) {
        if lookups > SCAN_LOOKUPS {
            self.hits.sort_unstable();
            self.hits.dedup();
            self.presence.sort_unstable();
            self.presence.dedup();
            self.hits_sorted = true;
        }
    }

    /// Appends to `out` the distinct contexts of the hits of global
    /// condition `g`, ascending — the same list whether or not the hits
    /// were sorted.
    fn contexts_of_hits(&self, g: u32, out: &mut Vec<u32>) {
        let from = out.len();
        if self.hits_sorted {
            let a = self.hits.partition_point(|h| h.0 < g);
            let b = self.hits.partition_point(|h| h.0 <= g);
            out.extend(self.hits[a..b].iter().map(|h| h.1));
        } else {
            out.extend(self.hits.iter().filter(|h| h.0 == g).map(|h| h.1));
            sort_dedup_tail(out, from);
        }
    }

    /// Appends to `out` the distinct contexts of the leaves of `field`
    /// (a presence-tracked field), ascending.
    fn contexts_of_field(&self, field: FieldId, out: &mut Vec<u32>) {
        let from = out.len();
        if self.hits_sorted {
            out.extend(presence_of(&self.presence, field).iter().map(|p| p.1));
        } else {
            out.extend(self.presence.iter().filter(|p| p.0 == field).map(|p| p.1));
            sort_dedup_tail(out, from);
        }
    }

    /// Is some leaf of `field` present?
    fn present(&self, field: FieldId) -> bool {
        if self.hits_sorted {
            !presence_of(&self.presence, field).is_empty()
        } else {
            self.presence.iter().any(|p| p.0 == field)
        }
    }
}

struct Run<'a> {
    snap: &'a Snapshot,
    sc: &'a mut Scratch,
}

impl Visitor for Run<'_> {
    #[inline]
    fn leaf(&mut self, field: FieldId, tracks: bool, leaf: Leaf<'_>, ctx: Context<'_>) {
        let sc = &mut *self.sc;
        if tracks {
            let cid = sc.contexts.id(ctx);
            sc.presence.push((field, cid));
        }
        if self.snap.collect.get(field as usize) == Some(&true) {
            let cid = sc.contexts.id(ctx);
            sc.keep(field, leaf, cid);
        }
        let epoch = sc.epoch;
        for (si, seg) in self.snap.segments.iter().enumerate() {
            let Some(m) = seg.matcher(field) else {
                continue;
            };
            // The matcher collects what holds; it is recorded after, in one
            // loop here, rather than by a call per condition from inside
            // the matcher (a closure that small is inlined where it fires).
            let held = &mut sc.held;
            held.clear();
            m.eval(leaf, &mut sc.value, &mut |cond| held.push(cond));
            if held.is_empty() {
                continue;
            }
            // Contexts are interned only for leaves that fire something.
            let cid = sc.contexts.id(ctx);
            let base = self.snap.cond_base[si];
            for &cond in held.iter() {
                let g = base + cond;
                sc.hits.push((g, cid));
                let state = &mut sc.cond_state[g as usize];
                if *state & !ARRAYED != epoch {
                    *state = epoch;
                    sc.fired.push((si as u32, cond));
                    seg.anchors.prefetch_groups(cond);
                }
                if cid != 0 {
                    *state |= ARRAYED;
                }
            }
        }
    }
}

impl Snapshot {
    /// Names of the rules that match `event` (sorted, each once).
    pub fn rules_for_event(
        &self,
        event: &[u8],
        sc: &mut Scratch,
    ) -> Result<Vec<Arc<str>>, EventError> {
        self.match_event(event, sc)?;
        Ok(self.names(&sc.matched))
    }

    /// The rules that match `event` as `(segment, pattern)` pairs, added to
    /// `out` unsorted (a name may be there twice: see [`Snapshot::name`]).
    /// What the Python batch uses: it keeps the names' strings by these
    /// numbers, so a match costs no name read and no reference count.
    pub fn matches_for_event(
        &self,
        event: &[u8],
        sc: &mut Scratch,
        out: &mut Vec<(u32, u32)>,
    ) -> Result<(), EventError> {
        self.match_event(event, sc)?;
        out.extend_from_slice(&sc.matched);
        Ok(())
    }

    /// The name of the rule of a `(segment, pattern)` pair.
    pub fn name(&self, (segment, pattern): (u32, u32)) -> &Arc<str> {
        &self.segments[segment as usize].patterns[pattern as usize]
    }

    /// The number of patterns of each segment (the pairs' ranges).
    pub fn segment_sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.segments.iter().map(|s| s.patterns.len())
    }

    /// Matches `event`, leaving the matched `(segment, pattern)`s in
    /// `sc.matched`.
    fn match_event(&self, event: &[u8], sc: &mut Scratch) -> Result<(), EventError> {
        sc.reset(self.total_conds);
        let mut buffers = std::mem::take(&mut sc.scan);
        let scanned = scanner::scan(
            event,
            &self.trie,
            &self.num_gates,
            self.config.max_depth,
            self.config.max_event_bytes,
            &mut buffers,
            &mut Run { snap: self, sc },
        );
        sc.scan = buffers;
        scanned?;
        let one_slot_ok = self.config.max_consistency_steps >= ONE_SLOT_STEPS;
        let fired = std::mem::take(&mut sc.fired);
        let arrayed = |sc: &Scratch, g: u32| (sc.cond_state[g as usize] & ARRAYED != 0) as u32;
        // First the groups whose key held, their first records asked for
        // at once (a prefetch each), so the cache misses overlap instead of
        // coming one by one. (Plain loads instead did not help.)
        let mut passing = std::mem::take(&mut sc.passing);
        for &(si, cond) in &fired {
            let (seg, base) = (&self.segments[si as usize], self.cond_base[si as usize]);
            // How many of a candidate's conditions held for a leaf inside an
            // array: with no `exists: false` and at most one such condition,
            // no two chosen leaves can disagree on an array index, so the
            // consistency search would succeed — in `ONE_SLOT_STEPS` steps,
            // so only a budget that allows them skips it (the answer, or
            // `too_complex` under a tiny budget, stays the search's).
            let anchor_arrayed = arrayed(sc, base + cond);
            for gi in seg.anchors.group_ids(cond) {
                let group = seg.anchors.group(gi);
                let mut group_arrayed = anchor_arrayed;
                if let Some(key) = group.key {
                    if !sc.holds(seg, base, key) {
                        continue;
                    }
                    group_arrayed += arrayed(sc, base + key.cond);
                }
                group.candidates.prefetch();
                passing.push((si, gi, group_arrayed));
            }
        }
        for &(si, gi, group_arrayed) in &passing {
            let (seg, base) = (&self.segments[si as usize], self.cond_base[si as usize]);
            'candidates: for cand in seg.anchors.group(gi).candidates {
                let mut in_arrays = group_arrayed;
                for other in cand.others() {
                    if !sc.holds(seg, base, other) {
                        continue 'candidates;
                    }
                    in_arrays += arrayed(sc, base + other.cond);
                }
                if (in_arrays == 0 || in_arrays == 1 && one_slot_ok) && !cand.has_absent {
                    sc.matched.push((si, cand.pattern));
                } else {
                    sc.checks.push((si, cand.sub));
                }
            }
        }
        passing.clear();
        sc.passing = passing;
        sc.fired = fired;
        let mut lookups = 0;
        for seg in &self.segments {
            lookups +=
                seg.absent_only.iter().map(|&l| seg.subs[l as usize].absent.len()).sum::<usize>();
        }
        for &(si, sub) in &sc.checks {
            let info = &self.segments[si as usize].subs[sub as usize];
            lookups += info.slots as usize + info.absent.len();
        }
        sc.prepare_lookups(lookups);
        for (si, seg) in self.segments.iter().enumerate() {
            for &local in &seg.absent_only {
                let info = &seg.subs[local as usize];
                if info.absent.iter().all(|&f| !sc.present(f)) {
                    sc.matched.push((si as u32, info.pattern));
                }
            }
        }
        let checks = std::mem::take(&mut sc.checks);
        for &(si, local) in &checks {
            let seg = &self.segments[si as usize];
            let info = &seg.subs[local as usize];
            let base = self.cond_base[si as usize];
            if consistent(info, seg, base, sc, self.config.max_consistency_steps)? {
                sc.matched.push((si, info.pattern));
            }
        }
        sc.checks = checks;
        Ok(())
    }

    /// The names of the matched `(segment, pattern)`s, sorted, each once.
    /// They are sorted by a key each, their first sixteen bytes as a number
    /// (see `name_key`), and only where keys tie by the names themselves.
    /// Names are only read here, after the candidates: reading a cold name
    /// is a cache miss, and cloning it (a locked increment) holds up the
    /// loads behind it. The keys read them first with plain loads, so the
    /// misses overlap; the clones then find the lines in cache.
    pub(crate) fn names(&self, matched: &[(u32, u32)]) -> Vec<Arc<str>> {
        if matched.len() <= FEW_NAMES {
            // Few: sorted as they are (computing keys costs more).
            let mut names: Vec<Arc<str>> = matched.iter().map(|&m| self.name(m).clone()).collect();
            names.sort_unstable_by(|a, b| cmp_bytes(a.as_bytes(), b.as_bytes()));
            names.dedup_by(|a, b| cmp_bytes(a.as_bytes(), b.as_bytes()).is_eq());
            return names;
        }
        let mut keyed: Vec<(u128, &Arc<str>)> =
            matched.iter().map(|&m| self.name(m)).map(|n| (name_key(n.as_bytes()), n)).collect();
        sort_by_name(&mut keyed, |n| n.as_bytes());
        keyed.iter().map(|k| k.1.clone()).collect()
    }
}

/// Sorts `(name_key, rule)` entries by the rules' names and keeps each
/// name once (a rule of several patterns may match by more than one): by
/// key, then each run of tied keys (names that share their first sixteen
/// bytes; runs are short) by the names themselves.
pub(crate) fn sort_by_name<'n, T>(keyed: &mut Vec<(u128, T)>, name: impl Fn(&T) -> &'n [u8]) {
    keyed.sort_unstable_by_key(|k| k.0);
    let mut from = 0;
    while from < keyed.len() {
        let key = keyed[from].0;
        let to = from + keyed[from..].iter().take_while(|k| k.0 == key).count();
        if to - from > 1 {
            keyed[from..to].sort_unstable_by(|a, b| cmp_bytes(name(&a.1), name(&b.1)));
        }
        from = to;
    }
    keyed.dedup_by(|a, b| a.0 == b.0 && cmp_bytes(name(&a.1), name(&b.1)).is_eq());
}

/// Up to this many matched names are sorted by comparing them; past it,
/// by keys (see `Snapshot::names`).
const FEW_NAMES: usize = 12;

/// A name's first sixteen bytes as a big-endian number, zeros after a
/// shorter name: keys in the order of the names they begin, equal keys
/// only for names that agree on their first sixteen bytes (or differ only
/// by trailing zero bytes).
#[inline]
pub(crate) fn name_key(s: &[u8]) -> u128 {
    if let Some(w) = s.first_chunk::<16>() {
        return u128::from_be_bytes(*w);
    }
    let mut k = [0u8; 16];
    for (d, &b) in k.iter_mut().zip(s) {
        *d = b;
    }
    u128::from_be_bytes(k)
}

fn presence_of(presence: &[(FieldId, u32)], field: FieldId) -> &[(FieldId, u32)] {
    let a = presence.partition_point(|p| p.0 < field);
    let b = presence.partition_point(|p| p.0 <= field);
    &presence[a..b]
}

/// Two contexts are compatible when every array they share has the same index in both.
#[inline]
fn compatible(sc: &Scratch, a: u32, b: u32) -> bool {
    if a == 0 || b == 0 || a == b {
        return true;
    }
    for (p, q) in sc.contexts.get(a).iter().zip(sc.contexts.get(b)) {
        if p.0 != q.0 {
            return true;
        }
        if p.1 != q.1 {
            return false;
        }
    }
    true
}

/// Sorts and de-duplicates `v[from..]`.
fn sort_dedup_tail(v: &mut Vec<u32>, from: usize) {
    v[from..].sort_unstable();
    let mut keep = from;
    for i in from..v.len() {
        if keep == from || v[i] != v[keep - 1] {
            v[keep] = v[i];
            keep += 1;
        }
    }
    v.truncate(keep);
}

/// Is there one leaf per slot, pairwise compatible, with every absent field
/// having no leaf compatible with all of them?
fn consistent(
    info: &SubInfo,
    seg: &Segment,
    cond_base: u32,
    sc: &mut Scratch,
    budget: usize,
) -> Result<bool, EventError> {
    // Per slot, then per absent field, a span of `items`: the scratch
    // buffers, taken for the search and given back after.
    let mut items = std::mem::take(&mut sc.ctx_items);
    let mut spans = std::mem::take(&mut sc.ctx_spans);
    let mut chosen = std::mem::take(&mut sc.chosen);
    items.clear();
    spans.clear();
    chosen.clear();
    let first = info.first_slot as usize;
    let mut possible = true;
    for &cond in &seg.slot_cond[first..first + info.slots as usize] {
        // A slot's leaves are exactly those its condition held for.
        let from = items.len();
        sc.contexts_of_hits(cond_base + cond, &mut items);
        if items.len() == from {
            possible = false;
            break;
        }
        // A leaf in no array pins nothing: with nothing to keep absent it
        // satisfies its slot whatever else is chosen.
        if info.absent.is_empty() && items[from] == 0 {
            items.truncate(from);
            continue;
        }
        spans.push((from as u32, items.len() as u32));
    }
    let mut result = Ok(false);
    if possible {
        // Smallest candidate list first (stable, as the lists come).
        spans.sort_by_key(|&(a, b)| b - a);
        let slots = spans.len();
        for &f in info.absent.iter() {
            let from = items.len();
            sc.contexts_of_field(f, &mut items);
            spans.push((from as u32, items.len() as u32));
        }
        let lists = Lists { items: &items, slots: &spans[..slots], absent: &spans[slots..] };
        let mut steps = 0usize;
        result = search(&lists, &mut chosen, sc, &mut steps, budget);
    }
    sc.ctx_items = items;
    sc.ctx_spans = spans;
    sc.chosen = chosen;
    result
}

/// The consistency search's candidate contexts: per slot and per absent
/// field, a span of `items`.
struct Lists<'a> {
    items: &'a [u32],
    slots: &'a [(u32, u32)],
    absent: &'a [(u32, u32)],
}

impl Lists<'_> {
    #[inline]
    fn get(&self, (a, b): (u32, u32)) -> &[u32] {
        &self.items[a as usize..b as usize]
    }
}

fn search(
    lists: &Lists<'_>,
    chosen: &mut Vec<u32>,
    sc: &Scratch,
    steps: &mut usize,
    budget: usize,
) -> Result<bool, EventError> {
    *steps += 1;
    if *steps > budget {
        return Err(EventError::new(EventErrorKind::TooComplex { limit: budget }, 0));
    }
    let depth = chosen.len();
    if depth == lists.slots.len() {
        let present = lists.absent.iter().any(|&span| {
            lists.get(span).iter().any(|&l| chosen.iter().all(|&c| compatible(sc, l, c)))
        });
        return Ok(!present);
    }
    for &c in lists.get(lists.slots[depth]) {
        // Count every candidate tried, so the budget bounds the real work.
        *steps += 1;
        if *steps > budget {
            return Err(EventError::new(EventErrorKind::TooComplex { limit: budget }, 0));
        }
        if chosen.iter().all(|&d| compatible(sc, c, d)) {
            chosen.push(c);
            let ok = search(lists, chosen, sc, steps, budget)?;
            chosen.pop();
            if ok {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cmp_bytes` orders like the byte-wise order of slices, and
    /// `name_key` agrees with it where keys differ: lengths 0 to 20, names
    /// that differ in any one byte (the last too), or only in length,
    /// zero bytes, bytes above 0x7f.
    #[test]
    fn cmp_bytes_is_byte_order() {
        let names = crate::testing::one_byte_apart(|at| {
            vec![0, b'a' + at as u8 - 1, b'a' + at as u8 + 1, 0xff]
        });
        for a in &names {
            for b in &names {
                assert_eq!(cmp_bytes(a, b), a.cmp(b), "{a:?} {b:?}");
                // Keys order names as they do, or tie.
                let (ka, kb) = (name_key(a), name_key(b));
                assert!(ka == kb || ka.cmp(&kb) == a.cmp(b), "{a:?} {b:?}");
                if a.len() <= 16 && b.len() <= 16 && a != b {
                    assert!(ka != kb || a.len() != b.len(), "{a:?} {b:?}");
                }
            }
        }
    }

    /// An event's matched names come back sorted and each once, whatever
    /// their segments, also where names share their first sixteen bytes
    /// (the sort key) or differ only in length.
    #[test]
    fn names_sorted_once() {
        let m = crate::Machine::default();
        let mut names: Vec<String> = Vec::new();
        for i in [3, 10, 1, 22, 2, 0, 11] {
            names.push(format!("ANYTHING_BUT_SUFFIX-{i}"));
            names.push(format!("rule-{i}"));
        }
        names.extend(
            ["ANYTHING_BUT_SUFFI", "ANYTHING_BUT_SUFFIX", "b", "a", "ab", "a\u{0}"]
                .map(String::from),
        );
        for (i, n) in names.iter().enumerate() {
            // Each name twice (a second pattern), some never matching.
            m.add_rule(n, r#"{"k": ["v"]}"#).unwrap();
            let other = if i % 3 == 0 { "v" } else { "w" };
            m.add_rule(n, &format!(r#"{{"j": ["{other}"]}}"#)).unwrap();
        }
        let got = m.rules_for_event(br#"{"k": "v", "j": "v"}"#).unwrap();
        let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
        want.sort_unstable();
        want.dedup();
        assert_eq!(got.iter().map(|n| &**n).collect::<Vec<_>>(), want);
        assert!(m.stats().segments > 1);
        // Fewer than `FEW_NAMES`: sorted without keys.
        let got = m.rules_for_event(br#"{"j": "v"}"#).unwrap();
        let mut want: Vec<&str> =
            names.iter().enumerate().filter(|(i, _)| i % 3 == 0).map(|(_, n)| n.as_str()).collect();
        want.sort_unstable();
        assert!(want.len() <= FEW_NAMES && want.len() > 3);
        assert_eq!(got.iter().map(|n| &**n).collect::<Vec<_>>(), want);
    }

    /// Scanned or sorted, the hits and presence records give each
    /// condition and field the same ascending, distinct contexts.
    #[test]
    fn lookups_scanned_or_sorted_agree() {
        let mut state = 7u64;
        let mut next = |n: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % n) as u32
        };
        for round in 0..50 {
            let mut sc = Scratch::default();
            let n = 1 + round * 3;
            for _ in 0..n {
                let hit = (next(6), next(4));
                sc.hits.push(hit);
                sc.presence.push((next(5), next(4)));
            }
            let lookups = |sc: &Scratch| {
                let mut out = Vec::new();
                for g in 0..7 {
                    let mut v = vec![99];
                    sc.contexts_of_hits(g, &mut v);
                    assert!(v[1..].windows(2).all(|w| w[0] < w[1]));
                    out.push(v);
                }
                for f in 0..6 {
                    let mut v = vec![99];
                    sc.contexts_of_field(f, &mut v);
                    assert!(v[1..].windows(2).all(|w| w[0] < w[1]));
                    v.push(sc.present(f) as u32);
                    out.push(v);
                }
                out
            };
            let scanned = lookups(&sc);
            sc.prepare_lookups(SCAN_LOOKUPS + 1);
            assert!(sc.hits_sorted);
            assert_eq!(scanned, lookups(&sc), "round {round}");
        }
    }
}
