//! Every limit of the demo network in one place (bounded resource use, RFC 6819
//! 4.4.1.11 and 4.4.1.12 via MedMij OAUTH-14: no anonymous client can exhaust a
//! shared limit so that persons are turned away; limits are per source and per
//! client, and every limit has a figure). The constants are the defaults;
//! [`Limits`] carries them into a network (see `Network::start_with`).

use std::time::Duration;

/// How long a flow may wait for the person's next step (at the DigiD stand-in or on
/// the consent screen) before the ZA GW gives up on it (medmij-oauth's
/// `FlowLimits::ttl`, counted from the flow's last step). The rulebook sets no figure;
/// the demo uses the 900 s of an authorization code (MedMij OAUTH-7). A decision
/// posted later ends the flow as "cannot be established" (OAUTH-12 case 5).
pub const FLOW_TIMEOUT: Duration = Duration::from_secs(900);

/// Flows waiting for a person at the ZA GW, all sources and clients together
/// (default 100,000). Beyond it new authorization requests get a "try again later"
/// page (HTTP 503).
pub const MAX_PENDING_FLOWS: usize = 100_000;

/// Flows waiting for a person at the ZA GW that one source address may have open
/// (default 50: a household behind one address starts a handful). Beyond it that
/// source gets HTTP 429; everybody else is served.
pub const MAX_PENDING_PER_SOURCE: usize = 50;

/// Flows waiting for a person at the ZA GW for one `client_id` (default 20,000,
/// a fifth of [`MAX_PENDING_FLOWS`]): one PGO whose users (or an attacker using
/// its name) leave many flows open cannot take the table from the other PGOs.
pub const MAX_PENDING_PER_CLIENT: usize = 20_000;

/// Connections one server handles at once (default 1,024); more wait in the
/// kernel's backlog.
pub const MAX_CONNECTIONS: usize = 1024;

/// Connections one source address may hold open at one server (default 256, so
/// that idle connections from one source cannot take the connection slots before
/// any handshake). Beyond it the connection is closed at once.
pub const MAX_CONNECTIONS_PER_SOURCE: usize = 256;

/// Connections one source address may have between TCP accept and the end of
/// their TLS handshake and certificate checks at one server (default 16, the
/// figure of medmij-tls's `AdapterSettings::max_handshakes_per_source`): a
/// source that opens connections and stalls their handshakes holds at most
/// this many of the handshake places. Beyond it the connection is closed at
/// once and the refusal logged.
pub const MAX_HANDSHAKES_PER_SOURCE: usize = 16;

/// How long the back channel waits for the OCSP answer about a peer
/// certificate seen for the first time, after its handshake and before its
/// first request (default 5 s, medmij-tls's `AdapterSettings::ocsp_deadline`).
/// No answer in time refuses the peer (MedMij TLS-3, hard fail).
pub const OCSP_FIRST_CONTACT_DEADLINE: Duration = Duration::from_secs(5);

/// How often the OCSP driver task looks for due work at the latest (default
/// 1 s): refreshes of cached answers are planned ahead of their nextUpdate;
/// this bounds how late a newly watched certificate is picked up.
pub const OCSP_DRIVER_POLL: Duration = Duration::from_secs(1);

/// How long a peer may take for its TLS handshake, or for a request head
/// (default 10 s).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Steps the step trace keeps (default 10,000): a ring buffer, the oldest step
/// goes first.
pub const MAX_TRACE_STEPS: usize = 10_000;

/// Requests the ZA GW keeps, as text, for checking that no person identifier
/// travels between the gateways (MedMij OAUTH-16; see `Network::za_received_requests`)
/// (default 256): a ring buffer, the oldest goes first.
pub const MAX_RECEIVED_REQUESTS: usize = 256;

/// Authorizations the PGO GW keeps waiting for one browser session (default 8,
/// a few tabs): a newer one pushes out the session's oldest.
pub const MAX_PGO_PENDING_PER_SESSION: usize = 8;

