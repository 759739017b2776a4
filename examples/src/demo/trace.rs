//! The step trace: every part of the network reports what it did, with the
//! MedMij rule IDs involved and the time since the flow started.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One step of a flow.
#[derive(Debug, Clone)]
pub struct Step {
    /// Time since the start of the current flow (or of the network).
    pub at: Duration,
    /// Who did it: "ZA GW", "PGO GW", "Browser", …
    pub actor: &'static str,
    /// The MedMij rule IDs involved.
    pub rules: &'static str,
    /// What happened.
    pub text: String,
}

/// The steps reported so far; printed as they happen when asked to.
#[derive(Debug)]
pub struct Trace {
    print: bool,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    last: Instant,
    steps: Vec<Step>,
}

impl Trace {
    pub(crate) fn new(print: bool) -> Self {
        let now = Instant::now();
        Trace {
            print,
            inner: Mutex::new(Inner {
                start: now,
                last: now,
                steps: Vec::new(),
            }),
        }
    }

    /// Restarts the clock: timings after this are relative to now.
    pub(crate) fn mark(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        g.start = now;
        g.last = now;
        if self.print {
            println!();
        }
    }

    /// Records (and maybe prints) a step.
    pub(crate) fn step(&self, actor: &'static str, rules: &'static str, text: impl Into<String>) {
        let text = text.into();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let at = now - g.start;
        let delta = now - g.last;
        g.last = now;
        if self.print {
            println!(
                "[{:>8.2} ms  +{:>7.2} ms] {:<20} {:<22} {}",
                at.as_secs_f64() * 1e3,
                delta.as_secs_f64() * 1e3,
                actor,
                rules,
                text
            );
        }
        g.steps.push(Step {
            at,
            actor,
            rules,
            text,
        });
    }

    /// All steps so far.
    pub fn steps(&self) -> Vec<Step> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .steps
            .clone()
    }

    /// A medmij-tls refusal log that reports handshake refusals as steps.
    pub(crate) fn refusal_log(
        self: &std::sync::Arc<Self>,
        who: &'static str,
    ) -> medmij_tls::RefusalLog {
        let t = self.clone();
        std::sync::Arc::new(move |ev: &medmij_tls::RefusalEvent| {
            t.step(
                who,
                "TLS-3, TLS-4",
                format!(
                    "handshake REFUSED: peer {:?} {:?}: {}",
                    ev.peer, ev.peer_names, ev.refusal
                ),
            )
        })
    }
}
