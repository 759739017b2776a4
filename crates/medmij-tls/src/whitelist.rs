//! The Whitelist check (MedMij TLS-4, LISTS-6, LISTS-8); explained on [`Whitelist`].

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// The answer to "is this hostname on the current Whitelist?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum WhitelistAnswer {
    /// The hostname is a `MedMijNode` on the current Whitelist.
    Listed,
    /// The hostname is not on the current Whitelist.
    NotListed,
    /// It cannot be determined (no valid list, list too old, lookup failed).
    /// Refused like `NotListed` (MedMij TLS-4).
    Undetermined,
}

/// Answers Whitelist questions from the current Whitelist (MedMij TLS-4).
///
/// Implemented for every `Fn(&str, SystemTime) -> WhitelistAnswer + Send + Sync`,
/// so a closure over the caller's list store works. The hostname passed in is
/// lowercase ASCII.
///
/// The crate does not read the Whitelist itself: the caller answers through
/// [`Whitelist`], from whatever list version is current *at the moment of the
/// handshake*. Because the verifier asks anew at every handshake, a new list
/// version takes effect on the next handshake without rebuilding any config.
///
/// The crate has no clock of its own: every lookup carries the time it is made
/// for (the verification time rustls hands the verifier, or the time the host
/// passes to a per-request re-check), so an implementation can answer
/// [`WhitelistAnswer::Undetermined`] when its list is older than allowed
/// (MedMij LISTS-8: fetched at least hourly).
pub trait Whitelist: Send + Sync {
    /// Is `hostname` on the Whitelist in force at `now`? An implementation whose
    /// list is too old at `now` answers [`WhitelistAnswer::Undetermined`]
    /// (MedMij TLS-4, LISTS-8).
    fn lookup(&self, hostname: &str, now: SystemTime) -> WhitelistAnswer;
}

impl<F> Whitelist for F
where
    F: Fn(&str, SystemTime) -> WhitelistAnswer + Send + Sync,
{
    fn lookup(&self, hostname: &str, now: SystemTime) -> WhitelistAnswer {
        self(hostname, now)
    }
}

/// A simple swappable Whitelist: a set of hostnames the caller replaces whenever a
/// new list version has been validated (MedMij LISTS-8). Until the first
/// [`SharedWhitelist::replace`], and after [`SharedWhitelist::invalidate`], every
/// answer is [`WhitelistAnswer::Undetermined`].
#[derive(Default)]
pub struct SharedWhitelist {
    current: RwLock<Option<Arc<HashSet<String>>>>,
}

impl fmt::Debug for SharedWhitelist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .current
            .read()
            .ok()
            .and_then(|g| g.as_ref().map(|s| s.len()));
        f.debug_struct("SharedWhitelist")
            .field("hostnames", &n)
            .finish()
    }
}

impl SharedWhitelist {
    /// An empty, undetermined Whitelist.
    pub fn new() -> Self {
        Self::default()
    }

    /// A Whitelist holding `hostnames`.
    pub fn with_hostnames<I, S>(hostnames: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let w = Self::new();
        w.replace(hostnames);
        w
    }

    /// Make `hostnames` the current Whitelist; takes effect on the next handshake.
    pub fn replace<I, S>(&self, hostnames: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let set: HashSet<String> = hostnames
            .into_iter()
            .map(|h| h.as_ref().to_ascii_lowercase())
            .collect();
        let mut g = self.current.write().unwrap_or_else(|p| p.into_inner());
        *g = Some(Arc::new(set));
    }

    /// Forget the current list: every answer becomes `Undetermined` until the next
    /// [`SharedWhitelist::replace`].
    pub fn invalidate(&self) {
        let mut g = self.current.write().unwrap_or_else(|p| p.into_inner());
        *g = None;
    }
}

impl Whitelist for SharedWhitelist {
    /// Answers from the set in force; `now` is not used (this set has no age
    /// limit: the caller replaces or invalidates it).
    fn lookup(&self, hostname: &str, _now: SystemTime) -> WhitelistAnswer {
        let Ok(g) = self.current.read() else {
            return WhitelistAnswer::Undetermined;
        };
        match g.as_ref() {
            None => WhitelistAnswer::Undetermined,
            Some(set) if set.contains(hostname) => WhitelistAnswer::Listed,
            Some(_) => WhitelistAnswer::NotListed,
        }
    }
}

#[cfg(test)]
mod tls_4 {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    #[test]
    fn shared_whitelist_answers_from_current_version() {
        // MedMij TLS-4: no list means undetermined, which refuses.
        let w = SharedWhitelist::new();
        assert_eq!(w.lookup("a.example.nl", NOW), WhitelistAnswer::Undetermined);
        w.replace(["A.example.nl"]);
        assert_eq!(w.lookup("a.example.nl", NOW), WhitelistAnswer::Listed);
        assert_eq!(w.lookup("b.example.nl", NOW), WhitelistAnswer::NotListed);
        // MedMij LISTS-8: a new version replaces the old at once.
        w.replace(["b.example.nl"]);
        assert_eq!(w.lookup("a.example.nl", NOW), WhitelistAnswer::NotListed);
        w.invalidate();
        assert_eq!(w.lookup("b.example.nl", NOW), WhitelistAnswer::Undetermined);
    }

    #[test]
    fn closures_are_whitelists() {
        // MedMij LISTS-8: the lookup carries the time, so a list past its
        // maximum age answers "undetermined".
        let fetched = NOW;
        let w = move |h: &str, now: SystemTime| {
            if now > fetched + std::time::Duration::from_secs(3600) {
                WhitelistAnswer::Undetermined
            } else if h.ends_with(".nl") {
                WhitelistAnswer::Listed
            } else {
                WhitelistAnswer::NotListed
            }
        };
        assert_eq!(Whitelist::lookup(&w, "x.nl", NOW), WhitelistAnswer::Listed);
        assert_eq!(
            Whitelist::lookup(&w, "x.de", NOW),
            WhitelistAnswer::NotListed
        );
        let late = NOW + std::time::Duration::from_secs(3601);
        assert_eq!(
            Whitelist::lookup(&w, "x.nl", late),
            WhitelistAnswer::Undetermined
        );
    }
}
