//! Matching one event against a snapshot: the scanner reports leaves, each
//! leaf is run through the segments' value matchers, fired slots are counted
//! per sub-pattern, and sub-patterns whose every slot fired are confirmed —
//! directly when no array and no `exists: false` is involved, else by the
//! array-consistency search below.
//!
//! Work per event follows the leaves of used fields and the slots that fire;
//! nothing loops over all rules.

use crate::error::{EventError, EventErrorKind};
use crate::machine::Snapshot;
use crate::paths::FieldId;
use crate::scanner::{self, Context, Leaf, Visitor};
use crate::segment::SubInfo;
use crate::values::ValueScratch;
use std::sync::Arc;

/// High bit of a sub-pattern's hit count: some hit sat inside an array.
const ARRAYED: u32 = 1 << 31;

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
    epoch: u32,
    slot_epoch: Vec<u32>,
    sub_epoch: Vec<u32>,
    sub_hits: Vec<u32>,
    completed: Vec<u32>,
    /// `(global slot, context)` of every hit.
    hits: Vec<(u32, u32)>,
    /// `(field, context)` of every leaf of a presence-tracked field.
    presence: Vec<(FieldId, u32)>,
    contexts: Contexts,
    value: ValueScratch,
}

impl Scratch {
    fn reset(&mut self, slots: usize, subs: usize) {
        if self.epoch == u32::MAX {
            self.epoch = 0;
            self.slot_epoch.iter_mut().for_each(|e| *e = 0);
            self.sub_epoch.iter_mut().for_each(|e| *e = 0);
        }
        self.epoch += 1;
        if self.slot_epoch.len() < slots {
            self.slot_epoch.resize(slots, 0);
        }
        if self.sub_epoch.len() < subs {
            self.sub_epoch.resize(subs, 0);
            self.sub_hits.resize(subs, 0);
        }
        self.completed.clear();
        self.hits.clear();
        self.presence.clear();
        self.contexts.reset();
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
        let epoch = sc.epoch;
        for (si, seg) in self.snap.segments.iter().enumerate() {
            let Some(m) = seg.matcher(field) else {
                continue;
            };
            let slot_base = self.snap.slot_base[si];
            let sub_base = self.snap.sub_base[si];
            let (slot_epoch, sub_epoch, sub_hits, completed, hits, contexts) = (
                &mut sc.slot_epoch,
                &mut sc.sub_epoch,
                &mut sc.sub_hits,
                &mut sc.completed,
                &mut sc.hits,
                &mut sc.contexts,
            );
            // Contexts are interned only for leaves that fire something.
            let mut cid: Option<u32> = None;
            m.eval(leaf, &mut sc.value, &mut |slot| {
                let cid = *cid.get_or_insert_with(|| contexts.id(ctx));
                let gslot = (slot_base + slot) as usize;
                let local_sub = seg.slot_sub[slot as usize];
                let gsub = (sub_base + local_sub) as usize;
                hits.push((gslot as u32, cid));
                if sub_epoch[gsub] != epoch {
                    sub_epoch[gsub] = epoch;
                    sub_hits[gsub] = 0;
                }
                if cid != 0 {
                    sub_hits[gsub] |= ARRAYED;
                }
                if slot_epoch[gslot] != epoch {
                    slot_epoch[gslot] = epoch;
                    sub_hits[gsub] += 1;
                    if sub_hits[gsub] & !ARRAYED == seg.subs[local_sub as usize].slots {
                        completed.push(gsub as u32);
                    }
                }
            });
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
        sc.reset(self.total_slots, self.total_subs);
        scanner::scan(
            event,
            &self.trie,
            &self.num_gates,
            self.config.max_depth,
            self.config.max_event_bytes,
            &mut Run { snap: self, sc },
        )?;
        let mut names: Vec<Arc<str>> = Vec::new();
        let mut checks: Vec<u32> = Vec::new();
        for &gsub in &sc.completed {
            let (si, local) = self.locate(gsub);
            let info = &self.segments[si].subs[local];
            if sc.sub_hits[gsub as usize] & ARRAYED == 0 && info.absent.is_empty() {
                names.push(self.segments[si].patterns[info.pattern as usize].1.clone());
            } else {
                checks.push(gsub);
            }
        }
        let has_absent_only = self.segments.iter().any(|s| !s.absent_only.is_empty());
        if !checks.is_empty() || has_absent_only {
            sc.hits.sort_unstable();
            sc.hits.dedup();
            sc.presence.sort_unstable();
            sc.presence.dedup();
        }
        for seg in &self.segments {
            for &local in &seg.absent_only {
                let info = &seg.subs[local as usize];
                if info.absent.iter().all(|&f| presence_of(&sc.presence, f).is_empty()) {
                    names.push(seg.patterns[info.pattern as usize].1.clone());
                }
            }
        }
        for gsub in checks {
            let (si, local) = self.locate(gsub);
            let info = &self.segments[si].subs[local];
            let gfirst = self.slot_base[si] + info.first_slot;
            if consistent(info, gfirst, sc, self.config.max_consistency_steps)? {
                names.push(self.segments[si].patterns[info.pattern as usize].1.clone());
            }
        }
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    fn locate(&self, gsub: u32) -> (usize, usize) {
        let si = self.sub_base.partition_point(|&b| b <= gsub) - 1;
        (si, (gsub - self.sub_base[si]) as usize)
    }
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

/// Is there one leaf per slot, pairwise compatible, with every absent field
/// having no leaf compatible with all of them?
fn consistent(
    info: &SubInfo,
    gfirst: u32,
    sc: &Scratch,
    budget: usize,
) -> Result<bool, EventError> {
    let mut slots: Vec<Vec<u32>> = Vec::with_capacity(info.slots as usize);
    for s in gfirst..gfirst + info.slots {
        let a = sc.hits.partition_point(|h| h.0 < s);
        let b = sc.hits.partition_point(|h| h.0 <= s);
        let ctxs: Vec<u32> = sc.hits[a..b].iter().map(|h| h.1).collect();
        if ctxs.is_empty() {
            return Ok(false);
        }
        // A leaf in no array pins nothing: with nothing to keep absent it
        // satisfies its slot whatever else is chosen.
        if info.absent.is_empty() && ctxs[0] == 0 {
            continue;
        }
        slots.push(ctxs);
    }
    slots.sort_by_key(Vec::len);
    let absent: Vec<Vec<u32>> = info
        .absent
        .iter()
        .map(|&f| presence_of(&sc.presence, f).iter().map(|p| p.1).collect())
        .collect();
    let mut chosen = Vec::with_capacity(slots.len());
    let mut steps = 0usize;
    search(&slots, &absent, &mut chosen, sc, &mut steps, budget)
}

fn search(
    slots: &[Vec<u32>],
    absent: &[Vec<u32>],
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
    if depth == slots.len() {
        let present = absent
            .iter()
            .any(|leaves| leaves.iter().any(|&l| chosen.iter().all(|&c| compatible(sc, l, c))));
        return Ok(!present);
    }
    for &c in &slots[depth] {
        // Count every candidate tried, so the budget bounds the real work.
        *steps += 1;
        if *steps > budget {
            return Err(EventError::new(EventErrorKind::TooComplex { limit: budget }, 0));
        }
        if chosen.iter().all(|&d| compatible(sc, c, d)) {
            chosen.push(c);
            let ok = search(slots, absent, chosen, sc, steps, budget)?;
            chosen.pop();
            if ok {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
