//! Trust anchors and own certificates (MedMij TLS-2): several certificates at once
//! for rollover, chosen by SNI where needed, and a report of key material older
//! than one year.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use der::Decode;
use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, TrustAnchor, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::time_provider::{DefaultTimeProvider, TimeProvider};
use rustls::{DistinguishedName, SignatureScheme};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::error::{ConfigError, OcspFailure};
use crate::ocsp::{
    OcspPolicy, OcspQuery, OcspSource, OcspTarget, target_from_chain, validate_response,
};

/// One year, the maximum age of own key material (MedMij TLS-2).
pub const MAX_KEY_AGE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The CA certificates peers must chain to: the PKIoverheid roots in production,
/// a test root in tests (MedMij TLS-2, TLS-3).
#[derive(Clone)]
pub struct TrustAnchors {
    pub(crate) anchors: Vec<TrustAnchor<'static>>,
    pub(crate) subjects: Vec<DistinguishedName>,
}

impl fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("count", &self.anchors.len())
            .finish()
    }
}

impl TrustAnchors {
    /// Trust anchors from DER certificates.
    pub fn from_der<'a, I>(certs: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = &'a CertificateDer<'a>>,
    {
        let mut anchors = Vec::new();
        let mut subjects = Vec::new();
        for c in certs {
            let ta = webpki::anchor_from_trusted_cert(c)
                .map_err(|e| ConfigError::BadCertificate(format!("trust anchor: {e:?}")))?
                .to_owned();
            subjects.push(DistinguishedName::in_sequence(&ta.subject));
            anchors.push(ta);
        }
        if anchors.is_empty() {
            return Err(ConfigError::NoTrustAnchors);
        }
        Ok(Self { anchors, subjects })
    }

    /// Trust anchors from a PEM bundle of CA certificates.
    pub fn from_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let certs = certs_from_pem(pem)?;
        Self::from_der(certs.iter())
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there are none (never true for a constructed value).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

/// All certificates in a PEM text.
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let certs = certs.map_err(|e| ConfigError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(ConfigError::Pem("no CERTIFICATE block".into()));
    }
    Ok(certs)
}

/// The first private key in a PEM text (PKCS#8, PKCS#1 or SEC1).
pub fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, ConfigError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| ConfigError::Pem(e.to_string()))
}

/// The dNSName entries of a certificate's subjectAltName, lowercased.
pub fn dns_names(cert: &CertificateDer<'_>) -> Result<Vec<String>, ConfigError> {
    let c = x509_cert::Certificate::from_der(cert)
        .map_err(|e| ConfigError::BadCertificate(e.to_string()))?;
    Ok(dns_names_of(&c))
}

