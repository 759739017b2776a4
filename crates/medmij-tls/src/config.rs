//! Builders for rustls `ServerConfig` and `ClientConfig` (MedMij TLS-1, TLS-2).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::ClientHello;
use rustls::{ClientConfig, NamedGroup, ServerConfig};

use crate::certs::{OwnCertificates, TrustAnchors};
use crate::error::{ConfigError, RefusalLog};
use crate::ocsp::{OcspCache, OcspChecker, OcspPolicy, OnCacheMiss};
use crate::profile::{Channel, KX_GROUPS, PROTOCOL_VERSIONS, crypto_provider, provider_arc};
use crate::tls_profile::{TlsProfile, check_own};
use crate::verify::{MedmijClientVerifier, MedmijServerVerifier, PeerChecks};
use crate::whitelist::Whitelist;

/// Everything a gateway needs for the back channel (gateway to gateway): mutual
/// TLS with the NCSC "good" profile, PKIoverheid (or test) trust anchors, the
/// Whitelist check and hard-fail OCSP at every handshake (MedMij TLS-1, TLS-2, TLS-3, TLS-4).
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
    /// presenting one of `own`. OCSP: the stapled answer, else the cache, which
    /// an [`crate::OcspDriver`] on [`BackChannel::ocsp_checker`] fills (MedMij
    /// TLS-3); a certificate without an answer is refused until then.
    pub fn new(anchors: TrustAnchors, whitelist: Arc<dyn Whitelist>, own: OwnCertificates) -> Self {
        Self {
            checks: PeerChecks::new(anchors, whitelist, OcspChecker::default()),
            own: Arc::new(own),
        }
    }

    /// Build every config of this back channel for `profile` (a
    /// [`TlsProfile`] or a `medmij_types::ReleaseLine`); the default is
    /// [`TlsProfile::V1`]. Under [`TlsProfile::V2`] both verifiers refuse a
    /// peer certificate naming a wildcard ([`crate::Refusal::Wildcard`]), and
    /// building a config with a wildcard own certificate is
    /// [`ConfigError::WildcardCertificate`]; pass the PKIoverheid Private
    /// Services root ("Staat der Nederlanden Private Root CA – G1") as the
    /// trust anchor (MedMij TLS-6).
    pub fn with_profile(mut self, profile: impl Into<TlsProfile>) -> Self {
        self.checks = self.checks.with_profile(profile.into());
        self
    }

    /// The profile the configs are built for.
    pub fn profile(&self) -> TlsProfile {
        self.checks.profile()
    }

    /// What the verifiers do with a certificate without any OCSP answer yet
    /// (MedMij TLS-3); [`OnCacheMiss::Provisional`] only for hosts that settle
    /// the check before serving (the `tokio` adapter sets it itself).
    #[must_use]
    pub fn on_cache_miss(self, on_miss: OnCacheMiss) -> Self {
        let c = self.checks.ocsp().clone().with_on_cache_miss(on_miss);
        self.with_ocsp(c)
    }

    /// The OCSP checker of both verifiers: hand it to [`crate::OcspDriver::new`]
    /// so that the driver fills the cache they read.
    pub fn ocsp_checker(&self) -> &OcspChecker {
        self.checks.ocsp()
    }

    /// Use these OCSP timing rules (timeout, clock skew, maximum age).
    #[must_use]
    pub fn ocsp_policy(self, policy: OcspPolicy) -> Self {
        let c = self.checks.ocsp().clone().with_policy(policy);
        self.with_ocsp(c)
    }

    /// Use this OCSP cache (e.g. one shared by several configs).
    #[must_use]
    pub fn ocsp_cache(self, cache: Arc<OcspCache>) -> Self {
        let c = self.checks.ocsp().clone().with_cache(cache);
        self.with_ocsp(c)
    }

    /// Replace the OCSP checker as a whole.
    #[must_use]
    pub fn with_ocsp(mut self, ocsp: OcspChecker) -> Self {
        self.checks = self.checks.clone().with_ocsp(ocsp);
        self
    }

    /// Hand every refused handshake to `log` (MedMij TLS-3, TLS-4).
    #[must_use]
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
    /// certificate chosen by SNI, server preference for cipher suites, no session
    /// resumption (so every handshake runs every check) (MedMij TLS-1, TLS-2,
    /// TLS-3, TLS-4).
    ///
    /// All three ECDHE groups are enabled; rustls then takes the *client's*
    /// first group among them (see the crate root, "Profiles"). Use
    /// [`BackChannel::server_configs`] to make the server's group order win.
    pub fn server_config(&self) -> Result<ServerConfig, ConfigError> {
        check_own(self.profile(), &self.own)?;
        self.warn_old_keys();
        self.server_config_with(provider_arc(Channel::Back))
    }

    /// One server config per key-exchange group, picked per ClientHello so that
    /// the server's group preference wins (MedMij TLS-1); otherwise as
    /// [`BackChannel::server_config`].
    pub fn server_configs(&self) -> Result<ServerConfigs, ConfigError> {
        check_own(self.profile(), &self.own)?;
        self.warn_old_keys();
        ServerConfigs::build(Channel::Back, |p| self.server_config_with(p))
    }

    fn server_config_with(
        &self,
        provider: Arc<CryptoProvider>,
    ) -> Result<ServerConfig, ConfigError> {
        let mut cfg = ServerConfig::builder_with_provider(provider)
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
    /// presented for mutual TLS, no session resumption (MedMij TLS-1, TLS-2, TLS-3, TLS-4).
    pub fn client_config(&self) -> Result<ClientConfig, ConfigError> {
        check_own(self.profile(), &self.own)?;
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

/// A front-channel server config (user agent to gateway): NCSC "good" only, no
/// client certificate, server preference for cipher suites (MedMij TLS-1,
/// TLS-6). For the server's group preference use
/// [`front_channel_server_configs`]; for a 2.x gateway
/// [`crate::front_channel_server_config_for`].
pub fn front_channel_server_config(own: OwnCertificates) -> Result<ServerConfig, ConfigError> {
    front_with(Arc::new(own), provider_arc(Channel::Front))
}

/// Front-channel server configs, one per key-exchange group, so that the
/// server's group preference wins (MedMij TLS-1, TLS-6). This is the 1.x
/// profile; for a 2.x gateway use [`crate::front_channel_server_configs_for`].
pub fn front_channel_server_configs(own: OwnCertificates) -> Result<ServerConfigs, ConfigError> {
    let own = Arc::new(own);
    ServerConfigs::build(Channel::Front, |p| front_with(own.clone(), p))
}

pub(crate) fn front_with(
    own: Arc<OwnCertificates>,
    provider: Arc<CryptoProvider>,
) -> Result<ServerConfig, ConfigError> {
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(PROTOCOL_VERSIONS)?
        .with_no_client_auth()
        .with_cert_resolver(own);
    cfg.ignore_client_order = true;
    Ok(cfg)
}

/// Server configs that make the server's key-exchange group preference win
/// (MedMij TLS-1): one config per group of [`KX_GROUPS`], each offering only
/// that group, and one with all groups.
///
/// rustls 0.23 takes the client's first supported group whatever
/// `ignore_client_order` says (see the crate root, "Profiles"). Read the ClientHello
/// first (rustls' `Acceptor`, tokio-rustls' `LazyConfigAcceptor`) and continue
/// with [`ServerConfigs::for_client_hello`]: the config restricted to the
/// strongest group, in server order, that the client lists. The client then
/// negotiates exactly that group (after a HelloRetryRequest if it sent no key
/// share for it).
#[derive(Clone)]
pub struct ServerConfigs {
    by_group: Vec<(NamedGroup, Arc<ServerConfig>)>,
    all: Arc<ServerConfig>,
}

impl std::fmt::Debug for ServerConfigs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfigs")
            .field(
                "groups",
                &self.by_group.iter().map(|(g, _)| *g).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ServerConfigs {
    pub(crate) fn build(
        channel: Channel,
        make: impl Fn(Arc<CryptoProvider>) -> Result<ServerConfig, ConfigError>,
    ) -> Result<Self, ConfigError> {
        let mut by_group = Vec::with_capacity(KX_GROUPS.len());
        for g in KX_GROUPS {
            let mut p = crypto_provider(channel);
            p.kx_groups = vec![*g];
            by_group.push((g.name(), Arc::new(make(Arc::new(p))?)));
        }
        let all = Arc::new(make(provider_arc(channel))?);
        Ok(Self { by_group, all })
    }

    /// The config for a client that lists `client_groups` (its
    /// `supported_groups`, `None` if it sent none): the one restricted to the
    /// first group of [`KX_GROUPS`] the client lists; without a common group the
    /// config with all groups (whose handshake then fails: no common group).
    pub fn choose(&self, client_groups: Option<&[NamedGroup]>) -> Arc<ServerConfig> {
        let client_groups = client_groups.unwrap_or_default();
        self.by_group
            .iter()
            .find(|(g, _)| client_groups.contains(g))
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| self.all.clone())
    }

    /// [`ServerConfigs::choose`] for this ClientHello.
    pub fn for_client_hello(&self, hello: &ClientHello<'_>) -> Arc<ServerConfig> {
        self.choose(hello.named_groups())
    }

    /// The config with every group (rustls then follows the client's group order).
    pub fn all_groups(&self) -> Arc<ServerConfig> {
        self.all.clone()
    }
}

#[cfg(all(test, feature = "test-pki"))]
mod tls_1 {
    use super::*;
    use crate::test_pki::{CertOptions, TestPki};

    fn group_of(c: &ServerConfig) -> Vec<NamedGroup> {
        c.crypto_provider()
            .kx_groups
            .iter()
            .map(|g| g.name())
            .collect()
    }

    #[test]
    fn server_group_order_wins_over_the_client_order() {
        // MedMij TLS-1: the strongest group the client lists, in server order.
        let pki = TestPki::new("tls_1").unwrap();
        let own = pki
            .issue(&["za.example.nl"], &CertOptions::default())
            .unwrap()
            .own_certificate()
            .unwrap();
        let cfgs = front_channel_server_configs(OwnCertificates::new(vec![own]).unwrap()).unwrap();
        use NamedGroup::{FFDHE2048, X25519, secp256r1, secp384r1};
        for (client, want) in [
            (&[X25519, secp384r1][..], vec![secp384r1]),
            (&[secp256r1, secp384r1, X25519][..], vec![secp384r1]),
            (&[FFDHE2048, secp256r1, X25519][..], vec![X25519]),
            (&[secp256r1][..], vec![secp256r1]),
        ] {
            assert_eq!(group_of(&cfgs.choose(Some(client))), want, "{client:?}");
        }
        // No common group: the config with all groups, whose handshake fails.
        assert_eq!(
            group_of(&cfgs.choose(Some(&[FFDHE2048]))),
            [secp384r1, X25519, secp256r1]
        );
        assert_eq!(group_of(&cfgs.choose(None)).len(), 3);
    }
}
