//! NCSC-profiled rustls configurations for MedMij gateways: mutual TLS with
//! PKIoverheid certificates, the Whitelist check and hard-fail OCSP at every
//! handshake, the re-check before each request on a kept-open connection, and
//! (feature `tokio`) an acceptor and a connector on tokio-rustls.
//!
//! A back-channel server and client on loopback with the tokio adapter (the
//! test PKI stands in for PKIoverheid):
//!
//! ```
//! # #[cfg(all(feature = "test-pki", feature = "tokio"))]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime};
//! use medmij_tls::{CertOptions, OcspResponder, TestPki};
//! use medmij_tls::{
//!     AdapterSettings, MedmijAcceptor, MedmijConnector, ReqwestOcspFetcher, run_ocsp_driver,
//! };
//! use medmij_tls::{BackChannel, OcspDriver, OwnCertificates, SharedWhitelist};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let pki = Arc::new(TestPki::new("Voorbeeld")?);
//! let responder = OcspResponder::start(pki.clone())?; // the CA's OCSP responder
//! let opts = CertOptions::with_ocsp(responder.url());
//! // MedMij TLS-4: the current Whitelist (in production: from medmij-lists).
//! let whitelist = Arc::new(SharedWhitelist::with_hostnames(["za.example.nl", "pgo.example.nl"]));
//! let node = |name: &str| -> Result<BackChannel, Box<dyn std::error::Error>> {
//!     let own = pki.issue(&[name], &opts)?.own_certificate()?;
//!     Ok(BackChannel::new(pki.trust_anchors()?, whitelist.clone(), OwnCertificates::new(vec![own])?))
//! };
//! let (za, pgo) = (node("za.example.nl")?, node("pgo.example.nl")?);
//!
//! tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//!     // MedMij TLS-3: each node's OCSP driver prefetches, refreshes and staples;
//!     // the verifiers only read its cache.
//!     let fetcher = Arc::new(ReqwestOcspFetcher::new()?);
//!     let za_ocsp = Arc::new(OcspDriver::new(za.ocsp_checker()));
//!     za_ocsp.watch_own(&za.own_certificates().certificates()[0])?;
//!     tokio::spawn(run_ocsp_driver(za_ocsp.clone(), fetcher.clone(), Duration::from_secs(1)));
//!     let pgo_ocsp = Arc::new(OcspDriver::new(pgo.ocsp_checker()));
//!
//!     let acceptor = MedmijAcceptor::new(&za, za_ocsp, fetcher.clone(), AdapterSettings::default())?;
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let mut incoming = acceptor.incoming(listener);
//!     tokio::spawn(async move {
//!         // Hand these to hyper/axum: the stream, who the peer is, where from.
//!         while let Some(conn) = incoming.next().await {
//!             let (mut stream, peer) = (conn.stream, conn.peer);
//!             assert_eq!(peer.dns_names(), ["pgo.example.nl"]);
//!             let mut buf = [0u8; 4];
//!             // MedMij TLS-4: before each request on a kept-open connection.
//!             while stream.read_exact(&mut buf).await.is_ok() {
//!                 if acceptor.recheck(&peer, SystemTime::now()).is_err() {
//!                     break; // refused and logged
//!                 }
//!                 let _ = stream.write_all(b"pong").await;
//!             }
//!         }
//!     });
//!
//!     let connector = MedmijConnector::new(&pgo, pgo_ocsp, fetcher, AdapterSettings::default())?;
//!     let tcp = tokio::net::TcpStream::connect(addr).await?;
//!     let (mut tls, server) = connector.connect("za.example.nl", tcp).await?;
//!     assert_eq!(server.dns_names(), ["za.example.nl"]);
//!     tls.write_all(b"ping").await?;
//!     let mut answer = [0u8; 4];
//!     tls.read_exact(&mut answer).await?;
//!     assert_eq!(&answer, b"pong");
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })
//! # }
//! # #[cfg(not(all(feature = "test-pki", feature = "tokio")))]
//! # fn main() {}
//! ```
//!
//! Without tokio, [`BackChannel::server_configs`] and
//! [`BackChannel::client_config`] give plain rustls configs, and
//! [`OcspDriver::refresh_blocking`] fills the OCSP cache on a thread of the
//! host's choosing (see `examples/loopback_mtls.rs`).
//!
//! # Rules and where they are implemented
//!
//! | rule | what | where |
//! |---|---|---|
//! | TLS-1 | TLS 1.3 and 1.2 only; NCSC "good" suites and groups; the server's choice of suite *and* key-exchange group, whatever the client's order | [Profiles](#profiles), [`ServerConfigs`] (one config per group, chosen per ClientHello; used by the tokio acceptor) |
//! | TLS-2 | mutual TLS with PKIoverheid certificates; several at once (rollover); key material renewed yearly | [`BackChannel`], [`MedmijClientVerifier`], [`OwnCertificates`], [`OwnCertificates::key_age_report`] |
//! | TLS-3 | chain, validity and OCSP (RFC 6960) at every handshake, hard fail | [`PeerChecks`], [`OcspCache`], [`OcspDriver`], [`OnCacheMiss`]; first contacts settled by the tokio adapter |
//! | TLS-4 | the peer's DNS name on the current Whitelist at every handshake, and before each request on a kept-open connection | [`Whitelist`], [`PeerIdentity::recheck`], [`PeerChecks::recheck`] |
//! | TLS-5 | stored data encrypted at rest | the host's duty: this crate stores nothing |
//! | TLS-6 | (2.x) both channels "good" only: no DHE; TLS 1.2 mandatory, 1.3 where possible; back-channel certificates PKIoverheid Private Services (G1); never wildcard certificates | [`TlsProfile`] per gateway: [`BackChannel::with_profile`], [`front_channel_server_configs_for`], [`front_channel_server_config_for`] (and `FrontAcceptor::with_profile`, feature `tokio`); [`Refusal::Wildcard`] at the handshake (both directions), [`ConfigError::WildcardCertificate`] and, on the front channel, [`ConfigError::NotOrganizationValidated`] (Organization Validated only) at config build; the host passes the G1 root as [`TrustAnchors`] (`TestPki::new_g1` in tests); [Profiles](#profiles) (the front channel gets the back channel's set) |
//!
//! # What every back-channel handshake checks
//!
//! In this order, in both directions (a server checks the client, a client checks
//! the server), refusing at the first failure with the fitting TLS alert and a typed
//! [`Refusal`] handed to the [`RefusalLog`]:
//!
//! 1. chain to the configured [`TrustAnchors`], validity period, key usage and
//!    extended key usage (serverAuth for servers, clientAuth for clients), with
//!    rustls-webpki (MedMij TLS-3);
//! 2. the peer's DNS name (the name we connected to, or the client certificate's
//!    dNSNames) against the Whitelist in force at the verification time, through
//!    [`Whitelist`]; "not listed" and "cannot be determined" both refuse (MedMij
//!    TLS-4);
//! 3. revocation with OCSP (RFC 6960): the stapled answer if the server sent one,
//!    else the [`OcspCache`]. The verifier never fetches, never blocks and never
//!    starts a thread: the host-driven [`OcspDriver`] fills the cache (prefetch
//!    of own certificates, refresh at half an answer's validity, first contacts).
//!    A certificate without an answer is refused ([`OnCacheMiss::Refuse`], the
//!    default) or, with [`OnCacheMiss::Provisional`] (the tokio adapter), passes
//!    provisionally; the adapter then fetches the answer asynchronously within
//!    a deadline and closes the connection unless it is "good". Answers are
//!    checked for signature (issuer, or a delegated responder issued by the
//!    issuer with id-kp-OCSPSigning), CertID (issuer hashes and serial), status
//!    and freshness; any failure, timeout or stale answer refuses (MedMij TLS-3,
//!    hard fail).
//!
//! Every refusal is logged at level `warn` through the `log` crate and handed to
//! the optional [`RefusalLog`] as a [`RefusalEvent`]. Back-channel configs turn
//! session resumption off, so that these checks run at *every* handshake
//! (MedMij TLS-3, TLS-4), not only the first of a session.
//!
//! Details of the OCSP check: requests carry a SHA-1 CertID (what RFC 6960
//! responders, OpenSSL's included, expect; it identifies, it does not sign) and no
//! nonce (answers are cached, RFC 5019 style); answers with a SHA-1 signature are
//! refused (MedMij TLS-1); the CertID in the answer may use SHA-1 or SHA-256. The
//! Whitelist check of a client uses the dNSNames of its certificate (wildcard
//! names are never looked up); of a server, the name the client connected to.
//!
//! # Profiles
//!
//! NCSC-profiled protocol versions, cipher suites, key-exchange groups and
//! signature schemes (MedMij TLS-1).
//!
//! The crypto provider is rustls' `aws-lc-rs` provider (rustls' own default),
//! restricted to the sets below. It replaced `ring`'s because the profile puts
//! secp384r1 and P-384 certificates first, and `ring` does P-384 with generic
//! Montgomery arithmetic: `aws-lc-rs` signs about 3.8x, verifies about 2.9x and
//! agrees keys about 2.3x faster on P-384 (BENCHMARKS.md). It builds its C part
//! with the C compiler alone (no CMake). OCSP signatures are checked with the
//! same provider's algorithms ([`profile::signature_algorithms`]).
//!
//! Both channels offer the same NCSC "good" set (MedMij TLS-1 for the back
//! channel, TLS-6 for both channels in 2.x; "good" also satisfies the front
//! channel's 1.x "good or sufficient"):
//!
//! | what | back and front channel (NCSC "good") |
//! |---|---|
//! | versions | TLS 1.3, TLS 1.2 |
//! | key exchange | ECDHE only, in server preference order: secp384r1, X25519, secp256r1 |
//! | bulk cipher | AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM |
//! | TLS 1.2 suites | ECDHE-ECDSA and ECDHE-RSA with those ciphers |
//! | signatures | ECDSA, RSA-PSS, RSA-PKCS#1 v1.5 and Ed25519 with SHA-2 only |
//!
//! No finite-field DHE (ffdhe groups, DHE-RSA suites), no CBC, no RSA key
//! transport, no SHA-1, nothing below TLS 1.2 (MedMij TLS-6). A client that
//! offers only ffdhe groups cannot connect.
//!
//! These sets are those of both release lines; what the 2.x profile adds (no
//! wildcard certificates, Organization Validated front-channel certificates,
//! PKIoverheid Private Services on the back channel) is chosen per gateway
//! with [`TlsProfile`] (MedMij TLS-6).
//!
//! ## Who picks the key-exchange group
//!
//! rustls 0.23 (`server/hs.rs`, `choose_suite_and_kx_group`) honours
//! `ignore_client_order` for cipher suites only: it takes the group as the
//! *first group in the client's `supported_groups` list* that the server also
//! supports. A `ServerConfig` with all three groups therefore lets a client that
//! lists X25519 first get X25519. To make the server's order win (MedMij TLS-1),
//! [`crate::ServerConfigs`] holds one config per group and picks, from the
//! ClientHello (rustls' `Acceptor` / tokio-rustls' `LazyConfigAcceptor`), the
//! config restricted to the strongest group the client supports; a client that
//! sent no key share for that group gets a HelloRetryRequest (one extra round
//! trip). The tokio adapter does this for every connection.
//!
//! # Release lines: the 1.x and 2.x profiles
//!
//! Each gateway's configurations are built for one [`TlsProfile`], chosen
//! from its release line (`medmij_types::ReleaseLine` converts into it):
//! [`BackChannel::with_profile`] for the back channel (server and client
//! configs, both verifiers, the tokio acceptor and connector built from it),
//! [`front_channel_server_configs_for`] or `FrontAcceptor::with_profile` (feature `tokio`)
//! for the front channel. Without a choice it is [`TlsProfile::V1`], the
//! behaviour of 1.x. [`TlsProfile::V2`] adds the certificate rules of MedMij
//! TLS-6: a peer certificate naming a wildcard (a dNSName or the subject
//! commonName holding `*`) is refused at the handshake as
//! [`Refusal::Wildcard`] (alert `access_denied`), an own certificate naming
//! one makes the config build fail with [`ConfigError::WildcardCertificate`]
//! (both name [`medmij_types::RuleId::Tls6`] through their `rule()`), and the
//! back channel's [`TrustAnchors`] are those of PKIoverheid Private Services:
//! a real deployment passes the real "Staat der Nederlanden Private Root CA –
//! G1" certificate; tests use the G1-shaped `TestPki::new_g1`. The
//! profile is a value of each configuration, so a 1.x and a 2.x gateway run
//! side by side in one process. The cryptographic sets are the same under
//! both profiles (1.x already offers NCSC "good" only; rustls offers no TLS
//! False Start).
//!
//! # Settings and their defaults
//!
//! | setting | default |
//! |---|---|
//! | [`OcspPolicy::timeout`] (one OCSP fetch) | 5 s |
//! | [`OcspPolicy::clock_skew`] | 300 s |
//! | [`OcspPolicy::max_age_without_next_update`] | 600 s |
//! | [`DriverSettings::refresh_fraction`] (refresh after this part of the validity) | 0.5 |
//! | [`DriverSettings::retry_interval`] (after a failed fetch) | 30 s |
//! | [`DriverSettings::min_interval`] | 60 s |
//! | [`DriverSettings::max_watched`] | 10 000 |
//! | [`OnCacheMiss`] | `Refuse` (the tokio adapter: `Provisional`) |
//! | `AdapterSettings::handshake_timeout` | 10 s |
//! | `AdapterSettings::ocsp_deadline` (first contact) | 5 s |
//! | `AdapterSettings::max_handshakes_per_source` | 16 |
//! | `AdapterSettings::max_handshakes` (all sources) | 1024 |
//!
//! # Own certificates
//!
//! [`OwnCertificates`] holds several certificates at once for rollover (MedMij
//! TLS-2), picks one by SNI (else the newest valid one), and
//! [`OwnCertificates::key_age_report`] lists key material older than one year
//! (building a [`BackChannel`] config also logs it as a warning). An
//! [`OcspDriver`] watching an own certificate ([`OcspDriver::watch_own`]) keeps
//! its stapled OCSP answer fresh.
//!
//! # Whitelist at run time
//!
//! The [`Whitelist`] is asked at every handshake and at every re-check, with the
//! time it answers for (the crate has no clock), so a new list version takes
//! effect on the next handshake or request without rebuilding configs, and a
//! list too old can answer "undetermined" (MedMij LISTS-8). [`SharedWhitelist`]
//! is a ready-made swappable set; any `Fn(&str, SystemTime) -> WhitelistAnswer`
//! works as well (e.g. a closure over the application's list store).
//!
//! # The tokio adapter
//!
//! tokio adapter (feature `tokio`): an acceptor and a connector on tokio-rustls
//! with the medmij-tls configurations, asynchronous OCSP, handshake deadlines
//! and per-source limits (MedMij TLS-1, TLS-2, TLS-3, TLS-4).
//!
//! * `MedmijAcceptor` reads the ClientHello first and continues with the
//!   config of the server's strongest key-exchange group
//!   (`crate::ServerConfigs`, MedMij TLS-1); the handshake must finish within
//!   `AdapterSettings::handshake_timeout`; at most
//!   `AdapterSettings::max_handshakes_per_source` connections per source
//!   address, and `AdapterSettings::max_handshakes` in all, may be between
//!   TCP accept and the end of their checks; more are closed at once.
//! * The verifiers run with `OnCacheMiss::Provisional`: a peer certificate
//!   with no OCSP answer yet lets the handshake finish *provisionally*; before
//!   the connection is handed out, the adapter fetches the answer
//!   asynchronously within `AdapterSettings::ocsp_deadline` and closes the
//!   connection with a logged `Refusal` unless it is "good" (MedMij TLS-3,
//!   hard fail): no request is ever read on an unchecked certificate. No tokio
//!   worker blocks on OCSP, and no thread is started.
//! * Each connection comes with its `PeerIdentity`; before each request on a
//!   kept-open connection the HTTP layer calls `MedmijAcceptor::recheck`
//!   (or `MedmijConnector::recheck`) (MedMij TLS-4).
//! * `FrontAcceptor` does the same for the front channel (no client
//!   certificate): group preference, deadline and limits.
//! * `run_ocsp_driver` keeps the `OcspDriver` going (prefetch, refresh
//!   ahead of nextUpdate, stapling) with `ReqwestOcspFetcher`.
//!
//! # Features
//!
//! * `tokio`: the tokio adapter (`MedmijAcceptor`, `FrontAcceptor`,
//!   `MedmijConnector`, `run_ocsp_driver` and `ReqwestOcspFetcher`, an OCSP fetcher
//!   on reqwest); see "The tokio adapter" above.
//! * `blocking`: `BlockingOcspFetcher`, an OCSP fetcher on `reqwest::blocking`
//!   for hosts that run [`OcspDriver::refresh_blocking`] on a thread of their own.
//! * `test-pki`: `TestPki`, a PKIoverheid-shaped test PKI, and `OcspResponder`,
//!   a small OCSP responder for it (for tests and examples); `TestPki::new_g1` builds a
//!   G1-shaped Private Services hierarchy for the 2.x profile.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(clippy::use_self, unused_qualifications)]

