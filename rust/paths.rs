//! The used-path trie: every field path any pattern names, split on `.`, so
//! the scanner decides "descend or skip" with one lookup per member.

use rustc_hash::FxHashMap;

/// Index of a field path in the machine (stable for the machine's lifetime).
pub type FieldId = u32;

#[derive(Debug, Clone, Default)]
pub struct TrieNode {
    /// Child segment name (raw, unescaped key bytes) -> node index.
    pub children: FxHashMap<Box<[u8]>, u32>,
    /// The field whose path ends here, if any pattern uses it.
    pub field: Option<FieldId>,
    /// True when some `exists: false` names this field, so presence must be recorded.
    pub tracks_presence: bool,
    /// The same children as a list, filled by `PathTrie::finish` when there
    /// are few: comparing a key with one or two names (lengths first) is
    /// cheaper than hashing it.
    few: Vec<Named>,
    /// The children whose names can be recognised in one word of event
    /// bytes (see [`Members::plain`]), filled by `PathTrie::finish`.
    plain: Vec<PlainName>,
}

/// A short child name as the words of event bytes that spell it as a
/// plain key — its bytes, then the closing quote — with the masks of those
/// bytes (the second word's mask 0 for names below eight bytes), the
/// name's length and the child.
#[derive(Debug, Clone, Copy)]
struct PlainName {
    word: u64,
    mask: u64,
    word2: u64,
    mask2: u64,
    len: u32,
    child: u32,
}

impl PlainName {
    /// The words for `name` when it is short (at most fifteen bytes) and
    /// has no byte that a plain key could not hold as itself (a quote, a
    /// backslash, a control character).
    fn of(name: &[u8], child: u32) -> Option<PlainName> {
        if name.len() > 15 || name.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes[..name.len()].copy_from_slice(name);
        bytes[name.len()] = b'"';
        let [first, second] = [&bytes[..8], &bytes[8..]]
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()));
        let spelled = name.len() + 1;
        let mask = u64::MAX >> (8 * 8usize.saturating_sub(spelled));
        let mask2 = if spelled > 8 { u64::MAX >> (8 * (16 - spelled)) } else { 0 };
        Some(PlainName { word: first, mask, word2: second, mask2, len: name.len() as u32, child })
    }

    /// Do the event bytes from `b[at]` spell this name and a quote?
    #[inline(always)]
    fn spelled(&self, w: u64, b: &[u8], at: usize) -> bool {
        (w ^ self.word) & self.mask == 0
            && (self.mask2 == 0
                || b.get(at + 8..)
                    .and_then(<[u8]>::first_chunk::<8>)
                    .is_some_and(|w2| (u64::from_le_bytes(*w2) ^ self.word2) & self.mask2 == 0))
    }
}

/// A child's name and node.
type Named = (Box<[u8]>, u32);

/// Up to this many children, a key is compared with each instead of hashed.
const FEW_CHILDREN: usize = 4;

impl TrieNode {
    /// The child named exactly `key` (no dot splitting).
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        if self.children.len() <= FEW_CHILDREN && self.few.len() == self.children.len() {
            return self
                .few
                .iter()
                .find(|(k, _)| k.len() == key.len() && same_key(k, key))
                .map(|e| e.1);
        }
        self.children.get(key).copied()
    }
}

/// Are two keys equal? Compared by [`crate::tables::cmp_bytes`] rather
/// than `==`: keys are short (`x`, `type`), and the call to `memcmp` that
/// `==` makes costs more than the comparison.
#[inline(always)]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && crate::tables::cmp_bytes(a, b).is_eq()
}

/// Does `rest` hold `"N"` or `"N.`, where `f` searches for `"N`? One search
/// for the shared prefix, then a look at the byte after each hit.
fn names_again(f: &memchr::memmem::Finder<'_>, rest: &[u8]) -> bool {
    let n = f.needle().len();
    let mut from = 0;
    while let Some(at) = f.find(&rest[from..]) {
        let after = from + at + n;
        if matches!(rest.get(after), Some(b'"' | b'.')) {
            return true;
        }
        from += at + 1;
    }
    false
}

