//! The server's own offer and options.

use super::registry::FastMap;
use crate::{Scope, ScopeGegevensdienstId, UseCase, Zorgaanbiedernaam};

/// The server's own offer and options: which Gegevensdiensten of which Zorgaanbieders this
/// authorization server serves, each as Verzamelen (Bron) or Delen (Lezer).
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    pub(super) offer: FastMap<(Zorgaanbiedernaam, ScopeGegevensdienstId), UseCase>,
    /// Every offered pair as a ready single-pair scope, keyed by its text: the common request
    /// is answered without parsing or allocating a scope.
    pub(super) single: FastMap<String, (Scope, ScopeGegevensdienstId, UseCase)>,
    pub(super) multiple_pairs: bool,
    /// Minimum assurance level per Zorgaanbieder (MedMij OAUTH-18; see `person.rs`).
    pub(super) minimum_assurance: FastMap<Zorgaanbiedernaam, super::person::AssuranceLevel>,
}

impl ServerConfig {
    /// An empty offer, single-pair scopes only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Gegevensdienst of a Zorgaanbieder to the offer.
    pub fn offer(
        mut self,
        zorgaanbieder: Zorgaanbiedernaam,
        gegevensdienst: ScopeGegevensdienstId,
        use_case: UseCase,
    ) -> Self {
        let scope = Scope::single(zorgaanbieder.clone(), gegevensdienst.clone());
        self.single.insert(
            scope.as_str().to_owned(),
            (scope, gegevensdienst.clone(), use_case),
        );
        self.offer.insert((zorgaanbieder, gegevensdienst), use_case);
        self
    }

    /// Accepts the release 1.5 multi-pair scope for Verzamelen (MedMij OAUTH-5). Delen
    /// always takes exactly one pair.
    pub fn allow_multiple_pairs(mut self, allow: bool) -> Self {
        self.multiple_pairs = allow;
        self
    }

    pub(super) fn use_case(
        &self,
        z: &Zorgaanbiedernaam,
        g: &ScopeGegevensdienstId,
    ) -> Option<UseCase> {
        // Avoid cloning for the lookup: the offer is small and the key is a pair of Strings.
        self.offer
            .iter()
            .find(|((oz, og), _)| oz == z && og == g)
            .map(|(_, u)| *u)
    }
}

/// The longest authorization query or token request body accepted, in bytes: a bound on the
/// work an anonymous request can cause (RFC 6819 4.4.1.11, MedMij OAUTH-14).
pub const MAX_REQUEST_LEN: usize = 8192;