pub(crate) fn dns_names_of(c: &x509_cert::Certificate) -> Vec<String> {
    match c.tbs_certificate.get::<SubjectAltName>() {
        Ok(Some((_, san))) => san
            .0
            .iter()
            .filter_map(|n| match n {
                GeneralName::DnsName(d) => Some(d.as_str().to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn unix(t: &x509_cert::time::Time) -> UnixTime {
    UnixTime::since_unix_epoch(t.to_unix_duration())
}

/// One own certificate chain with its private key (MedMij TLS-2).
///
/// Clones share the stapled OCSP answer, so a clone kept by the application can
/// refresh the staple of a running server ([`OwnCertificate::refresh_ocsp_staple`]).
#[derive(Clone)]
pub struct OwnCertificate {
    key: Arc<RwLock<Arc<CertifiedKey>>>,
    dns_names: Vec<String>,
    not_before: UnixTime,
    not_after: UnixTime,
    key_created: UnixTime,
}

impl fmt::Debug for OwnCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnCertificate")
            .field("dns_names", &self.dns_names)
            .field("not_before", &self.not_before.as_secs())
            .field("not_after", &self.not_after.as_secs())
            .field("key_created", &self.key_created.as_secs())
            .finish()
    }
}

impl OwnCertificate {
    /// From a DER chain (end-entity first, then intermediates) and its private key.
    ///
    /// The key's age is taken from the certificate's notBefore unless
    /// [`OwnCertificate::with_key_created`] says otherwise.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'_>,
    ) -> Result<Self, ConfigError> {
        let ee = chain.first().ok_or(ConfigError::NoOwnCertificate)?;
        let c = x509_cert::Certificate::from_der(ee)
            .map_err(|e| ConfigError::BadCertificate(e.to_string()))?;
        let v = &c.tbs_certificate.validity;
        let not_before = unix(&v.not_before);
        let not_after = unix(&v.not_after);
        let dns_names = dns_names_of(&c);
        let signer = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
            .map_err(|e| ConfigError::BadKey(e.to_string()))?;
        let ck = CertifiedKey::new(chain, signer);
        ck.keys_match()
            .map_err(|e| ConfigError::BadKey(e.to_string()))?;
        Ok(Self {
            key: Arc::new(RwLock::new(Arc::new(ck))),
            dns_names,
            not_before,
            not_after,
            key_created: not_before,
        })
    }

    /// From PEM: the chain (end-entity first) and the private key.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, ConfigError> {
        Self::new(certs_from_pem(chain_pem)?, key_from_pem(key_pem)?)
    }

    /// Record when the key pair was generated (for the one-year check of TLS-2), if
    /// it predates the certificate.
    #[must_use]
    pub fn with_key_created(mut self, created: UnixTime) -> Self {
        self.key_created = created;
        self
    }

    /// Staple this OCSP response in handshakes as a server (RFC 6066 status_request).
    #[must_use]
    pub fn with_ocsp_staple(self, der: Vec<u8>) -> Self {
        self.set_ocsp_staple(Some(der));
        self
    }

    /// Replace (or with `None` drop) the stapled OCSP response, for this
    /// certificate and all its clones, from the next handshake on.
    pub fn set_ocsp_staple(&self, der: Option<Vec<u8>>) {
        let mut g = self.key.write().unwrap_or_else(|p| p.into_inner());
        let mut ck = (**g).clone();
        ck.ocsp = der;
        *g = Arc::new(ck);
    }

    /// Fetch a fresh OCSP answer for this certificate from `source` *on the
    /// calling thread* (blocking, bounded by `policy.timeout` as far as the
    /// source honours it), check it as a peer would (signature, CertID,
    /// freshness at `now`, status good) and staple it. Call it well before the
    /// current staple's nextUpdate: peers refuse a stale staple (MedMij TLS-3).
    /// The chain must hold the issuer. An [`crate::OcspDriver`] watching this
    /// certificate does this on schedule.
    pub fn refresh_ocsp_staple(
        &self,
        source: &dyn OcspSource,
        policy: &OcspPolicy,
        now: UnixTime,
    ) -> Result<(), OcspFailure> {
        let target = self.ocsp_target()?;
        let query = OcspQuery {
            request: target.request_der()?,
            responder_urls: target.responder_urls.clone(),
            timeout: policy.timeout,
        };
        let der = source
            .fetch(&query)
            .map_err(|e| OcspFailure::from_source(e, policy.timeout))?;
        let checked = validate_response(&der, &target, now, policy)?;
        match checked.revoked_at() {
            None => {
                self.set_ocsp_staple(Some(der));
                Ok(())
            }
            Some(t) => Err(OcspFailure::Revoked { revocation_time: t }),
        }
    }

    /// What the OCSP code needs about this certificate (issuer from the chain).
    pub(crate) fn ocsp_target(&self) -> Result<OcspTarget, OcspFailure> {
        target_from_chain(&self.current().cert)
    }

    fn current(&self) -> Arc<CertifiedKey> {
        self.key.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The end-entity certificate as presented now.
    pub(crate) fn end_entity(&self) -> Option<CertificateDer<'static>> {
        self.current().cert.first().cloned()
    }

    /// The dNSNames of the end-entity certificate.
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// notBefore of the end-entity certificate.
    pub fn not_before(&self) -> UnixTime {
        self.not_before
    }

    /// notAfter of the end-entity certificate.
    pub fn not_after(&self) -> UnixTime {
        self.not_after
    }

    fn valid_at(&self, now: UnixTime) -> bool {
        self.not_before.as_secs() <= now.as_secs() && now.as_secs() <= self.not_after.as_secs()
    }

    fn matches_name(&self, sni: &str) -> bool {
        let sni = sni.to_ascii_lowercase();
        self.dns_names.iter().any(|n| {
            *n == sni
                || n.strip_prefix("*.").is_some_and(|suffix| {
                    sni.split_once('.')
                        .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix)
                })
        })
    }

    fn supports(&self, schemes: &[SignatureScheme]) -> bool {
        self.current().key.choose_scheme(schemes).is_some()
    }
}

