//! Revocation checking with OCSP (MedMij TLS-3, RFC 6960): a stapled answer when
//! present, otherwise an [`OcspSource`] with a timeout and an [`OcspCache`] that
//! honours thisUpdate/nextUpdate. Any failure, timeout or stale answer is a refusal
//! (hard fail).

use std::collections::HashMap;
use std::fmt;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use der::asn1::{Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use ring::digest;
use ring::signature as sig;
use rustls::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, TbsRequest,
};

use crate::error::OcspFailure;

/// id-pkix-ocsp-basic (RFC 6960 4.2.1).
pub const ID_PKIX_OCSP_BASIC: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-ad-ocsp, the access method of an OCSP responder in AuthorityInfoAccess.
pub const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// id-kp-OCSPSigning, the extended key usage of a delegated responder.
pub const ID_KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
const ID_KP_OCSP_SIGNING_DER: &[u8] = &[0x2b, 6, 1, 5, 5, 7, 3, 9];
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Timing rules for OCSP answers (MedMij TLS-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspPolicy {
    /// How long to wait for an [`OcspSource`]; no answer in time refuses.
    pub timeout: Duration,
    /// How far thisUpdate may lie in the future (clock differences).
    pub clock_skew: Duration,
    /// How long an answer without nextUpdate counts as fresh after its thisUpdate.
    pub max_age_without_next_update: Duration,
}

impl Default for OcspPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            clock_skew: Duration::from_secs(300),
            max_age_without_next_update: Duration::from_secs(600),
        }
    }
}

/// One OCSP question for an [`OcspSource`].
#[derive(Debug, Clone)]
pub struct OcspQuery {
    /// The DER OCSPRequest (RFC 6960 4.1), one certificate, unsigned.
    pub request: Vec<u8>,
    /// The responder URLs in the certificate's AuthorityInfoAccess, in order.
    pub responder_urls: Vec<String>,
    /// How long the source may take; the verifier gives up after this anyway.
    pub timeout: Duration,
}

/// Why an [`OcspSource`] could not deliver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OcspSourceError {
    /// No responder answered in time.
    #[error("timeout")]
    Timeout,
    /// There is no responder to ask.
    #[error("no OCSP responder URL")]
    NoResponder,
    /// The responder could not be reached or answered with an HTTP error.
    #[error("{0}")]
    Transport(String),
}

/// Fetches OCSP answers, e.g. [`crate::HttpOcspFetcher`] (RFC 6960 over HTTP POST).
pub trait OcspSource: Send + Sync {
    /// Ask a responder; returns the DER OCSPResponse.
    fn fetch(&self, query: &OcspQuery) -> Result<Vec<u8>, OcspSourceError>;
}

impl<F> OcspSource for F
where
    F: Fn(&OcspQuery) -> Result<Vec<u8>, OcspSourceError> + Send + Sync,
{
    fn fetch(&self, query: &OcspQuery) -> Result<Vec<u8>, OcspSourceError> {
        self(query)
    }
}

#[derive(Debug, Clone, Copy)]
struct CachedAnswer {
    revoked_at: Option<u64>,
    this_update: u64,
    fresh_until: u64,
}

/// Cache of validated OCSP answers, keyed by CertID (MedMij TLS-3).
///
/// An entry is used only while `thisUpdate - clock_skew <= now < nextUpdate` (or,
/// without nextUpdate, `now < thisUpdate + max_age_without_next_update`); `now` is
/// the verification time rustls passes to the verifier.
pub struct OcspCache {
    entries: Mutex<HashMap<Vec<u8>, CachedAnswer>>,
    capacity: usize,
}

impl fmt::Debug for OcspCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for OcspCache {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl OcspCache {
    /// A cache holding at most `capacity` answers.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Number of cached answers (fresh or not).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop every cached answer.
    pub fn clear(&self) {
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
    }

    fn get(&self, key: &[u8], now: u64, skew: u64) -> Option<CachedAnswer> {
        let e = self.entries.lock().ok()?;
        let a = *e.get(key)?;
        (a.this_update <= now.saturating_add(skew) && now < a.fresh_until).then_some(a)
    }

    fn put(&self, key: Vec<u8>, a: CachedAnswer, now: u64) {
        let Ok(mut e) = self.entries.lock() else {
            return;
        };
        if e.len() >= self.capacity {
            e.retain(|_, v| now < v.fresh_until);
            if e.len() >= self.capacity {
                e.clear();
            }
        }
        e.insert(key, a);
    }
}

/// What is needed to ask about and check an answer for one certificate.
pub(crate) struct OcspTarget<'a> {
    issuer_name_der: Vec<u8>,
    issuer_key_bits: Vec<u8>,
    issuer_spki: SubjectPublicKeyInfoOwned,
    issuer_anchor: TrustAnchor<'a>,
    serial: x509_cert::serial_number::SerialNumber,
    responder_urls: Vec<String>,
}

