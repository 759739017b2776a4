//! Hash indexes for the lookups (no allocation per lookup) and for the
//! uniqueness checks while parsing (LISTS-2, LISTS-4, LISTS-5, LISTS-6, LISTS-15).

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::{BuildHasher, Hasher};

/// Maps keys to positions in a list's entry vector without storing the keys
/// twice: the table holds indexes, the keys are read from the entries.
#[derive(Clone, Default)]
pub(crate) struct Index {
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// Compare keys ASCII case-insensitively (hostnames).
    ci: bool,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Index({} keys)", self.table.len())
    }
}

impl Index {
    /// Builds an index over `n` entries whose keys `key_of` gives. Keys must
    /// be unique (the parser checked that).
    pub(crate) fn build<'a>(n: usize, ci: bool, key_of: impl Fn(usize) -> &'a str) -> Index {
        let mut index = Index {
            table: HashTable::with_capacity(n),
            hasher: DefaultHashBuilder::default(),
            ci,
        };
        for i in 0..n {
            let h = index.hash(key_of(i));
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            index.table.insert_unique(h, idx, |&j| {
                index_hash(&index.hasher, ci, key_of(j as usize))
            });
        }
        index
    }

    fn hash(&self, key: &str) -> u64 {
        index_hash(&self.hasher, self.ci, key)
    }

    /// The position of `key`, comparing with `key_of` of the candidates.
    pub(crate) fn get<'a>(&self, key: &str, key_of: impl Fn(usize) -> &'a str) -> Option<usize> {
        let h = self.hash(key);
        let ci = self.ci;
        self.table
            .find(h, |&i| {
                let k = key_of(i as usize);
                if ci {
                    k.eq_ignore_ascii_case(key)
                } else {
                    k == key
                }
            })
            .map(|&i| i as usize)
    }
}

fn index_hash(hasher: &DefaultHashBuilder, ci: bool, key: &str) -> u64 {
    let mut h = hasher.build_hasher();
    if ci {
        // Hash the ASCII-lowercased bytes in fixed chunks, on the stack.
        let mut buf = [0u8; 64];
        for chunk in key.as_bytes().chunks(64) {
            let out = &mut buf[..chunk.len()];
            for (o, &c) in out.iter_mut().zip(chunk) {
                *o = c.to_ascii_lowercase();
            }
            h.write(out);
        }
    } else {
        h.write(key.as_bytes());
    }
    h.write_usize(key.len());
    h.finish()
}

/// The keys seen among the children of one parent, for uniqueness checks
/// while parsing. Small sets are scanned; from 16 keys on a hash table
/// keeps hostile inputs linear.
#[derive(Default)]
pub(crate) struct KeySet {
    arena: String,
    /// (start in arena, length, byte offset of the element in the input).
    keys: Vec<(usize, usize, usize)>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

const SCAN_LIMIT: usize = 16;

impl KeySet {
    pub(crate) fn clear(&mut self) {
        self.arena.clear();
        self.keys.clear();
        self.table.clear();
    }

    fn key(&self, i: usize) -> &str {
        let (s, l, _) = self.keys[i];
        &self.arena[s..s + l]
    }

    /// Records `key` (found at `offset`); if it was seen before, returns the
    /// offset of its first occurrence instead.
    pub(crate) fn insert(&mut self, key: &str, offset: usize) -> Option<usize> {
        let n = self.keys.len();
        if n < SCAN_LIMIT {
            if let Some(i) = (0..n).find(|&i| self.key(i) == key) {
                return Some(self.keys[i].2);
            }
        } else {
            if self.table.is_empty() {
                for i in 0..n {
                    let h = self.hasher.hash_one(self.key(i));
                    let (arena, keys, hasher) = (&self.arena, &self.keys, &self.hasher);
                    self.table.insert_unique(h, i as u32, |&j| {
                        let (s, l, _) = keys[j as usize];
                        hasher.hash_one(&arena[s..s + l])
                    });
                }
            }
            let h = self.hasher.hash_one(key);
            let (arena, keys) = (&self.arena, &self.keys);
            if let Some(&i) = self.table.find(h, |&j| {
                let (s, l, _) = keys[j as usize];
                &arena[s..s + l] == key
            }) {
                return Some(self.keys[i as usize].2);
            }
            let (arena, keys, hasher) = (&self.arena, &self.keys, &self.hasher);
            self.table.insert_unique(h, n as u32, |&j| {
                let (s, l, _) = keys[j as usize];
                hasher.hash_one(&arena[s..s + l])
            });
        }
        let start = self.arena.len();
        self.arena.push_str(key);
        self.keys.push((start, key.len(), offset));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_finds_duplicates_small_and_large() {
        let mut k = KeySet::default();
        for i in 0..100 {
            assert_eq!(k.insert(&format!("k{i}"), i), None);
        }
        assert_eq!(k.insert("k3", 1000), Some(3));
        assert_eq!(k.insert("k99", 1000), Some(99));
        k.clear();
        assert_eq!(k.insert("k3", 7), None);
        assert_eq!(k.insert("k3", 8), Some(7));
    }

    #[test]
    fn case_insensitive_index() {
        let keys = ["a.bc", "x.example.nl", &"q".repeat(200)];
        let idx = Index::build(keys.len(), true, |i| keys[i]);
        assert_eq!(idx.get("X.Example.NL", |i| keys[i]), Some(1));
        assert_eq!(idx.get(&"Q".repeat(200), |i| keys[i]), Some(2));
        assert_eq!(idx.get("a.bd", |i| keys[i]), None);
        let exact = Index::build(keys.len(), false, |i| keys[i]);
        assert_eq!(exact.get("A.bc", |i| keys[i]), None);
        assert_eq!(exact.get("a.bc", |i| keys[i]), Some(0));
    }
}