/// Trie over path segments; node 0 is the root (the event object itself).
#[derive(Debug, Clone)]
pub struct PathTrie {
    pub nodes: Vec<TrieNode>,
    /// By node: for each of its children's names N, a searcher for `"N`,
    /// whose hits count when followed by `"` or `.` (see `rest_is_unused`);
    /// `None` where a scan may not stop early (too many children to search
    /// for). Built by `finish`.
    stop_finders: Vec<Option<Box<[memchr::memmem::Finder<'static>]>>>,
}

/// A nested object may end the scan early only if it has at most this many
/// used children (each is one search over the rest of the event). The
/// top-level object always may.
const STOP_CHILDREN: usize = 8;

/// The objects on the way from the event's root to the one being scanned,
/// when every used member of each of them, but the one leading on, has
/// been seen (none inside an array): once the last of them is complete, so
/// is everything the event can say about a used path.
#[derive(Debug, Clone, Copy)]
pub struct Chain {
    nodes: [u32; 8],
    len: usize,
}

impl Chain {
    /// The chain of the event's root object.
    pub fn root() -> Chain {
        Chain { nodes: [0; 8], len: 1 }
    }

    /// This chain led on to `node`, if there is room.
    #[inline]
    pub fn then(&self, node: u32) -> Option<Chain> {
        let mut c = *self;
        *c.nodes.get_mut(c.len)? = node;
        c.len += 1;
        Some(c)
    }

    fn nodes(&self) -> &[u32] {
        &self.nodes[..self.len]
    }
}

/// The used members of one object of the trie (see [`PathTrie::members`]).
pub struct Members<'t> {
    trie: &'t PathTrie,
    node: u32,
    /// The children as a list, when few.
    few: Option<&'t [Named]>,
    plain: &'t [PlainName],
}

impl Members<'_> {
    /// The key whose text begins at `b[at]` (just past its opening quote),
    /// when it is spelled plainly as the name of one of the few children
    /// whose names are short: that child and the name's length. One word
    /// of the event compared with each such name and its closing quote —
    /// no scan for the key's end, no comparison of bytes. `None` says
    /// nothing: the key is then read and looked up the ordinary way.
    #[inline(always)]
    pub fn plain(&self, b: &[u8], at: usize) -> Option<(u32, usize)> {
        if self.plain.is_empty() {
            return None;
        }
        let w = u64::from_le_bytes(*b.get(at..)?.first_chunk::<8>()?);
        self.plain.iter().find(|p| p.spelled(w, b, at)).map(|p| (p.child, p.len as usize))
    }

    /// The child reached by an event key, which may itself contain dots.
    /// Inlined into the scanner's member loop: a call costs about as much
    /// as the comparisons.
    #[inline(always)]
    pub fn child(&self, key: &[u8]) -> Option<u32> {
        if let Some(few) = self.few {
            // One pass: the name itself, or (names hold no dots) a dotted
            // key that begins with a child's name and a dot.
            let mut dotted = false;
            for (k, c) in few {
                if k.len() == key.len() {
                    if same_key(k, key) {
                        return Some(*c);
                    }
                } else if key.len() > k.len() && key[k.len()] == b'.' {
                    dotted |= key.starts_with(k);
                }
            }
            if !dotted {
                return None;
            }
        }
        self.trie.child_slow(self.node, key)
    }
}

impl Default for PathTrie {
    fn default() -> Self {
        PathTrie { nodes: vec![TrieNode::default()], stop_finders: Vec::new() }
    }
}

