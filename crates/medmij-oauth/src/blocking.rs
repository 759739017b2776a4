//! The tokio adapter (feature `tokio`): the sans-IO core and its synchronous stores called
//! from async code.
//!
//! The stores are synchronous: [`PgStore`](crate::PgStore) uses the blocking `postgres`
//! client, which runs its own small runtime and panics ("Cannot start a runtime from within a
//! runtime") when called on a tokio worker thread, and any store may block on a lock or the
//! network. [`AsyncAuthorizationServer`] runs every call that touches a store or the OCL on
//! `tokio::task::spawn_blocking`, so none of that ever happens on a runtime worker; use
//! [`run_blocking`] for anything else synchronous (a [`PendingFlows`](crate::PendingFlows) on
//! a database, for instance).

use crate::secret::{RandomSource, ThreadRandom};
use crate::server::{
    AuthorizationServer, ClientRegistry, Interaction, InvalidRequest, IssueError, Redirect,
    ResourceAccess, ResourceError, Session, TokenOutcome,
};
use crate::store::TokenStore;
use crate::{ClientId, ScopeGegevensdienstId, Zorgaanbiedernaam};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// A blocking task did not complete: it panicked (a bug) or the runtime is shutting down.
/// Answer HTTP 503 ([`HttpResponse`](crate::HttpResponse) does), never 500 (MedMij OAUTH-12).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the blocking task did not complete: {0}")]
pub struct TaskFailed(String);

/// Runs `f` on tokio's blocking thread pool and waits for it without blocking the runtime.
/// Must be called within a tokio runtime.
pub async fn run_blocking<T, F>(f: F) -> Result<T, TaskFailed>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TaskFailed(e.to_string()))
}

/// An [`AuthorizationServer`] for async code: each call runs the synchronous core on
/// `spawn_blocking` (see the module notes). Cheap to clone (one `Arc`). The [`Session`] steps
/// between `authorize` and `issue_code` touch no store: call them directly.
pub struct AsyncAuthorizationServer<S, C, R = ThreadRandom> {
    inner: Arc<AuthorizationServer<S, C, R>>,
}

impl<S, C, R> Clone for AsyncAuthorizationServer<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, C, R> fmt::Debug for AsyncAuthorizationServer<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AsyncAuthorizationServer")
            .field(&self.inner)
            .finish()
    }
}

impl<S, C, R> From<AuthorizationServer<S, C, R>> for AsyncAuthorizationServer<S, C, R> {
    fn from(server: AuthorizationServer<S, C, R>) -> Self {
        Self {
            inner: Arc::new(server),
        }
    }
}

impl<S, C, R> AsyncAuthorizationServer<S, C, R>
where
    S: TokenStore + Send + Sync + 'static,
    C: ClientRegistry + Send + Sync + 'static,
    R: RandomSource + Send + Sync + 'static,
{
    /// Wraps a server.
    pub fn new(server: AuthorizationServer<S, C, R>) -> Self {
        server.into()
    }

    /// Wraps a shared server.
    pub fn from_arc(server: Arc<AuthorizationServer<S, C, R>>) -> Self {
        Self { inner: server }
    }

    /// The synchronous server (for calls that touch no store, or inside [`run_blocking`]).
    pub fn inner(&self) -> &Arc<AuthorizationServer<S, C, R>> {
        &self.inner
    }

    /// [`AuthorizationServer::authorize`] off the runtime (the OCL lookup may block).
    pub async fn authorize(
        &self,
        query: String,
    ) -> Result<Result<Session, InvalidRequest>, TaskFailed> {
        let s = Arc::clone(&self.inner);
        run_blocking(move || s.authorize(&query)).await
    }

    /// [`AuthorizationServer::issue_code`] off the runtime; the session is handed back with the
    /// result (it is finished after a code is issued).
    pub async fn issue_code(
        &self,
        mut session: Session,
        now: SystemTime,
    ) -> Result<(Session, Result<Redirect, IssueError>), TaskFailed> {
        let s = Arc::clone(&self.inner);
        run_blocking(move || {
            let r = s.issue_code(&mut session, now);
            (session, r)
        })
        .await
    }

    /// [`AuthorizationServer::token`] off the runtime.
    pub async fn token(
        &self,
        content_type: Option<String>,
        body: String,
        client: ClientId,
        now: SystemTime,
    ) -> Result<TokenOutcome, TaskFailed> {
        let s = Arc::clone(&self.inner);
        run_blocking(move || s.token(content_type.as_deref(), &body, &client, now)).await
    }

    /// [`AuthorizationServer::check_resource`] off the runtime.
    pub async fn check_resource(
        &self,
        authorization: Option<String>,
        zorgaanbieder: Zorgaanbiedernaam,
        gegevensdienst: ScopeGegevensdienstId,
        interaction: Interaction,
        now: SystemTime,
    ) -> Result<Result<ResourceAccess, ResourceError>, TaskFailed> {
        let s = Arc::clone(&self.inner);
        run_blocking(move || {
            s.check_resource(
                authorization.as_deref(),
                &zorgaanbieder,
                &gegevensdienst,
                interaction,
                now,
            )
        })
        .await
    }

    /// Any other synchronous use of the server (for example [`AuthorizationServer::store`]'s
    /// sweep) off the runtime.
    pub async fn run<T, F>(&self, f: F) -> Result<T, TaskFailed>
    where
        F: FnOnce(&AuthorizationServer<S, C, R>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let s = Arc::clone(&self.inner);
        run_blocking(move || f(&s)).await
    }
}
