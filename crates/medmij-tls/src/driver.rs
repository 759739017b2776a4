//! The host-driven OCSP driver (MedMij TLS-3); explained on [`OcspDriver`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rustls::pki_types::{CertificateDer, UnixTime};

use crate::certs::OwnCertificate;
use crate::error::OcspFailure;
use crate::ocsp::{
    CachedStatus, CertKey, OcspCache, OcspChecker, OcspQuery, OcspSource, OcspSourceError,
    OcspTarget, target_from_chain,
};

/// Timing of the [`OcspDriver`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriverSettings {
    /// Refresh an answer once this fraction of its validity window has passed.
    /// Default 0.5.
    pub refresh_fraction: f64,
    /// Retry a failed fetch after this long. Default 30 s.
    pub retry_interval: Duration,
    /// Never refresh one certificate more often than this. Default 60 s.
    pub min_interval: Duration,
    /// At most this many certificates are watched; beyond it the peer
    /// certificate refreshed longest ago is dropped (own certificates stay).
    /// Default 10 000.
    pub max_watched: usize,
}

impl Default for DriverSettings {
    fn default() -> Self {
        Self {
            refresh_fraction: 0.5,
            retry_interval: Duration::from_secs(30),
            min_interval: Duration::from_secs(60),
            max_watched: 10_000,
        }
    }
}

struct Watched {
    target: OcspTarget,
    staple: Option<OwnCertificate>,
    next_at: u64,
    in_flight: bool,
}

/// One fetch the host should make for the [`OcspDriver`].
#[derive(Clone)]
pub struct OcspJob {
    key: CertKey,
    /// The question: the DER OCSPRequest, the responder URLs from the
    /// certificate, and the time allowed.
    pub query: OcspQuery,
}

impl fmt::Debug for OcspJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspJob")
            .field("responder_urls", &self.query.responder_urls)
            .finish()
    }
}

impl OcspJob {
    /// The certificate this job is about.
    pub fn cert_key(&self) -> &CertKey {
        &self.key
    }
}

/// Keeps OCSP answers fresh ahead of need, driven by the host (MedMij TLS-3):
/// it keeps the [`OcspCache`] filled so that the verifier never has to fetch.
///
/// The driver is sans-IO: it says *what* to fetch and *when*
/// ([`OcspDriver::due`], [`OcspDriver::next_refresh_at`]); the host fetches
/// (the `tokio` feature's `run_ocsp_driver` with an async
/// HTTP client, or [`OcspDriver::refresh_blocking`] on a thread of the host's
/// choosing) and hands the answer back ([`OcspDriver::complete`]), which
/// validates it, caches it and, for an own certificate, staples it.
///
/// It watches own certificates (prefetch at start, then refresh ahead of need
/// for stapling) and every peer certificate the verifier met without an answer
/// (a first contact), which it then keeps fresh as well. An answer is refreshed
/// once half of its validity window (thisUpdate to nextUpdate) has passed
/// ([`DriverSettings::refresh_fraction`]); a failed fetch is retried after
/// [`DriverSettings::retry_interval`].
pub struct OcspDriver {
    checker: OcspChecker,
    settings: DriverSettings,
    watched: Mutex<HashMap<CertKey, Watched>>,
}

impl fmt::Debug for OcspDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspDriver")
            .field("checker", &self.checker)
            .field("watched", &self.watched_len())
            .finish()
    }
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unix(t: SystemTime) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs(t)))
}

impl OcspDriver {
    /// A driver filling the cache of `checker` (and of every clone of it, e.g.
    /// the one inside a [`crate::BackChannel`]) and picking up its pending
    /// first contacts.
    pub fn new(checker: &OcspChecker) -> Self {
        Self::with_settings(checker, DriverSettings::default())
    }

    /// As [`OcspDriver::new`] with these settings.
    pub fn with_settings(checker: &OcspChecker, settings: DriverSettings) -> Self {
        Self {
            checker: checker.clone(),
            settings,
            watched: Mutex::new(HashMap::new()),
        }
    }

    /// The cache the driver fills.
    pub fn cache(&self) -> &OcspCache {
        self.checker.cache()
    }

