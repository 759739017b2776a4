//! The identity of a verified peer, and the re-check before each request on a
//! kept-open connection (MedMij TLS-4, TLS-3).

use std::time::SystemTime;

use der::Decode;
use rustls::pki_types::CertificateDer;

use crate::certs::dns_names_of;
use crate::error::{CertificateProblem, PeerRole, Refusal};
use crate::ocsp::{CachedStatus, CertKey, OcspCache, cert_key};
use crate::verify::whitelist_check;
use crate::whitelist::Whitelist;

/// Who is on the other end of a verified connection: the DNS names of its
/// certificate, and what is needed to re-check it (MedMij TLS-2, TLS-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    role: PeerRole,
    dns_names: Vec<String>,
    whitelist_names: Vec<String>,
    cert_key: CertKey,
}

impl PeerIdentity {
    /// The identity of a peer whose certificate chain (end-entity first, as
    /// rustls' `peer_certificates()` returns it) the verifier accepted.
    /// `server_name` is the name we connected to when the peer is a server
    /// (the Whitelist is asked about that name, as in the handshake), `None`
    /// when the peer is a client (its non-wildcard dNSNames are asked).
    pub fn from_peer_certificates(
        role: PeerRole,
        certs: &[CertificateDer<'_>],
        server_name: Option<&str>,
    ) -> Result<Self, Refusal> {
        let ee = certs.first().ok_or(Refusal::Certificate {
            problem: CertificateProblem::BadEncoding,
            detail: "no peer certificate".into(),
        })?;
        let parsed = x509_cert::Certificate::from_der(ee).map_err(|e| Refusal::Certificate {
            problem: CertificateProblem::BadEncoding,
            detail: e.to_string(),
        })?;
        let dns_names = dns_names_of(&parsed);
        let whitelist_names: Vec<String> = match server_name {
            Some(n) => vec![n.to_ascii_lowercase()],
            None => dns_names
                .iter()
                .filter(|n| !n.starts_with("*."))
                .cloned()
                .collect(),
        };
        if whitelist_names.is_empty() {
            return Err(Refusal::NoDnsName);
        }
        Ok(Self {
            role,
            dns_names,
            whitelist_names,
            cert_key: cert_key(ee),
        })
    }

    /// Whether the peer is the server (we connected) or the client (it did).
    pub fn role(&self) -> PeerRole {
        self.role
    }

    /// The dNSNames of the peer's certificate, lowercase.
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// The names asked about on the Whitelist.
    pub fn whitelist_names(&self) -> &[String] {
        &self.whitelist_names
    }

    /// The peer certificate's key in the [`OcspCache`].
    pub fn cert_key(&self) -> &CertKey {
        &self.cert_key
    }

    /// The peer certificate's revocation status in `ocsp_cache` at `now`.
    pub fn ocsp_status(&self, ocsp_cache: &OcspCache, now: SystemTime) -> CachedStatus {
        ocsp_cache.status(&self.cert_key, unix_secs(now))
    }

    /// The re-check before each request on a connection kept open for several
    /// requests (MedMij TLS-4): the peer must still be on the Whitelist in
    /// force at `now`, and `ocsp_cache` must hold a fresh "good" answer for
    /// its certificate (MedMij TLS-3). A node dropped from the Whitelist, or
    /// revoked, is refused at its next request. The cache is kept fresh by the
    /// [`crate::OcspDriver`] for every certificate it watches; a server known
    /// only from its stapled answer is refused once that answer is stale (a
    /// new connection brings a new staple).
    pub fn recheck(
        &self,
        whitelist: &dyn Whitelist,
        ocsp_cache: &OcspCache,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        whitelist_check(whitelist, &self.whitelist_names, now)?;
        match self.ocsp_status(ocsp_cache, now) {
            CachedStatus::Good => Ok(()),
            CachedStatus::Refused(f) => Err(Refusal::Ocsp(f)),
            CachedStatus::Unknown => Err(Refusal::Ocsp(crate::error::OcspFailure::NotYetChecked)),
        }
    }
}

pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