impl<'a> OcspTarget<'a> {
    /// `ee` is the checked certificate, `issuer_spki` the DER SubjectPublicKeyInfo of
    /// its issuer and `issuer_anchor` the issuer as a trust anchor (for delegated
    /// responders).
    pub(crate) fn new(
        ee: &x509_cert::Certificate,
        issuer_spki_der: &[u8],
        issuer_anchor: TrustAnchor<'a>,
    ) -> Result<Self, OcspFailure> {
        let issuer_spki = SubjectPublicKeyInfoOwned::from_der(issuer_spki_der)
            .map_err(|e| OcspFailure::Malformed(format!("issuer key: {e}")))?;
        let issuer_name_der = ee
            .tbs_certificate
            .issuer
            .to_der()
            .map_err(|e| OcspFailure::Malformed(e.to_string()))?;
        let issuer_key_bits = issuer_spki.subject_public_key.raw_bytes().to_vec();
        let responder_urls = match ee.tbs_certificate.get::<AuthorityInfoAccessSyntax>() {
            Ok(Some((_, aia))) => aia
                .0
                .iter()
                .filter(|d| d.access_method == ID_AD_OCSP)
                .filter_map(|d| match &d.access_location {
                    GeneralName::UniformResourceIdentifier(u) => Some(u.as_str().to_owned()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            issuer_name_der,
            issuer_key_bits,
            issuer_spki,
            issuer_anchor,
            serial: ee.tbs_certificate.serial_number.clone(),
            responder_urls,
        })
    }

    fn cert_id(
        &self,
        alg: &'static digest::Algorithm,
        oid: ObjectIdentifier,
    ) -> Result<CertId, OcspFailure> {
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: Some(Null.into()),
            },
            issuer_name_hash: octets(digest::digest(alg, &self.issuer_name_der).as_ref())?,
            issuer_key_hash: octets(digest::digest(alg, &self.issuer_key_bits).as_ref())?,
            serial_number: self.serial.clone(),
        })
    }

    fn cache_key(&self) -> Vec<u8> {
        let mut k = digest::digest(&digest::SHA256, &self.issuer_name_der)
            .as_ref()
            .to_vec();
        k.extend_from_slice(digest::digest(&digest::SHA256, &self.issuer_key_bits).as_ref());
        k.extend_from_slice(self.serial.as_bytes());
        k
    }

    /// DER OCSPRequest for this certificate; CertID hashed with SHA-1 as RFC 6960
    /// responders expect (identification only, not a signature).
    pub(crate) fn request_der(&self) -> Result<Vec<u8>, OcspFailure> {
        let req = OcspRequest {
            tbs_request: TbsRequest {
                version: x509_ocsp::Version::V1,
                requestor_name: None,
                request_list: vec![Request {
                    req_cert: self.cert_id(&digest::SHA1_FOR_LEGACY_USE_ONLY, ID_SHA1)?,
                    single_request_extensions: None,
                }],
                request_extensions: None,
            },
            optional_signature: None,
        };
        req.to_der()
            .map_err(|e| OcspFailure::Malformed(format!("request: {e}")))
    }

    fn matches(&self, id: &CertId) -> bool {
        let ours = if id.hash_algorithm.oid == ID_SHA1 {
            self.cert_id(&digest::SHA1_FOR_LEGACY_USE_ONLY, ID_SHA1)
        } else if id.hash_algorithm.oid == ID_SHA256 {
            self.cert_id(&digest::SHA256, ID_SHA256)
        } else {
            return false;
        };
        let Ok(ours) = ours else {
            return false;
        };
        ours.issuer_name_hash == id.issuer_name_hash
            && ours.issuer_key_hash == id.issuer_key_hash
            && ours.serial_number == id.serial_number
    }
}

fn octets(b: &[u8]) -> Result<OctetString, OcspFailure> {
    OctetString::new(b.to_vec()).map_err(|e| OcspFailure::Malformed(e.to_string()))
}

/// A checked "good" or "revoked" answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checked {
    revoked_at: Option<u64>,
    this_update: u64,
    fresh_until: u64,
}

fn secs(t: &x509_ocsp::OcspGeneralizedTime) -> u64 {
    t.0.to_unix_duration().as_secs()
}

