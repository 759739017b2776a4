//! The ZA GW role: authorization server (session steps of MedMij OAUTH-11, token endpoint)
//! and the resource server's token check.

mod authorize;
mod config;
mod person;
mod refresh_grant;
mod registry;
mod resource;
mod session;
mod token;

pub(crate) use authorize::valid_birth_date;
pub use authorize::{
    AuthorizationRequest, InvalidCause, InvalidRequest, Representation, RepresentationKind,
    RequestV2,
};
pub use config::{MAX_REQUEST_LEN, ServerConfig};
pub use person::{
    AssuranceLevel, AuthenticatedPerson, DEFAULT_MINIMUM_ASSURANCE, MINIMUM_AGE, PersonOutcome,
    PersonRefusal, dutch_date, sixteenth_birthday,
};
pub use refresh_grant::{ConsentManagement, TechnicalFailure, WithdrawalEvent};
pub use registry::{ClientRegistry, StaticClientRegistry};
pub use resource::{Interaction, ResourceAccess, ResourceError, ResourceErrorKind, parse_bearer};
pub use session::{
    Authentication, CONSENT_PAGE_HEADERS, ConsentDecision, ConsentEvent, ConsentOutcome,
    ConsentPeriod, ErrorCase, IssueError, Redirect, RedirectKind, Session, SessionError,
    SessionStage,
};
pub use token::{
    FORM_CONTENT_TYPE, TokenAnswer, TokenErrorCode, TokenEvent, TokenHttpRequest, TokenOutcome,
    TokenOutcomeV2, TokenResponse,
};

use crate::secret::{AccessToken, Code, RandomSource, ThreadRandom};
use crate::store::{StoreError, TokenStore};
use std::fmt;

/// How many times the server draws a new code or token after a collision before giving up.
/// With a CSPRNG a single collision is already practically impossible (MedMij OAUTH-6).
const MAX_DRAWS: usize = 8;

/// The ZA GW authorization server and resource-server token check. Sans-IO: every call takes
/// its input (and the time) and returns its output.
pub struct AuthorizationServer<S, C, R = ThreadRandom> {
    config: ServerConfig,
    clients: C,
    store: S,
    random: R,
}

impl<S, C, R> fmt::Debug for AuthorizationServer<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: TokenStore, C: ClientRegistry> AuthorizationServer<S, C, ThreadRandom> {
    /// A server with the default CSPRNG.
    pub fn new(config: ServerConfig, clients: C, store: S) -> Self {
        Self::with_random(config, clients, store, ThreadRandom)
    }
}

impl<S: TokenStore, C: ClientRegistry, R: RandomSource> AuthorizationServer<S, C, R> {
    /// A server with an injected random source (tests; MedMij OAUTH-6).
    pub fn with_random(config: ServerConfig, clients: C, store: S, random: R) -> Self {
        Self {
            config,
            clients,
            store,
            random,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Draws values until `insert` accepts one without collision (MedMij OAUTH-6).
    fn draw_unique<T>(
        &self,
        mut insert: impl FnMut(&T) -> Result<(), StoreError>,
    ) -> Result<T, StoreError>
    where
        T: Drawn,
    {
        for _ in 0..MAX_DRAWS {
            let v = T::draw_from(&self.random);
            match insert(&v) {
                Ok(()) => return Ok(v),
                Err(StoreError::Collision) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Collision)
    }
}

/// Values the server draws: codes and tokens.
trait Drawn: Sized {
    fn draw_from(random: &impl RandomSource) -> Self;
}

impl Drawn for Code {
    fn draw_from(random: &impl RandomSource) -> Self {
        Self::random(random)
    }
}

impl Drawn for crate::secret::RefreshToken {
    fn draw_from(random: &impl RandomSource) -> Self {
        Self::random(random)
    }
}

impl Drawn for AccessToken {
    fn draw_from(random: &impl RandomSource) -> Self {
        Self::random(random)
    }
}