#[cfg(feature = "blocking")]
mod blocking;
mod certs;
mod config;
mod driver;
mod error;
mod identity;
mod ocsp;
mod profile;
#[cfg(feature = "test-pki")]
mod test_pki;
mod tls_profile;
#[cfg(feature = "tokio")]
mod tokio_adapter;
mod verify;
mod whitelist;

#[cfg(feature = "blocking")]
pub use blocking::BlockingOcspFetcher;
pub use certs::{
    KeyAgeWarning, MAX_KEY_AGE, OwnCertificate, OwnCertificates, TrustAnchors, certs_from_pem,
    dns_names, key_from_pem,
};
pub use config::{
    BackChannel, ServerConfigs, front_channel_server_config, front_channel_server_configs,
};
pub use driver::{DriverSettings, OcspDriver, OcspJob};
pub use error::{
    CertificateProblem, ConfigError, OcspFailure, PeerRole, Refusal, RefusalEvent, RefusalLog,
};
pub use identity::PeerIdentity;
pub use ocsp::{
    CachedStatus, CertKey, ID_AD_OCSP, ID_KP_OCSP_SIGNING, ID_PKIX_OCSP_BASIC, OcspCache,
    OcspChecker, OcspPolicy, OcspQuery, OcspSource, OcspSourceError, OnCacheMiss, cert_key,
};
pub use profile::{
    BACK_CHANNEL_CIPHER_SUITES, Channel, KX_GROUPS, PROTOCOL_VERSIONS, SIGNATURE_SCHEMES,
    crypto_provider, signature_algorithms,
};
#[cfg(feature = "test-pki")]
pub use test_pki::{
    CertOptions, IssuedCert, OcspResponder, OcspSigner, ResponderMode, TEST_OIN, TEST_ORGANIZATION,
    TestPki, TestPkiError, TestStatus,
};
pub use tls_profile::{
    TlsProfile, front_channel_server_config_for, front_channel_server_configs_for,
};
#[cfg(feature = "tokio")]
pub use tokio_adapter::{
    AdapterError, AdapterSettings, AsyncOcspSource, BoxFuture, Established, FrontAcceptor,
    FrontIncoming, HandshakePermit, Incoming, MedmijAcceptor, MedmijConnector, ReqwestOcspFetcher,
    run_ocsp_driver,
};
pub use verify::{MedmijClientVerifier, MedmijServerVerifier, PeerChecks};
pub use whitelist::{SharedWhitelist, Whitelist, WhitelistAnswer};