/// Verify `signature` over `msg` with `spki` and the signature algorithm `alg`.
fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    msg: &[u8],
    signature: &[u8],
) -> Result<(), OcspFailure> {
    let key = spki.subject_public_key.raw_bytes();
    let curve = if spki.algorithm.oid == EC_PUBLIC_KEY {
        spki.algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
    } else {
        None
    };
    let a: &'static dyn sig::VerificationAlgorithm = match (alg.oid, curve) {
        (o, Some(c)) if o == ECDSA_SHA256 && c == P256 => &sig::ECDSA_P256_SHA256_ASN1,
        (o, Some(c)) if o == ECDSA_SHA384 && c == P256 => &sig::ECDSA_P256_SHA384_ASN1,
        (o, Some(c)) if o == ECDSA_SHA256 && c == P384 => &sig::ECDSA_P384_SHA256_ASN1,
        (o, Some(c)) if o == ECDSA_SHA384 && c == P384 => &sig::ECDSA_P384_SHA384_ASN1,
        (o, None) if o == RSA_SHA256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        (o, None) if o == RSA_SHA384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        (o, None) if o == RSA_SHA512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        (o, None) if o == ED25519 => &sig::ED25519,
        (o, _) => return Err(OcspFailure::UnsupportedAlgorithm(o.to_string())),
    };
    sig::UnparsedPublicKey::new(a, key)
        .verify(msg, signature)
        .map_err(|_| OcspFailure::BadSignature)
}

/// Validate a DER OCSPResponse for `target` at `now` (RFC 6960 3.2): status,
/// CertID (issuer hashes and serial), signer (issuer or delegated responder with
/// id-kp-OCSPSigning issued by the issuer), signature, freshness.
pub(crate) fn validate_response(
    der: &[u8],
    target: &OcspTarget<'_>,
    now: UnixTime,
    policy: &OcspPolicy,
) -> Result<Checked, OcspFailure> {
    let resp = OcspResponse::from_der(der).map_err(|e| OcspFailure::Malformed(e.to_string()))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(OcspFailure::ResponderStatus(format!(
            "{:?}",
            resp.response_status
        )));
    }
    let bytes = resp
        .response_bytes
        .ok_or_else(|| OcspFailure::Malformed("no responseBytes".into()))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(OcspFailure::Malformed(format!(
            "response type {}",
            bytes.response_type
        )));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| OcspFailure::Malformed(e.to_string()))?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| OcspFailure::Malformed(e.to_string()))?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| OcspFailure::Malformed("signature has unused bits".into()))?;

    // Who signed: the issuer itself, or a delegated responder (RFC 6960 4.2.2.2).
    let by_issuer = match &basic.tbs_response_data.responder_id {
        ResponderId::ByName(n) => n.to_der().ok().as_deref() == Some(&target.issuer_name_der),
        ResponderId::ByKey(h) => {
            digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &target.issuer_key_bits).as_ref()
                == h.as_bytes()
        }
    };
    if by_issuer {
        verify_signature(
            &target.issuer_spki,
            &basic.signature_algorithm,
            &tbs,
            signature,
        )?;
    } else {
        let responder = basic
            .certs
            .iter()
            .flatten()
            .find(|c| match &basic.tbs_response_data.responder_id {
                ResponderId::ByName(n) => &c.tbs_certificate.subject == n,
                ResponderId::ByKey(h) => {
                    digest::digest(
                        &digest::SHA1_FOR_LEGACY_USE_ONLY,
                        c.tbs_certificate
                            .subject_public_key_info
                            .subject_public_key
                            .raw_bytes(),
                    )
                    .as_ref()
                        == h.as_bytes()
                }
            })
            .ok_or_else(|| {
                OcspFailure::UnauthorisedSigner(
                    "responder is not the issuer and sent no matching certificate".into(),
                )
            })?;
        let rder = responder
            .to_der()
            .map_err(|e| OcspFailure::Malformed(e.to_string()))?;
        let rder = CertificateDer::from(rder);
        let ee = webpki::EndEntityCert::try_from(&rder)
            .map_err(|e| OcspFailure::UnauthorisedSigner(format!("{e:?}")))?;
        let anchors = [target.issuer_anchor.clone()];
        ee.verify_for_usage(
            crate::profile::signature_algorithms().all,
            &anchors,
            &[],
            now,
            webpki::KeyUsage::required(ID_KP_OCSP_SIGNING_DER),
            None,
            None,
        )
        .map_err(|e| {
            OcspFailure::UnauthorisedSigner(format!(
                "delegated responder not issued by the issuer for OCSP signing: {e:?}"
            ))
        })?;
        verify_signature(
            &responder.tbs_certificate.subject_public_key_info,
            &basic.signature_algorithm,
            &tbs,
            signature,
        )?;
    }

    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|s| target.matches(&s.cert_id))
        .ok_or(OcspFailure::NoMatchingResponse)?;
    let now_s = now.as_secs();
    let this_update = secs(&single.this_update);
    let next_update = single.next_update.as_ref().map(secs);
    if this_update > now_s.saturating_add(policy.clock_skew.as_secs()) {
        return Err(OcspFailure::NotYetValid {
            this_update,
            now: now_s,
        });
    }
    let fresh_until = next_update.unwrap_or_else(|| {
        this_update.saturating_add(policy.max_age_without_next_update.as_secs())
    });
    if now_s >= fresh_until {
        return Err(OcspFailure::Stale {
            this_update,
            next_update,
            now: now_s,
        });
    }
    let revoked_at = match &single.cert_status {
        CertStatus::Good(_) => None,
        CertStatus::Revoked(r) => Some(secs(&r.revocation_time)),
        CertStatus::Unknown(_) => return Err(OcspFailure::UnknownStatus),
    };
    Ok(Checked {
        revoked_at,
        this_update,
        fresh_until,
    })
}