/// Own key material older than [`MAX_KEY_AGE`], or a certificate past its notAfter
/// (MedMij TLS-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAgeWarning {
    /// The certificate's DNS names.
    pub dns_names: Vec<String>,
    /// When the key material was created (seconds since epoch).
    pub key_created: u64,
    /// Its age in whole days at the time of the report.
    pub age_days: u64,
    /// The certificate has expired as well.
    pub expired: bool,
}

/// Several own certificates at once (MedMij TLS-2 rollover).
///
/// As a server it picks, among the certificates valid now whose key can sign with a
/// scheme the client offers, those matching the SNI name (all if there is no SNI or
/// no match), and of those the one with the latest notBefore (the newest in a
/// rollover). As a client it does the same without SNI.
#[derive(Clone)]
pub struct OwnCertificates {
    certs: Vec<OwnCertificate>,
    time: Arc<dyn TimeProvider>,
}

impl fmt::Debug for OwnCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnCertificates")
            .field("certs", &self.certs)
            .finish()
    }
}

impl OwnCertificates {
    /// A set of own certificates; the system clock picks the valid ones.
    pub fn new(certs: Vec<OwnCertificate>) -> Result<Self, ConfigError> {
        Self::with_time_provider(certs, Arc::new(DefaultTimeProvider))
    }

    /// As [`OwnCertificates::new`], with the clock given (tests, simulations).
    pub fn with_time_provider(
        certs: Vec<OwnCertificate>,
        time: Arc<dyn TimeProvider>,
    ) -> Result<Self, ConfigError> {
        if certs.is_empty() {
            return Err(ConfigError::NoOwnCertificate);
        }
        Ok(Self { certs, time })
    }

    /// The certificates.
    pub fn certificates(&self) -> &[OwnCertificate] {
        &self.certs
    }

    /// Certificates whose key material is older than one year at `now`, or that
    /// have expired (MedMij TLS-2: renew key material at least yearly).
    pub fn key_age_report(&self, now: UnixTime) -> Vec<KeyAgeWarning> {
        self.certs
            .iter()
            .filter_map(|c| {
                let age = now.as_secs().saturating_sub(c.key_created.as_secs());
                let expired = now.as_secs() > c.not_after.as_secs();
                (age > MAX_KEY_AGE.as_secs() || expired).then(|| KeyAgeWarning {
                    dns_names: c.dns_names.clone(),
                    key_created: c.key_created.as_secs(),
                    age_days: age / 86_400,
                    expired,
                })
            })
            .collect()
    }

    /// The certificate chosen for a handshake (see the type's docs).
    ///
    /// rustls passes as `schemes` only the signature schemes that fit a cipher suite
    /// both sides support, so an RSA and an ECDSA certificate can be held side by
    /// side. If no certificate fits, the newest valid one is still returned, so that
    /// the handshake fails as "no cipher suites in common" (`handshake_failure`).
    pub fn choose(
        &self,
        sni: Option<&str>,
        schemes: &[SignatureScheme],
        now: UnixTime,
    ) -> Option<&OwnCertificate> {
        let pick = |need_scheme: bool| {
            let usable = || {
                self.certs
                    .iter()
                    .filter(move |c| c.valid_at(now) && (!need_scheme || c.supports(schemes)))
            };
            let by_name = sni.and_then(|s| {
                usable()
                    .filter(|c| c.matches_name(s))
                    .max_by_key(|c| c.not_before.as_secs())
            });
            by_name.or_else(|| usable().max_by_key(|c| c.not_before.as_secs()))
        };
        pick(true).or_else(|| pick(false))
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.time
            .current_time()
            .unwrap_or(UnixTime::since_unix_epoch(Duration::ZERO))
    }
}

impl ResolvesServerCert for OwnCertificates {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.choose(
            client_hello.server_name(),
            client_hello.signature_schemes(),
            self.now(),
        )
        .map(OwnCertificate::current)
    }
}

impl ResolvesClientCert for OwnCertificates {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.choose(None, sigschemes, self.now())
            .map(OwnCertificate::current)
    }

    fn has_certs(&self) -> bool {
        true
    }
}