/// Authorizations the PGO GW keeps waiting for the browsers of one source
/// address (default 50, as [`MAX_PENDING_PER_SOURCE`]); beyond it that source's
/// `/start` and `/share` answer HTTP 429, so that one source cannot fill
/// [`MAX_PGO_PENDING`].
pub const MAX_PGO_PENDING_PER_SOURCE: usize = 50;

/// Authorizations the PGO GW keeps waiting for all sessions together (default
/// 10,000); beyond it `/start` and `/share` answer "try again later" (HTTP 503).
/// The same figure bounds the finished outcomes it keeps for the scripted browser.
pub const MAX_PGO_PENDING: usize = 10_000;

/// The window in which anonymous refusals from one source address are counted
/// (default 60 s): the first refusal of a window is logged as its own NEN 7513
/// entry at once, the rest of the window as one counting entry when it closes
/// (MedMij LOG-1 without one fsync'ed entry per failure).
pub const ANONYMOUS_LOG_WINDOW: Duration = Duration::from_secs(60);

/// Source addresses the anonymous-refusal counter tracks at once (default
/// 10,000); further sources share one counter ("other sources").
pub const ANONYMOUS_LOG_SOURCES: usize = 10_000;

/// NEN 7513 log entries waiting for a gateway's log writer (default 1,024,
/// medmij-log's `ASYNC_QUEUE_DEFAULT`): beyond it an append waits for the disk
/// (back-pressure) instead of growing memory; what is queued is committed in
/// groups (one fdatasync each).
pub const AUDIT_LOG_QUEUE: usize = 1024;

/// The limits of one demo network. `Limits::default()` holds the constants of
/// this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_PENDING_FLOWS`].
    pub max_pending_flows: usize,
    /// See [`MAX_PENDING_PER_SOURCE`].
    pub max_pending_per_source: usize,
    /// See [`MAX_PENDING_PER_CLIENT`].
    pub max_pending_per_client: usize,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`MAX_CONNECTIONS_PER_SOURCE`].
    pub max_connections_per_source: usize,
    /// See [`MAX_HANDSHAKES_PER_SOURCE`].
    pub max_handshakes_per_source: usize,
    /// See [`OCSP_FIRST_CONTACT_DEADLINE`].
    pub ocsp_first_contact_deadline: Duration,
    /// See [`HANDSHAKE_TIMEOUT`].
    pub handshake_timeout: Duration,
    /// See [`MAX_TRACE_STEPS`].
    pub max_trace_steps: usize,
    /// See [`MAX_PGO_PENDING_PER_SESSION`].
    pub max_pgo_pending_per_session: usize,
    /// See [`MAX_PGO_PENDING_PER_SOURCE`].
    pub max_pgo_pending_per_source: usize,
    /// See [`MAX_PGO_PENDING`].
    pub max_pgo_pending: usize,
    /// See [`ANONYMOUS_LOG_WINDOW`].
    pub anonymous_log_window: Duration,
    /// See [`ANONYMOUS_LOG_SOURCES`].
    pub anonymous_log_sources: usize,
    /// See [`AUDIT_LOG_QUEUE`].
    pub audit_log_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pending_flows: MAX_PENDING_FLOWS,
            max_pending_per_source: MAX_PENDING_PER_SOURCE,
            max_pending_per_client: MAX_PENDING_PER_CLIENT,
            max_connections: MAX_CONNECTIONS,
            max_connections_per_source: MAX_CONNECTIONS_PER_SOURCE,
            max_handshakes_per_source: MAX_HANDSHAKES_PER_SOURCE,
            ocsp_first_contact_deadline: OCSP_FIRST_CONTACT_DEADLINE,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            max_trace_steps: MAX_TRACE_STEPS,
            max_pgo_pending_per_session: MAX_PGO_PENDING_PER_SESSION,
            max_pgo_pending_per_source: MAX_PGO_PENDING_PER_SOURCE,
            max_pgo_pending: MAX_PGO_PENDING,
            anonymous_log_window: ANONYMOUS_LOG_WINDOW,
            anonymous_log_sources: ANONYMOUS_LOG_SOURCES,
            audit_log_queue: AUDIT_LOG_QUEUE,
        }
    }
}
