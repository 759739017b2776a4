//! Aggregated refusal counts (MedMij OAUTH-14, LOG-1): a burst of anonymous
//! refusals of one kind from one source (a refused TLS handshake, an
//! unknown client, a bad token) becomes one log entry per source per
//! window, with the count and the first and last time, so that one
//! attacker cannot flood the log or its `fsync`s while every refusal is
//! still counted.
//!
//! Sans-IO: [`RefusalAggregator`] counts; the host logs what it hands back
//! ([`RefusalSummary::to_event`]). A window opens at a source's first
//! refusal of a kind and closes [`RefusalConfig::window`] later; its summary
//! comes back from the [`RefusalAggregator::record`] call that finds it
//! closed, or from [`RefusalAggregator::due`], which the host calls
//! periodically (and [`RefusalAggregator::drain`] at shutdown). A refusal is
//! therefore logged at most one window late; refusals counted in a window
//! that is still open are lost if the process stops without draining.
//!
//! Memory is bounded: at most [`RefusalConfig::max_sources`] windows of
//! single sources are open; refusals from further sources are counted
//! together per kind under the source [`OVERFLOW_SOURCE`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::event::{Action, Actor, ActorKind, Event, Object, Outcome, Source};

/// Default of [`RefusalConfig::window`]: 60 seconds.
pub const REFUSAL_WINDOW_DEFAULT: Duration = Duration::from_secs(60);
/// Default of [`RefusalConfig::max_sources`]: 10,000 open windows.
pub const REFUSAL_MAX_SOURCES_DEFAULT: usize = 10_000;
/// The source under which refusals are counted once
/// [`RefusalConfig::max_sources`] windows are open.
pub const OVERFLOW_SOURCE: &str = "*overflow*";

/// Settings of a [`RefusalAggregator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalConfig {
    /// How long one window lasts, from a source's first refusal of a kind
    /// (default [`REFUSAL_WINDOW_DEFAULT`], 60 s): at most one entry per
    /// source and kind per window.
    pub window: Duration,
    /// Windows of single sources open at most (default
    /// [`REFUSAL_MAX_SOURCES_DEFAULT`], 10,000); beyond it refusals are
    /// counted under [`OVERFLOW_SOURCE`], one more window per kind.
    pub max_sources: usize,
}

impl Default for RefusalConfig {
    fn default() -> Self {
        Self {
            window: REFUSAL_WINDOW_DEFAULT,
            max_sources: REFUSAL_MAX_SOURCES_DEFAULT,
        }
    }
}

/// The refusals of one kind from one source in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RefusalSummary {
    /// Where they came from (e.g. a network address), or
    /// [`OVERFLOW_SOURCE`].
    pub source: String,
    /// What was refused, e.g. `tls.handshake`, `oauth.unknown_client`.
    pub kind: String,
    /// How many.
    pub count: u64,
    /// The first one.
    pub first: SystemTime,
    /// The last one.
    pub last: SystemTime,
}

impl RefusalSummary {
    /// The log entry (MedMij LOG-1): type `kind`, action execute, outcome
    /// refused, actor `anonymous` (a system), the source as location (an
    /// address such as `192.168.1.10` would look like a BSN as an actor id
    /// in the PGO domain, LOG-4), the count as object,
    /// time = the last refusal, and a detail naming count, first and last.
    /// `system` is the logging system (e.g. the gateway's hostname).
    pub fn to_event(&self, id: impl Into<String>, system: &str) -> Event {
        Event {
            id: id.into(),
            event_type: self.kind.clone(),
            action: Action::Execute,
            time: self.last,
            actor: Actor {
                id: "anonymous".into(),
                kind: ActorKind::System,
                role: None,
                on_behalf_of: None,
            },
            subject: None,
            object: Object::new("refusals", self.count.to_string()),
            source: Source {
                system: system.to_owned(),
                location: Some(self.source.clone()),
            },
            outcome: Outcome::Refused,
            detail: Some(format!(
                "{} refusals aggregated (OAUTH-14), first {}, last {}",
                self.count,
                crate::time::format(self.first),
                crate::time::format(self.last)
            )),
        }
    }
}

#[derive(Debug)]
struct Window {
    count: u64,
    first: SystemTime,
    last: SystemTime,
}

/// Counts refusals per source and kind per window; see the module docs.
#[derive(Debug)]
pub struct RefusalAggregator {
    config: RefusalConfig,
    open: HashMap<(String, String), Window>,
}

impl RefusalAggregator {
    /// An aggregator with `config` (`max_sources` at least 1, `window` at
    /// least 1 ms).
    pub fn new(config: RefusalConfig) -> Self {
        Self {
            config: RefusalConfig {
                window: config.window.max(Duration::from_millis(1)),
                max_sources: config.max_sources.max(1),
            },
            open: HashMap::new(),
        }
    }

