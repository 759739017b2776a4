//! The OCL as the authorization server asks it (MedMij OAUTH-3): the [`ClientRegistry`] seam
//! and a fixed implementation.

use crate::{ClientId, ScopeGegevensdienstId};
use std::collections::HashMap;

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
/// against (which SipHash, the default, is for): `rustc-hash`'s Fx hash is enough to spread
/// them, and faster on these short keys (BENCHMARKS.md, medmij-oauth in memory).
pub(crate) type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

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
