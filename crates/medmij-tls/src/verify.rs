//! Certificate verifiers for both directions (MedMij TLS-3, TLS-4): chain, validity,
//! key usage and extended key usage (rustls-webpki), then the Whitelist check of the
//! peer's DNS name, then OCSP, in that order. Every failure refuses the handshake
//! with the fitting alert and is handed to the [`RefusalLog`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use der::Decode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::certs::{TrustAnchors, dns_names_of};
use crate::error::{CertificateProblem, PeerRole, Refusal, RefusalEvent, RefusalLog};
use crate::identity::PeerIdentity;
use crate::ocsp::{OcspChecker, OcspTarget};
use crate::tls_profile::{TlsProfile, wildcard_in};
use crate::whitelist::{Whitelist, WhitelistAnswer};

/// The checks shared by both verifiers.
#[derive(Clone)]
pub struct PeerChecks {
    anchors: TrustAnchors,
    whitelist: Arc<dyn Whitelist>,
    ocsp: OcspChecker,
    log: Option<RefusalLog>,
    algs: WebPkiSupportedAlgorithms,
    profile: TlsProfile,
}

impl fmt::Debug for PeerChecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerChecks")
            .field("anchors", &self.anchors)
            .field("ocsp", &self.ocsp)
            .field("log", &self.log.is_some())
            .field("profile", &self.profile)
            .finish()
    }
}

impl PeerChecks {
    /// Checks against `anchors`, the current Whitelist and OCSP.
    pub fn new(anchors: TrustAnchors, whitelist: Arc<dyn Whitelist>, ocsp: OcspChecker) -> Self {
        Self {
            anchors,
            whitelist,
            ocsp,
            log: None,
            algs: crate::profile::signature_algorithms(),
            profile: TlsProfile::V1,
        }
    }

    /// Run the checks of `profile` ([`TlsProfile::V1`] unless said
    /// otherwise); under [`TlsProfile::V2`] a peer certificate naming a
    /// wildcard is refused (MedMij TLS-6).
    pub fn with_profile(mut self, profile: TlsProfile) -> Self {
        self.profile = profile;
        self
    }

    /// The profile whose checks run.
    pub fn profile(&self) -> TlsProfile {
        self.profile
    }

    /// Use this OCSP checker.
    #[must_use]
    pub fn with_ocsp(mut self, ocsp: OcspChecker) -> Self {
        self.ocsp = ocsp;
        self
    }

    /// Hand every refusal to `log` (each refusal is also logged at level `warn`
    /// through the `log` crate).
    #[must_use]
    pub fn with_refusal_log(mut self, log: RefusalLog) -> Self {
        self.log = Some(log);
        self
    }

    /// The OCSP checker (e.g. to share or inspect its cache).
    pub fn ocsp(&self) -> &OcspChecker {
        &self.ocsp
    }

    /// The Whitelist the checks ask.
    pub fn whitelist(&self) -> &Arc<dyn Whitelist> {
        &self.whitelist
    }

    /// Log a refusal (level `warn`) and hand it to the [`RefusalLog`]; the event.
    pub fn report(
        &self,
        peer: PeerRole,
        peer_names: Vec<String>,
        refusal: Refusal,
    ) -> RefusalEvent {
        let ev = RefusalEvent {
            peer,
            peer_names,
            refusal,
        };
        // MedMij TLS-3, TLS-4: every refusal is logged with its reason.
        log::warn!(
            "medmij-tls: refused {:?} certificate {:?}: {}",
            ev.peer,
            ev.peer_names,
            ev.refusal
        );
        if let Some(log) = &self.log {
            log(&ev);
        }
        ev
    }

    /// [`PeerIdentity::recheck`] against this Whitelist and OCSP cache, with
    /// every refusal reported as [`PeerChecks::report`] does (MedMij TLS-4,
    /// TLS-3). Call it before each request on a kept-open connection.
    pub fn recheck(&self, peer: &PeerIdentity, now: SystemTime) -> Result<(), RefusalEvent> {
        peer.recheck(self.whitelist.as_ref(), self.ocsp.cache(), now)
            .map_err(|r| self.report(peer.role(), peer.dns_names().to_vec(), r))
    }

