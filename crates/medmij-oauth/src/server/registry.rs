//! The OCL as the authorization server asks it (MedMij OAUTH-3): the [`ClientRegistry`] seam
//! and a fixed implementation.

use crate::{ClientId, ScopeGegevensdienstId};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The OCL as the authorization server sees it: implemented by the caller, typically on top
/// of the newest valid OAuth Client List (MedMij LISTS-4, LISTS-7).
pub trait ClientRegistry {
    /// True if this hostname is on the OCL in force (MedMij OAUTH-3).
    fn is_listed(&self, client: &ClientId) -> bool;

    /// Whether this client may use this Gegevensdienst. `None` means the list release in force
    /// does not say (release 2 of the OCL has no such field): then the server's own offer
    /// decides. `Some(false)` refuses the request (MedMij OAUTH-12 case 1).
    fn may_use(&self, client: &ClientId, gegevensdienst: &ScopeGegevensdienstId) -> Option<bool> {
        let _ = (client, gegevensdienst);
        None
    }
}

impl<T: ClientRegistry + ?Sized> ClientRegistry for &T {
    fn is_listed(&self, client: &ClientId) -> bool {
        (**self).is_listed(client)
    }
    fn may_use(&self, client: &ClientId, gegevensdienst: &ScopeGegevensdienstId) -> Option<bool> {
        (**self).may_use(client, gegevensdienst)
    }
}

impl<T: ClientRegistry + ?Sized> ClientRegistry for std::sync::Arc<T> {
    fn is_listed(&self, client: &ClientId) -> bool {
        (**self).is_listed(client)
    }
    fn may_use(&self, client: &ClientId, gegevensdienst: &ScopeGegevensdienstId) -> Option<bool> {
        (**self).may_use(client, gegevensdienst)
    }
}

/// A map whose keys all come from the server's own configuration (its offer, the OCL), looked
/// up with request values. Nobody outside can add keys, so there is no hash flooding to defend
/// against (which SipHash, the default, is for); a multiply-rotate hash of 8 bytes at a time
/// is enough to spread them.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// The hasher of [`FastMap`] (the multiply-add scheme of `rustc-hash` 2, with its final
/// rotation so that the low bits hashbrown uses for the bucket are well mixed).
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = self.0.wrapping_add(word).wrapping_mul(Self::K);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let tail = chunks.remainder();
        let mut w = [0u8; 8];
        for (w, &t) in w.iter_mut().zip(tail) {
            *w = t;
        }
        // The length keeps "ab" + "" and "a" + "b" apart within one key.
        self.add(u64::from_le_bytes(w) ^ ((bytes.len() as u64) << 56));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// A fixed [`ClientRegistry`]: hostnames, each optionally with the Gegevensdiensten it may use.
#[derive(Debug, Clone, Default)]
pub struct StaticClientRegistry {
    clients: FastMap<ClientId, Option<Vec<ScopeGegevensdienstId>>>,
}

impl StaticClientRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lists a client; `allowed` is `None` when the list release does not say.
    #[must_use]
    pub fn with_client(
        mut self,
        client: ClientId,
        allowed: Option<Vec<ScopeGegevensdienstId>>,
    ) -> Self {
        self.clients.insert(client, allowed);
        self
    }
}

impl ClientRegistry for StaticClientRegistry {
    fn is_listed(&self, client: &ClientId) -> bool {
        self.clients.contains_key(client)
    }
    fn may_use(&self, client: &ClientId, gegevensdienst: &ScopeGegevensdienstId) -> Option<bool> {
        self.clients
            .get(client)?
            .as_ref()
            .map(|list| list.contains(gegevensdienst))
    }
}
