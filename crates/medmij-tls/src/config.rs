//! Builders for rustls `ServerConfig` and `ClientConfig` (MedMij TLS-1, TLS-2).

use std::sync::Arc;

use rustls::{ClientConfig, ServerConfig};

use crate::certs::{OwnCertificates, TrustAnchors};
use crate::error::{ConfigError, RefusalLog};
use crate::ocsp::{OcspCache, OcspChecker, OcspPolicy, OcspSource};
use crate::profile::{Channel, PROTOCOL_VERSIONS, provider_arc};
use crate::verify::{MedmijClientVerifier, MedmijServerVerifier, PeerChecks};
use crate::whitelist::Whitelist;

/// Everything a gateway needs for the back channel (gateway to gateway): mutual
/// TLS with the NCSC "good" profile, PKIoverheid (or test) trust anchors, the
/// Whitelist check and hard-fail OCSP at every handshake (MedMij TLS-1..4).
#[derive(Clone)]
pub struct BackChannel {
    checks: PeerChecks,
    own: Arc<OwnCertificates>,
}

impl std::fmt::Debug for BackChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackChannel")
            .field("checks", &self.checks)
            .field("own", &self.own)
            .finish()
    }
}

impl BackChannel {
    /// A back channel trusting `anchors`, asking `whitelist` at every handshake and
    /// presenting one of `own`. OCSP: stapled answers only until
    /// [`BackChannel::ocsp_source`] is set.
    pub fn new(anchors: TrustAnchors, whitelist: Arc<dyn Whitelist>, own: OwnCertificates) -> Self {
        Self {
            checks: PeerChecks::new(anchors, whitelist, OcspChecker::default()),
            own: Arc::new(own),
        }
    }

    /// Fetch OCSP answers from `source` when none is stapled (MedMij TLS-3).
    pub fn ocsp_source(self, source: Arc<dyn OcspSource>) -> Self {
        let cache = self.checks.ocsp().cache().clone();
        let policy = *self.checks.ocsp().policy();
        self.with_ocsp(
            OcspChecker::new(Some(source))
                .with_cache(cache)
                .with_policy(policy),
        )
    }

    /// Use these OCSP timing rules (timeout, clock skew, maximum age).
    pub fn ocsp_policy(self, policy: OcspPolicy) -> Self {
        let c = self.checks.ocsp().clone().with_policy(policy);
        self.with_ocsp(c)
    }

    /// Use this OCSP cache (e.g. one shared by several configs).
    pub fn ocsp_cache(self, cache: Arc<OcspCache>) -> Self {
        let c = self.checks.ocsp().clone().with_cache(cache);
        self.with_ocsp(c)
    }

    /// Replace the OCSP checker as a whole.
    pub fn with_ocsp(mut self, ocsp: OcspChecker) -> Self {
        self.checks = self.checks.clone().with_ocsp(ocsp);
        self
    }

    /// Hand every refused handshake to `log` (MedMij TLS-3, TLS-4).
    pub fn refusal_log(mut self, log: RefusalLog) -> Self {
        self.checks = self.checks.with_refusal_log(log);
        self
    }

    /// MedMij TLS-2: say so (log level `warn`) when own key material is older than
    /// a year; the full list is [`OwnCertificates::key_age_report`].
    fn warn_old_keys(&self) {
        for w in self.own.key_age_report(self.own.now()) {
            log::warn!(
                "medmij-tls: own key material for {:?} is {} days old{} (MedMij TLS-2: renew at least yearly)",
                w.dns_names,
                w.age_days,
                if w.expired {
                    "; certificate expired"
                } else {
                    ""
                }
            );
        }
    }

    /// The checks both verifiers run.
    pub fn checks(&self) -> &PeerChecks {
        &self.checks
    }

    /// The own certificates (e.g. for [`OwnCertificates::key_age_report`]).
    pub fn own_certificates(&self) -> &OwnCertificates {
        &self.own
    }

    /// A server config: client certificate mandatory and fully checked, own
    /// certificate chosen by SNI, server preference on, no session resumption (so
    /// every handshake runs every check) (MedMij TLS-1..4).
    pub fn server_config(&self) -> Result<ServerConfig, ConfigError> {
        self.warn_old_keys();
        let mut cfg = ServerConfig::builder_with_provider(provider_arc(Channel::Back))
            .with_protocol_versions(PROTOCOL_VERSIONS)?
            .with_client_cert_verifier(Arc::new(MedmijClientVerifier::new(self.checks.clone())))
            .with_cert_resolver(self.own.clone());
        cfg.ignore_client_order = true;
        // MedMij TLS-3, TLS-4 apply at *every* handshake: no session resumption,
        // which would skip the certificate, Whitelist and OCSP checks.
        cfg.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        cfg.send_tls13_tickets = 0;
        Ok(cfg)
    }

    /// A client config: the server's certificate fully checked, own certificate
    /// presented for mutual TLS, no session resumption (MedMij TLS-1..4).
    pub fn client_config(&self) -> Result<ClientConfig, ConfigError> {
        self.warn_old_keys();
        let mut cfg = ClientConfig::builder_with_provider(provider_arc(Channel::Back))
            .with_protocol_versions(PROTOCOL_VERSIONS)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(MedmijServerVerifier::new(
                self.checks.clone(),
            )))
            .with_client_cert_resolver(self.own.clone());
        // MedMij TLS-3, TLS-4: every handshake is a full one (no resumption).
        cfg.resumption = rustls::client::Resumption::disabled();
        Ok(cfg)
    }
}

/// A front-channel server config (user agent to gateway): NCSC "good" or
/// "sufficient", no client certificate, server preference on (MedMij TLS-1).
pub fn front_channel_server_config(own: OwnCertificates) -> Result<ServerConfig, ConfigError> {
    let mut cfg = ServerConfig::builder_with_provider(provider_arc(Channel::Front))
        .with_protocol_versions(PROTOCOL_VERSIONS)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(own));
    cfg.ignore_client_order = true;
    Ok(cfg)
}
