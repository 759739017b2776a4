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
    /// Builds an index over `items`, keyed by `key_of`. Keys must be unique
    /// (the parser checked that).
    pub(crate) fn build<T>(items: &[T], ci: bool, key_of: impl Fn(&T) -> &str) -> Self {
        let mut index = Self {
            table: HashTable::with_capacity(items.len()),
            hasher: DefaultHashBuilder::default(),
            ci,
        };
        let key_at = |j: u32| items.get(j as usize).map_or("", &key_of);
        for (i, item) in items.iter().enumerate() {
            let h = index.hash(key_of(item));
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            index
                .table
                .insert_unique(h, idx, |&j| index_hash(&index.hasher, ci, key_at(j)));
        }
        index
    }

    fn hash(&self, key: &str) -> u64 {
        index_hash(&self.hasher, self.ci, key)
    }

    /// The item of `items` (the ones the index was built over) whose key is
    /// `key`, comparing with `key_of` of the candidates.
    pub(crate) fn get<'a, T>(
        &self,
        items: &'a [T],
        key: &str,
        key_of: impl Fn(&T) -> &str,
    ) -> Option<&'a T> {
        let h = self.hash(key);
        let ci = self.ci;
        self.table
            .find(h, |&i| {
                items.get(i as usize).is_some_and(|item| {
                    let k = key_of(item);
                    if ci {
                        k.eq_ignore_ascii_case(key)
                    } else {
                        k == key
                    }
                })
            })
            .and_then(|&i| items.get(i as usize))
    }
}

fn index_hash(hasher: &DefaultHashBuilder, ci: bool, key: &str) -> u64 {
    let mut h = hasher.build_hasher();
    if ci {
        // Hash the ASCII-lowercased bytes in fixed chunks, on the stack.
        let mut buf = [0u8; 64];
        for chunk in key.as_bytes().chunks(64) {
            for (o, &c) in buf.iter_mut().zip(chunk) {
                *o = c.to_ascii_lowercase();
            }
            h.write(buf.get(..chunk.len()).unwrap_or_default());
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

/// The text of a recorded key (empty for a range outside the arena, which
/// `insert` never records).
fn stored(arena: &str, (start, len, _): (usize, usize, usize)) -> &str {
    arena.get(start..start + len).unwrap_or_default()
}

/// The text of the `j`th recorded key.
fn stored_at<'a>(arena: &'a str, keys: &[(usize, usize, usize)], j: u32) -> &'a str {
    keys.get(j as usize).map_or("", |&k| stored(arena, k))
}

impl KeySet {
    pub(crate) fn clear(&mut self) {
        self.arena.clear();
        self.keys.clear();
        self.table.clear();
    }

    /// Records `key` (found at `offset`); if it was seen before, returns the
    /// offset of its first occurrence instead.
    pub(crate) fn insert(&mut self, key: &str, offset: usize) -> Option<usize> {
        let n = self.keys.len();
        let (arena, keys) = (self.arena.as_str(), self.keys.as_slice());
        if n < SCAN_LIMIT {
            if let Some(&(_, _, first)) = keys.iter().find(|&&k| stored(arena, k) == key) {
                return Some(first);
            }
        } else {
            let hasher = &self.hasher;
            let rehash = |&j: &u32| hasher.hash_one(stored_at(arena, keys, j));
            if self.table.is_empty() {
                for (i, &k) in keys.iter().enumerate() {
                    let h = hasher.hash_one(stored(arena, k));
                    self.table.insert_unique(h, i as u32, rehash);
                }
            }
            let h = hasher.hash_one(key);
            if let Some(&i) = self.table.find(h, |&j| stored_at(arena, keys, j) == key) {
                return keys.get(i as usize).map(|&(_, _, first)| first);
            }
            self.table.insert_unique(h, n as u32, rehash);
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
        let long = "q".repeat(200);
        let keys = ["a.bc", "x.example.nl", long.as_str()];
        fn key<'x>(k: &'x &str) -> &'x str {
            k
        }
        let idx = Index::build(&keys, true, key);
        assert_eq!(idx.get(&keys, "X.Example.NL", key), Some(&keys[1]));
        assert_eq!(idx.get(&keys, &"Q".repeat(200), key), Some(&keys[2]));
        assert_eq!(idx.get(&keys, "a.bd", key), None);
        let exact = Index::build(&keys, false, key);
        assert_eq!(exact.get(&keys, "A.bc", key), None);
        assert_eq!(exact.get(&keys, "a.bc", key), Some(&keys[0]));
    }
}
