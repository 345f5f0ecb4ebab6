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
    few: Vec<(Box<[u8]>, u32)>,
}

/// Up to this many children, a key is compared with each instead of hashed.
const FEW_CHILDREN: usize = 4;

impl TrieNode {
    /// The child named exactly `key` (no dot splitting).
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        if self.children.len() <= FEW_CHILDREN && self.few.len() == self.children.len() {
            return self.few.iter().find(|(k, _)| k.len() == key.len() && **k == *key).map(|e| e.1);
        }
        self.children.get(key).copied()
    }
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
    /// For each top-level used name N: a searcher for `"N`, whose hits count
    /// when followed by `"` or `.` (see `rest_is_unused`). Built by `finish`.
    stop_finders: Vec<memchr::memmem::Finder<'static>>,
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
        let n = &self.nodes[node as usize];
        if n.children.len() <= FEW_CHILDREN && n.few.len() == n.children.len() {
            // One pass: the name itself, or (names hold no dots) a dotted
            // key that begins with a child's name and a dot.
            let mut dotted = false;
            for (k, c) in &n.few {
                if k.len() == key.len() {
                    if **k == *key {
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
        self.child_slow(node, key)
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
        }
        self.stop_finders = self.nodes[0]
            .children
            .keys()
            .map(|name| [&b"\""[..], name].concat())
            .map(|needle| memchr::memmem::Finder::new(&needle).into_owned())
            .collect();
    }

    /// Can the rest of an event, after the last used top-level member was
    /// seen, be ignored? Only if no later key can name a used path again:
    /// none spells a used top-level name, alone or followed by a dot. Where
    /// the rest has a backslash (a key might be escaped) the answer is no;
    /// where a string merely contains such a name, it is a safe "no" too.
    pub fn rest_is_unused(&self, rest: &[u8]) -> bool {
        memchr::memchr(b'\\', rest).is_none()
            && self.stop_finders.iter().all(|f| !names_again(f, rest))
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }
}
