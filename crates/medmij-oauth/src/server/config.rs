//! The server's own offer and options.

use super::registry::FastMap;
use crate::provisional::V2Config;
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
    /// Offered pairs no longer served for 1.x requests ("Releases, side by side").
    pub(super) no_v1: FastMap<(Zorgaanbiedernaam, ScopeGegevensdienstId), ()>,
    /// The provisional 2.x values.
    pub(super) v2: V2Config,
}

impl ServerConfig {
    /// An empty offer, single-pair scopes only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Gegevensdienst of a Zorgaanbieder to the offer.
    #[must_use]
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
    #[must_use]
    pub fn allow_multiple_pairs(mut self, allow: bool) -> Self {
        self.multiple_pairs = allow;
        self
    }

    /// Stops serving 1.x requests for an offered Gegevensdienst of a Zorgaanbieder: 2.x
    /// requests (tracing identifiers, MedMij OAUTH-21, or a Verzamelen scope without `~`,
    /// OAUTH-20) are still served ("Releases, side by side"). By default every offered pair
    /// is served in both release lines.
    #[must_use]
    pub fn without_v1(
        mut self,
        zorgaanbieder: Zorgaanbiedernaam,
        gegevensdienst: ScopeGegevensdienstId,
    ) -> Self {
        self.no_v1.insert((zorgaanbieder, gegevensdienst), ());
        self
    }

    /// Sets the provisional 2.x values (default [`V2Config::default`]).
    #[must_use]
    pub fn v2_config(mut self, v2: V2Config) -> Self {
        self.v2 = v2;
        self
    }

    /// The provisional 2.x values in force.
    pub fn v2(&self) -> &V2Config {
        &self.v2
    }

    /// True if the pair is still served for 1.x requests.
    pub(super) fn serves_v1(&self, z: &Zorgaanbiedernaam, g: &ScopeGegevensdienstId) -> bool {
        self.no_v1.is_empty() || !self.no_v1.iter().any(|((oz, og), _)| oz == z && og == g)
    }

    /// Every Gegevensdienst offered for this Zorgaanbieder with this use case, in a stable
    /// order (MedMij OAUTH-20, LISTS-13).
    pub(super) fn offered_for(
        &self,
        z: &Zorgaanbiedernaam,
        use_case: UseCase,
    ) -> Vec<ScopeGegevensdienstId> {
        let mut v: Vec<ScopeGegevensdienstId> = self
            .offer
            .iter()
            .filter(|((oz, _), u)| oz == z && **u == use_case)
            .map(|((_, g), _)| g.clone())
            .collect();
        v.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        v
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