    /// Windows open now.
    pub fn open_windows(&self) -> usize {
        self.open.len()
    }

    fn ends(&self, w: &Window) -> SystemTime {
        w.first + self.config.window
    }

    /// Counts one refusal of `kind` from `source` at `now`. Returns the
    /// summary of this source's previous window for `kind` when that one
    /// has closed (log it).
    pub fn record(&mut self, source: &str, kind: &str, now: SystemTime) -> Option<RefusalSummary> {
        let mut key = (source.to_owned(), kind.to_owned());
        if !self.open.contains_key(&key) && self.open.len() >= self.config.max_sources {
            key.0 = OVERFLOW_SOURCE.to_owned();
        }
        let mut closed = None;
        if let Some(w) = self.open.get(&key)
            && now >= self.ends(w)
        {
            closed = self.open.remove(&key).map(|w| summary(&key, w));
        }
        if !self.open.contains_key(&key) && self.open.len() >= self.config.max_sources {
            // The window just closed was the overflow's or the table
            // filled meanwhile: count under the overflow source.
            key.0 = OVERFLOW_SOURCE.to_owned();
        }
        let w = self.open.entry(key).or_insert(Window {
            count: 0,
            first: now,
            last: now,
        });
        w.count += 1;
        w.last = w.last.max(now);
        closed
    }

    /// The summaries of every window closed at `now` (log them); those
    /// windows are forgotten.
    pub fn due(&mut self, now: SystemTime) -> Vec<RefusalSummary> {
        let window = self.config.window;
        let closed: Vec<(String, String)> = self
            .open
            .iter()
            .filter(|(_, w)| now >= w.first + window)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out: Vec<RefusalSummary> = closed
            .into_iter()
            .filter_map(|k| self.open.remove(&k).map(|w| summary(&k, w)))
            .collect();
        out.sort_by(|a, b| (a.first, &a.source, &a.kind).cmp(&(b.first, &b.source, &b.kind)));
        out
    }

    /// The summaries of every open window, closed now (at shutdown).
    pub fn drain(&mut self) -> Vec<RefusalSummary> {
        let mut out: Vec<RefusalSummary> = self.open.drain().map(|(k, w)| summary(&k, w)).collect();
        out.sort_by(|a, b| (a.first, &a.source, &a.kind).cmp(&(b.first, &b.source, &b.kind)));
        out
    }
}

fn summary(key: &(String, String), w: Window) -> RefusalSummary {
    RefusalSummary {
        source: key.0.clone(),
        kind: key.1.clone(),
        count: w.count,
        first: w.first,
        last: w.last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn t(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    mod oauth_14 {
        use super::*;

        #[test]
        fn a_burst_from_one_source_becomes_one_entry_per_window() {
            let mut a = RefusalAggregator::new(RefusalConfig::default());
            let mut out = Vec::new();
            // 100,000 refusals from one source over 100 s.
            for i in 0..100_000u64 {
                out.extend(a.record("198.51.100.7", "tls.handshake", t(i)));
                if i == 50_000 {
                    // Another source's single refusal in the middle.
                    out.extend(a.record("203.0.113.1", "tls.handshake", t(i)));
                }
                if i % 1000 == 0 {
                    out.extend(a.due(t(i)));
                }
            }
            out.extend(a.drain());
            let burst: Vec<&RefusalSummary> =
                out.iter().filter(|s| s.source == "198.51.100.7").collect();
            assert!(burst.len() <= 2, "{} entries", burst.len());
            assert_eq!(burst.iter().map(|s| s.count).sum::<u64>(), 100_000);
            assert_eq!(burst[0].first, t(0));
            assert_eq!(burst[0].last, t(59_999));
            let other: Vec<&RefusalSummary> =
                out.iter().filter(|s| s.source == "203.0.113.1").collect();
            assert_eq!(other.len(), 1);
            assert_eq!((other[0].count, other[0].first), (1, t(50_000)));
            assert_eq!(a.open_windows(), 0);
        }

        #[test]
        fn many_sources_are_bounded_by_the_overflow() {
            let mut a = RefusalAggregator::new(RefusalConfig {
                window: Duration::from_secs(10),
                max_sources: 8,
            });
            for i in 0..1000u64 {
                assert!(
                    a.record(
                        &format!("10.0.{}.{}", i / 256, i % 256),
                        "oauth.unknown_client",
                        t(i)
                    )
                    .is_none()
                );
                assert!(a.open_windows() <= 9);
            }
            let out = a.drain();
            assert_eq!(out.len(), 9);
            let overflow = out.iter().find(|s| s.source == OVERFLOW_SOURCE).unwrap();
            assert_eq!(overflow.count, 1000 - 8);
            assert_eq!(out.iter().map(|s| s.count).sum::<u64>(), 1000);
        }
    }
}