    /// Run every check on a peer certificate. `server_name` is the name we connected
    /// to when verifying a server, `None` when verifying a client; `stapled` is the
    /// stapled OCSP response (empty if none).
    pub fn check(
        &self,
        role: PeerRole,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: Option<&ServerName<'_>>,
        stapled: &[u8],
        now: UnixTime,
    ) -> Result<Vec<String>, RefusalEvent> {
        let parsed = x509_cert::Certificate::from_der(end_entity).ok();
        let names = parsed.as_ref().map(dns_names_of).unwrap_or_default();
        match self.check_inner(
            role,
            end_entity,
            parsed.as_ref(),
            &names,
            intermediates,
            server_name,
            stapled,
            now,
        ) {
            Ok(()) => Ok(names),
            Err(refusal) => Err(self.report(role, names, refusal)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_inner(
        &self,
        role: PeerRole,
        end_entity: &CertificateDer<'_>,
        parsed: Option<&x509_cert::Certificate>,
        names: &[String],
        intermediates: &[CertificateDer<'_>],
        server_name: Option<&ServerName<'_>>,
        stapled: &[u8],
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let bad_encoding = |detail: String| Refusal::Certificate {
            problem: CertificateProblem::BadEncoding,
            detail,
        };
        // MedMij TLS-3: chain to the trust anchors, validity, KU/EKU.
        let ee = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| crate::error::refusal_from_webpki(&e))?;
        let usage = match role {
            PeerRole::Server => webpki::KeyUsage::server_auth(),
            PeerRole::Client => webpki::KeyUsage::client_auth(),
        };
        let path = ee
            .verify_for_usage(
                self.algs.all,
                &self.anchors.anchors,
                intermediates,
                now,
                usage,
                None,
                None,
            )
            .map_err(|e| crate::error::refusal_from_webpki(&e))?;
        let parsed = parsed.ok_or_else(|| bad_encoding("x509 parse failed".into()))?;
        // MedMij TLS-3: key usage. webpki checks the extended key usage; the key
        // usage, when present, must allow the handshake signature.
        match parsed
            .tbs_certificate
            .get::<x509_cert::ext::pkix::KeyUsage>()
        {
            Ok(Some((_, ku))) if !ku.digital_signature() => {
                return Err(Refusal::Certificate {
                    problem: CertificateProblem::InvalidPurpose,
                    detail: "keyUsage does not include digitalSignature".into(),
                });
            }
            Ok(_) => {}
            Err(e) => return Err(bad_encoding(format!("keyUsage: {e}"))),
        }

        // MedMij TLS-6 (2.x): never a wildcard certificate.
        if self.profile.refuses_wildcards()
            && let Some(name) = wildcard_in(parsed)
        {
            return Err(Refusal::Wildcard { name });
        }

        // MedMij TLS-4: the peer's DNS name must be on the current Whitelist.
        let hostnames: Vec<String> = match server_name {
            Some(sn) => match sn {
                ServerName::DnsName(d) => {
                    let expected = d.as_ref().to_ascii_lowercase();
                    ee.verify_is_valid_for_subject_name(sn)
                        .map_err(|_| Refusal::NameMismatch {
                            expected: expected.clone(),
                        })?;
                    vec![expected]
                }
                _ => return Err(Refusal::NoDnsName),
            },
            None => names
                .iter()
                .filter(|n| !n.starts_with("*."))
                .cloned()
                .collect(),
        };
        if hostnames.is_empty() {
            return Err(Refusal::NoDnsName);
        }
        whitelist_check(self.whitelist.as_ref(), &hostnames, system_time(now))?;

        // MedMij TLS-3: revocation via OCSP, hard fail.
        let issuer_anchor = match path.intermediate_certificates().next() {
            Some(issuer) => webpki::anchor_from_trusted_cert(&issuer.der())
                .map_err(|e| bad_encoding(format!("issuer: {e:?}")))?
                .to_owned(),
            None => path.anchor().to_owned(),
        };
        let target = OcspTarget::new(end_entity, parsed, &path.issuer_spki(), issuer_anchor)?;
        self.ocsp.check(&target, stapled, now)?;
        Ok(())
    }

    fn verify_tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// `now` as a `SystemTime`.
pub(crate) fn system_time(now: UnixTime) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_secs())
}

/// MedMij TLS-4: one of `hostnames` must be on the Whitelist in force at `now`;
/// "not listed" and "cannot be determined" both refuse.
pub(crate) fn whitelist_check(
    whitelist: &dyn Whitelist,
    hostnames: &[String],
    now: SystemTime,
) -> Result<(), Refusal> {
    let mut undetermined = None;
    for h in hostnames {
        match whitelist.lookup(h, now) {
            WhitelistAnswer::Listed => return Ok(()),
            WhitelistAnswer::Undetermined => undetermined = Some(h.clone()),
            WhitelistAnswer::NotListed => {}
        }
    }
    Err(match (undetermined, hostnames.first()) {
        (Some(hostname), _) => Refusal::WhitelistUndetermined { hostname },
        (None, Some(h)) => Refusal::NotOnWhitelist {
            hostname: h.clone(),
        },
        (None, None) => Refusal::NoDnsName,
    })
}

/// Verifies a server's certificate, for a back-channel client (MedMij TLS-3, TLS-4).
#[derive(Debug, Clone)]
pub struct MedmijServerVerifier {
    checks: PeerChecks,
}

impl MedmijServerVerifier {
    /// A verifier running `checks`.
    pub fn new(checks: PeerChecks) -> Self {
        Self { checks }
    }
}

impl ServerCertVerifier for MedmijServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.checks
            .check(
                PeerRole::Server,
                end_entity,
                intermediates,
                Some(server_name),
                ocsp_response,
                now,
            )
            .map(|_| ServerCertVerified::assertion())
            .map_err(|ev| ev.refusal.to_rustls_error())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.checks.verify_tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.checks.verify_tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.checks.schemes()
    }
}

/// Verifies a client's certificate, for a back-channel server: client
/// authentication is mandatory (MedMij TLS-2, TLS-3, TLS-4).
#[derive(Debug, Clone)]
pub struct MedmijClientVerifier {
    checks: PeerChecks,
}

impl MedmijClientVerifier {
    /// A verifier running `checks`.
    pub fn new(checks: PeerChecks) -> Self {
        Self { checks }
    }
}

impl ClientCertVerifier for MedmijClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.checks.anchors.subjects
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.checks
            .check(PeerRole::Client, end_entity, intermediates, None, &[], now)
            .map(|_| ClientCertVerified::assertion())
            .map_err(|ev| ev.refusal.to_rustls_error())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.checks.verify_tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.checks.verify_tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.checks.schemes()
    }
}