/// Revocation checking as configured for a verifier (MedMij TLS-3).
#[derive(Clone)]
pub struct OcspChecker {
    source: Option<Arc<dyn OcspSource>>,
    cache: Arc<OcspCache>,
    policy: OcspPolicy,
}

impl fmt::Debug for OcspChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspChecker")
            .field("source", &self.source.is_some())
            .field("cache", &self.cache)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Default for OcspChecker {
    fn default() -> Self {
        Self::new(None)
    }
}

impl OcspChecker {
    /// A checker that asks `source` when no answer is stapled (none: stapled only).
    pub fn new(source: Option<Arc<dyn OcspSource>>) -> Self {
        Self {
            source,
            cache: Arc::new(OcspCache::default()),
            policy: OcspPolicy::default(),
        }
    }

    /// Use these timing rules.
    pub fn with_policy(mut self, policy: OcspPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Share this cache (e.g. between the server and client verifiers of one node).
    pub fn with_cache(mut self, cache: Arc<OcspCache>) -> Self {
        self.cache = cache;
        self
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<OcspCache> {
        &self.cache
    }

    /// The timing rules.
    pub fn policy(&self) -> &OcspPolicy {
        &self.policy
    }

    pub(crate) fn check(
        &self,
        target: &OcspTarget<'_>,
        stapled: &[u8],
        now: UnixTime,
    ) -> Result<(), OcspFailure> {
        let outcome = |c: Checked| match c.revoked_at {
            None => Ok(()),
            Some(t) => Err(OcspFailure::Revoked { revocation_time: t }),
        };
        if !stapled.is_empty() {
            return outcome(validate_response(stapled, target, now, &self.policy)?);
        }
        let key = target.cache_key();
        let skew = self.policy.clock_skew.as_secs();
        if let Some(a) = self.cache.get(&key, now.as_secs(), skew) {
            return outcome(Checked {
                revoked_at: a.revoked_at,
                this_update: a.this_update,
                fresh_until: a.fresh_until,
            });
        }
        let (_, checked) = self.fetch(target, now)?;
        self.cache.put(
            key,
            CachedAnswer {
                revoked_at: checked.revoked_at,
                this_update: checked.this_update,
                fresh_until: checked.fresh_until,
            },
            now.as_secs(),
        );
        outcome(checked)
    }
}

impl OcspChecker {
    /// Ask the source and validate the answer (not the cache).
    fn fetch(
        &self,
        target: &OcspTarget<'_>,
        now: UnixTime,
    ) -> Result<(Vec<u8>, Checked), OcspFailure> {
        let source = self.source.clone().ok_or(OcspFailure::NoSource)?;
        let query = OcspQuery {
            request: target.request_der()?,
            responder_urls: target.responder_urls.clone(),
            timeout: self.policy.timeout,
        };
        let der = fetch_with_timeout(source, query, self.policy.timeout)?;
        let checked = validate_response(&der, target, now, &self.policy)?;
        Ok((der, checked))
    }

    /// Fetch a fresh, validated "good" answer for `target`, to staple.
    pub(crate) fn fetch_good(
        &self,
        target: &OcspTarget<'_>,
        now: UnixTime,
    ) -> Result<Vec<u8>, OcspFailure> {
        let (der, checked) = self.fetch(target, now)?;
        match checked.revoked_at {
            None => Ok(der),
            Some(t) => Err(OcspFailure::Revoked { revocation_time: t }),
        }
    }
}

/// Run the source on its own thread so that a source that ignores its timeout still
/// cannot hold up the handshake past it.
fn fetch_with_timeout(
    source: Arc<dyn OcspSource>,
    query: OcspQuery,
    timeout: Duration,
) -> Result<Vec<u8>, OcspFailure> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("medmij-ocsp-fetch".into())
        .spawn(move || {
            let _ = tx.send(source.fetch(&query));
        })
        .map_err(|e| OcspFailure::Unavailable(format!("cannot start fetch: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(der)) => Ok(der),
        Ok(Err(OcspSourceError::Timeout)) | Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(OcspFailure::Timeout(timeout.as_millis()))
        }
        Ok(Err(e)) => Err(OcspFailure::Unavailable(e.to_string())),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(OcspFailure::Unavailable("OCSP source failed".into()))
        }
    }
}
