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
}

/// Trie over path segments; node 0 is the root (the event object itself).
#[derive(Debug, Clone)]
pub struct PathTrie {
    pub nodes: Vec<TrieNode>,
    /// For each top-level used name N: searchers for `"N"` and `"N.` (see
    /// `rest_is_unused`). Built by `finish`.
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
        let children = &self.nodes[node as usize].children;
        if let Some(&n) = children.get(key) {
            return Some(n);
        }
        memchr::memchr(b'.', key)?;
        let mut node = node;
        for segment in key.split(|&b| b == b'.') {
            node = *self.nodes[node as usize].children.get(segment)?;
        }
        Some(node)
    }

    /// Prepares the searches `rest_is_unused` needs; call after the last insert.
    pub fn finish(&mut self) {
        self.stop_finders = self.nodes[0]
            .children
            .keys()
            .flat_map(|name| {
                let quoted: Vec<u8> = [&b"\""[..], name, b"\""].concat();
                let dotted: Vec<u8> = [&b"\""[..], name, b"."].concat();
                [quoted, dotted]
            })
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
            && self.stop_finders.iter().all(|f| f.find(rest).is_none())
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }
}