    /// The checker (cache, policy, pending checks) the driver serves.
    pub fn checker(&self) -> &OcspChecker {
        &self.checker
    }

    /// How many certificates are watched.
    pub fn watched_len(&self) -> usize {
        self.watched.lock().map(|w| w.len()).unwrap_or(0)
    }

    fn insert(&self, target: OcspTarget, staple: Option<OwnCertificate>, next_at: u64) {
        let Ok(mut w) = self.watched.lock() else {
            return;
        };
        if w.len() >= self.settings.max_watched && !w.contains_key(&target.key) {
            let oldest = w
                .iter()
                .filter(|(_, v)| v.staple.is_none() && !v.in_flight)
                .min_by_key(|(_, v)| v.next_at)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                w.remove(&k);
            }
        }
        w.entry(target.key)
            .and_modify(|v| {
                if staple.is_some() {
                    v.staple = staple.clone();
                }
            })
            .or_insert(Watched {
                target,
                staple,
                next_at,
                in_flight: false,
            });
    }

    /// Watch an own certificate: fetch its answer now (prefetch) and ahead of
    /// every nextUpdate, and staple each good answer. The chain must hold the
    /// issuer.
    pub fn watch_own(&self, cert: &OwnCertificate) -> Result<(), OcspFailure> {
        self.insert(cert.ocsp_target()?, Some(cert.clone()), 0);
        Ok(())
    }

    /// Watch a peer certificate known in advance (end-entity first, then its
    /// issuer), so that even its first handshake finds an answer.
    pub fn watch_chain(&self, chain: &[CertificateDer<'_>]) -> Result<(), OcspFailure> {
        self.insert(target_from_chain(chain)?, None, 0);
        Ok(())
    }

    fn adopt_pending(&self) {
        for t in self.checker.pending().take_all() {
            self.insert(t, None, 0);
        }
    }

    /// When the next job is due: `None` if nothing is watched or pending.
    /// A pending first contact is due at once.
    pub fn next_refresh_at(&self) -> Option<SystemTime> {
        self.adopt_pending();
        let w = self.watched.lock().ok()?;
        w.values()
            .filter(|v| !v.in_flight)
            .map(|v| v.next_at)
            .min()
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
    }

    fn job(&self, v: &Watched) -> Result<OcspJob, OcspFailure> {
        Ok(OcspJob {
            key: v.target.key,
            query: OcspQuery {
                request: v.target.request_der()?,
                responder_urls: v.target.responder_urls.clone(),
                timeout: self.checker.policy().timeout,
            },
        })
    }

    /// The fetches due at `now` (pending first contacts included); each is
    /// marked in flight until [`OcspDriver::complete`].
    pub fn due(&self, now: SystemTime) -> Vec<OcspJob> {
        self.adopt_pending();
        let now_s = secs(now);
        let Ok(mut w) = self.watched.lock() else {
            return Vec::new();
        };
        let mut jobs = Vec::new();
        for v in w.values_mut() {
            if v.in_flight || v.next_at > now_s {
                continue;
            }
            match self.job(v) {
                Ok(j) => {
                    v.in_flight = true;
                    jobs.push(j);
                }
                Err(f) => {
                    self.checker.record_failure(&v.target, f, unix(now));
                    v.next_at = now_s.saturating_add(self.settings.retry_interval.as_secs());
                }
            }
        }
        jobs
    }

    /// The job for the certificate `key` right away (a first contact the host
    /// is waiting on), if it is pending or watched and not already in flight.
    pub fn job_now(&self, key: &CertKey) -> Option<OcspJob> {
        if let Some(t) = self.checker.pending().take(key) {
            self.insert(t, None, 0);
        }
        let mut w = self.watched.lock().ok()?;
        let v = w.get_mut(key)?;
        if v.in_flight {
            return None;
        }
        let j = self.job(v).ok()?;
        v.in_flight = true;
        Some(j)
    }

    /// Hand back the outcome of a job: the DER answer, or why the source could
    /// not deliver. The answer is validated (signature, CertID, freshness at
    /// `now`) and cached; a good answer for an own certificate is stapled. The
    /// next refresh is scheduled either way. Returns the certificate's status.
    pub fn complete(
        &self,
        job: &OcspJob,
        result: Result<Vec<u8>, OcspSourceError>,
        now: SystemTime,
    ) -> CachedStatus {
        let now_s = secs(now);
        let (target, staple) = {
            let Ok(w) = self.watched.lock() else {
                return CachedStatus::Unknown;
            };
            match w.get(&job.key) {
                Some(v) => (v.target.clone(), v.staple.clone()),
                None => return CachedStatus::Unknown,
            }
        };
        let timeout = self.checker.policy().timeout;
        let next_at = match result
            .map_err(|e| OcspFailure::from_source(e, timeout))
            .and_then(|der| {
                self.checker
                    .record_answer(&target, &der, unix(now))
                    .map(|c| (der, c))
            }) {
            Ok((der, checked)) => {
                if let (Some(own), None) = (&staple, checked.revoked_at()) {
                    own.set_ocsp_staple(Some(der));
                }
                let (this_update, fresh_until) = checked.window();
                let span = fresh_until.saturating_sub(this_update) as f64;
                let at = this_update
                    .saturating_add((span * self.settings.refresh_fraction.clamp(0.0, 1.0)) as u64);
                at.max(now_s.saturating_add(self.settings.min_interval.as_secs()))
                    .min(fresh_until.saturating_sub(1).max(now_s))
            }
            Err(f) => {
                log::warn!("medmij-tls: OCSP fetch failed: {f} (MedMij TLS-3)");
                self.checker.record_failure(&target, f, unix(now));
                now_s.saturating_add(self.settings.retry_interval.as_secs())
            }
        };
        if let Ok(mut w) = self.watched.lock()
            && let Some(v) = w.get_mut(&job.key)
        {
            v.in_flight = false;
            v.next_at = next_at;
        }
        self.cache().status(&job.key, now_s)
    }

    /// Run every due job with `source` *on the calling thread*, one after the
    /// other (for hosts without an async runtime, and for tests); returns how
    /// many jobs ran. Never call it on an async worker thread.
    pub fn refresh_blocking(&self, source: &dyn OcspSource, now: SystemTime) -> usize {
        let jobs = self.due(now);
        for j in &jobs {
            let r = source.fetch(&j.query);
            // The status is in the cache now, where the handshakes read it.
            let _ = self.complete(j, r, now);
        }
        jobs.len()
    }

    /// Make every watched certificate due now (e.g. after a revocation was
    /// announced out of band).
    pub fn refresh_all_now(&self) {
        if let Ok(mut w) = self.watched.lock() {
            for v in w.values_mut() {
                v.next_at = 0;
            }
        }
    }
}