impl PathTrie {
    /// Adds a path (keys joined with `.`) for `field`.
    pub fn insert(&mut self, path: &str, field: FieldId, tracks_presence: bool) {
        let mut node = 0usize;
        for segment in path.split('.') {
            let next = match self.nodes[node].children.get(segment.as_bytes()) {
                Some(&n) => n as usize,
                None => {
                    let n = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    self.nodes[node].children.insert(segment.as_bytes().into(), n as u32);
                    n
                }
            };
            node = next;
        }
        let n = &mut self.nodes[node];
        n.field = Some(field);
        n.tracks_presence |= tracks_presence;
    }

    /// The child of `node` reached by an event key, which may itself contain dots.
    #[inline]
    pub fn child(&self, node: u32, key: &[u8]) -> Option<u32> {
        self.members(node).child(key)
    }

    /// The used members of the object at `node`, for looking up each of
    /// its keys in turn (what can be decided once per object is).
    #[inline(always)]
    pub fn members(&self, node: u32) -> Members<'_> {
        let n = &self.nodes[node as usize];
        let few = (n.children.len() <= FEW_CHILDREN && n.few.len() == n.children.len())
            .then_some(&n.few[..]);
        Members { trie: self, node, few, plain: &n.plain }
    }

    /// `child` for a node with many children, or a dotted key: the name
    /// hashed, then the key walked segment by segment.
    #[inline(never)]
    fn child_slow(&self, node: u32, key: &[u8]) -> Option<u32> {
        if let Some(&c) = self.nodes[node as usize].children.get(key) {
            return Some(c);
        }
        if !key.contains(&b'.') {
            return None;
        }
        let mut node = node;
        for segment in key.split(|&b| b == b'.') {
            node = *self.nodes[node as usize].children.get(segment)?;
        }
        Some(node)
    }

    /// Prepares the searches `rest_is_unused` needs; call after the last insert.
    pub fn finish(&mut self) {
        for n in &mut self.nodes {
            n.few = if n.children.len() <= FEW_CHILDREN {
                n.children.iter().map(|(k, &c)| (k.clone(), c)).collect()
            } else {
                Vec::new()
            };
            n.plain = n.few.iter().filter_map(|(k, c)| PlainName::of(k, *c)).collect();
        }
        self.stop_finders = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (i == 0 || (!n.children.is_empty() && n.children.len() <= STOP_CHILDREN)).then(
                    || {
                        n.children
                            .keys()
                            .map(|name| [&b"\""[..], name].concat())
                            .map(|needle| memchr::memmem::Finder::new(&needle).into_owned())
                            .collect()
                    },
                )
            })
            .collect();
    }

    /// Whether an object at `node` may end the scan early (see [`Chain`]).
    #[inline]
    pub fn can_stop(&self, node: u32) -> bool {
        matches!(self.stop_finders.get(node as usize), Some(Some(_)))
    }

    /// Can the rest of an event be ignored, once the last used member of
    /// the last object of `chain` was seen? Only if no later key can name a
    /// used path again: none spells a used member name of an object on the
    /// chain, alone or followed by a dot. Where the rest has a backslash (a
    /// key might be escaped) the answer is no; where a string merely
    /// contains such a name, it is a safe "no" too.
    pub fn rest_is_unused(&self, chain: &Chain, rest: &[u8]) -> bool {
        // Keys begin with a quote: no quote, no key (the end of most events).
        let Some(first) = memchr::memchr(b'"', rest) else { return true };
        let rest = &rest[first..];
        memchr::memchr(b'\\', rest).is_none()
            && chain.nodes().iter().all(|&node| match self.stop_finders.get(node as usize) {
                Some(Some(finders)) => finders.iter().all(|f| !names_again(f, rest)),
                _ => false,
            })
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `same_key` agrees with `==`: lengths 0 to 20, keys that differ in
    /// any one byte (the last too) or only in length.
    #[test]
    fn same_key_is_equality() {
        let keys = crate::testing::one_byte_apart(|_| vec![b'.', b'\\', 0xff]);
        for a in &keys {
            for b in &keys {
                assert_eq!(same_key(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    /// `Members::plain` finds exactly the short, plain names among a
    /// node's few children, spelled as a key and its closing quote: names
    /// of lengths around 7, 8 and 15 (and one of 16, never found that way),
    /// names with a quote, a backslash or a control byte (never), keys
    /// that differ from a name in its last byte, that extend it, or that
    /// are cut short by the end of the input.
    #[test]
    fn plain_names() {
        let names: [&[u8]; 4] = [b"", b"x", b"abcdefg", b"abcdefgh"];
        let longer: [&[u8]; 4] =
            [b"abcdefghi", b"abcdefghijklmno", b"abcdefghijklmnop", b"MAPBLKLOT"];
        let odd: [&[u8]; 3] = [b"a\"b", b"a\\", b"a\tb"];
        let near: [&[u8]; 3] = [b"st", b"sty", b"stx"];
        for lens in [&names[..], &odd[..], &near[..], &longer[..]] {
            let mut t = PathTrie::default();
            for (i, n) in lens.iter().enumerate() {
                t.insert(std::str::from_utf8(n).unwrap(), i as FieldId, false);
            }
            t.finish();
            let m = t.members(0);
            let mut keys: Vec<Vec<u8>> = lens.iter().map(|n| n.to_vec()).collect();
            for n in lens.iter().filter(|n| !n.is_empty()) {
                let mut other = n.to_vec();
                *other.last_mut().unwrap() ^= 1;
                keys.push(other);
                keys.push([*n, b"y"].concat());
                keys.push(n[..n.len() - 1].to_vec());
            }
            for key in &keys {
                for tail in [&b": 1, \"more\": 2}"[..], b"", b":1}"] {
                    let b = [b"\"", &key[..], b"\"", tail].concat();
                    let found = m.plain(&b, 1);
                    let short = key.len() <= 15
                        && !key.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20);
                    let fits = b.len() >= if key.len() < 8 { 9 } else { 17 };
                    let want =
                        if short && fits { m.child(key).map(|c| (c, key.len())) } else { None };
                    assert_eq!(found, want, "{key:?} {tail:?}");
                }
            }
        }
    }

    /// Keys found through the trie: exact names of few and of many
    /// children (the hashed path), dotted keys, names that differ only in
    /// their last byte.
    #[test]
    fn children_by_key() {
        let mut t = PathTrie::default();
        let paths =
            ["x", "y", "geometry.coordinates.x", "properties.MAPBLKLOT", "properties.MAPBLKLOU"];
        for (i, p) in paths.iter().enumerate() {
            t.insert(p, i as FieldId, false);
        }
        for i in 0..6 {
            t.insert(&format!("many.k{i}"), 10 + i, false);
        }
        t.finish();
        let field = |key: &[u8]| {
            let mut node = 0;
            for seg in key.split(|&b| b == b'/') {
                node = t.child(node, seg)?;
            }
            t.nodes[node as usize].field
        };
        assert_eq!(field(b"x"), Some(0));
        assert_eq!(field(b"y"), Some(1));
        assert_eq!(field(b"z"), None);
        assert_eq!(field(b""), None);
        assert_eq!(field(b"geometry/coordinates/x"), Some(2));
        assert_eq!(field(b"geometry.coordinates/x"), Some(2));
        assert_eq!(field(b"geometry.coordinates.x"), Some(2));
        assert_eq!(field(b"properties/MAPBLKLOT"), Some(3));
        assert_eq!(field(b"properties/MAPBLKLOU"), Some(4));
        assert_eq!(field(b"properties/MAPBLKLOV"), None);
        assert_eq!(field(b"properties/MAPBLKLO"), None);
        assert_eq!(field(b"many/k3"), Some(13));
        assert_eq!(field(b"many.k5"), Some(15));
        assert_eq!(field(b"many/k6"), None);
        assert_eq!(t.nodes[0].get(b"x"), t.child(0, b"x"));
        assert_eq!(t.nodes[0].get(b"geometry.coordinates"), None);
    }
}