#[cfg(all(test, feature = "test-pki"))]
mod tls_3 {
    use super::*;
    use crate::SharedWhitelist;
    use crate::error::{PeerRole, Refusal};
    use crate::identity::PeerIdentity;
    use crate::ocsp::cert_key;
    use crate::test_pki::{CertOptions, OcspSigner, TestPki, TestStatus};

    const HOUR: Duration = Duration::from_secs(3600);

    fn setup() -> (TestPki, crate::test_pki::IssuedCert, OcspDriver) {
        let pki = TestPki::new("driver").unwrap();
        let cert = pki
            .issue(
                &["pgo.example.nl"],
                &CertOptions::with_ocsp("http://127.0.0.1:9/"),
            )
            .unwrap();
        let driver = OcspDriver::new(&OcspChecker::new());
        driver.watch_chain(&cert.chain).unwrap();
        (pki, cert, driver)
    }

    fn answer(pki: &TestPki, serial: &[u8], status: TestStatus, at: SystemTime) -> Vec<u8> {
        pki.ocsp_response(serial, status, at, Some(at + HOUR), OcspSigner::Issuer)
            .unwrap()
    }

    #[test]
    fn schedule_prefetch_then_refresh_at_half_the_validity() {
        let (pki, cert, driver) = setup();
        let now = SystemTime::now();
        let key = cert_key(&cert.chain[0]);
        // Due at once (prefetch), and in flight until completed.
        assert!(driver.next_refresh_at().unwrap() <= now);
        let jobs = driver.due(now);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].cert_key(), &key);
        assert_eq!(jobs[0].query.responder_urls, ["http://127.0.0.1:9/"]);
        assert!(driver.due(now).is_empty(), "in flight");
        let good = answer(&pki, &cert.serial, TestStatus::Good, now);
        assert_eq!(driver.complete(&jobs[0], Ok(good), now), CachedStatus::Good);
        // Next refresh half way through the hour.
        let next = driver.next_refresh_at().unwrap();
        let d = next.duration_since(now).unwrap().as_secs();
        assert!((1790..=1800).contains(&d), "{d}");
        assert!(driver.due(now).is_empty());
        assert_eq!(driver.due(next).len(), 1);
    }

    #[test]
    fn a_failed_refresh_keeps_a_fresh_answer_and_retries() {
        let (pki, cert, driver) = setup();
        let now = SystemTime::now();
        let key = cert_key(&cert.chain[0]);
        let jobs = driver.due(now);
        let good = answer(&pki, &cert.serial, TestStatus::Good, now);
        assert_eq!(driver.complete(&jobs[0], Ok(good), now), CachedStatus::Good);
        driver.refresh_all_now();
        let jobs = driver.due(now);
        let st = driver.complete(&jobs[0], Err(OcspSourceError::Timeout), now);
        assert_eq!(st, CachedStatus::Good, "still fresh");
        let retry = driver.next_refresh_at().unwrap();
        let d = retry.duration_since(now).unwrap_or_default().as_secs();
        assert!((29..=30).contains(&d), "{d}");
        // Once the answer is past nextUpdate, the failure is the refusal.
        let later = now + 2 * HOUR;
        assert_eq!(
            driver.cache().status(&key, secs(later)),
            CachedStatus::Refused(OcspFailure::Timeout(5000))
        );
    }

    #[test]
    fn first_contact_without_answer_is_refused_until_fetched() {
        let (pki, cert, _) = setup();
        let driver = OcspDriver::new(&OcspChecker::new());
        let key = cert_key(&cert.chain[0]);
        let now = SystemTime::now();
        assert_eq!(
            driver.cache().status(&key, secs(now)),
            CachedStatus::Unknown
        );
        assert!(driver.job_now(&key).is_none(), "not known to the driver");
        driver.watch_chain(&cert.chain).unwrap();
        let job = driver.job_now(&key).unwrap();
        let revoked = answer(&pki, &cert.serial, TestStatus::Revoked(now - HOUR), now);
        assert!(matches!(
            driver.complete(&job, Ok(revoked), now),
            CachedStatus::Refused(OcspFailure::Revoked { .. })
        ));
    }

    #[test]
    fn recheck_uses_the_whitelist_and_the_cache_in_force() {
        // MedMij TLS-4 with TLS-3: the per-request re-check.
        let (pki, cert, driver) = setup();
        let now = SystemTime::now();
        let wl = SharedWhitelist::with_hostnames(["pgo.example.nl"]);
        let peer =
            PeerIdentity::from_peer_certificates(PeerRole::Client, &cert.chain, None).unwrap();
        assert_eq!(peer.dns_names(), ["pgo.example.nl"]);
        assert_eq!(
            peer.recheck(&wl, driver.cache(), now),
            Err(Refusal::Ocsp(OcspFailure::NotYetChecked))
        );
        let jobs = driver.due(now);
        let good = answer(&pki, &cert.serial, TestStatus::Good, now);
        assert_eq!(driver.complete(&jobs[0], Ok(good), now), CachedStatus::Good);
        assert_eq!(peer.recheck(&wl, driver.cache(), now), Ok(()));
        wl.replace(["za.example.nl"]);
        assert!(matches!(
            peer.recheck(&wl, driver.cache(), now),
            Err(Refusal::NotOnWhitelist { .. })
        ));
        wl.replace(["pgo.example.nl"]);
        assert!(matches!(
            peer.recheck(&wl, driver.cache(), now + 2 * HOUR),
            Err(Refusal::Ocsp(OcspFailure::Stale { .. }))
        ));
    }
}
