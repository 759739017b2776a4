//! The step trace: every part of the network reports what it did, with the
//! MedMij rule IDs involved and the time since the flow started. It keeps the
//! last [`super::limits::MAX_TRACE_STEPS`] steps (a ring buffer: bounded memory,
//! MedMij OAUTH-14).

use std::collections::VecDeque;
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
    cap: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    last: Instant,
    steps: VecDeque<Step>,
    /// Steps pushed out of the ring buffer so far.
    dropped: u64,
}

impl Trace {
    /// A trace that keeps the last `cap` steps (at least one).
    pub(crate) fn new(print: bool, cap: usize) -> Self {
        let now = Instant::now();
        Trace {
            print,
            cap: cap.max(1),
            inner: Mutex::new(Inner {
                start: now,
                last: now,
                steps: VecDeque::new(),
                dropped: 0,
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
        if g.steps.len() >= self.cap {
            g.steps.pop_front();
            g.dropped += 1;
        }
        g.steps.push_back(Step {
            at,
            actor,
            rules,
            text,
        });
    }

    /// The steps kept (the last ones, up to the cap), oldest first.
    pub fn steps(&self) -> Vec<Step> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .steps
            .iter()
            .cloned()
            .collect()
    }

    /// How many steps were pushed out of the ring buffer so far.
    pub fn dropped(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).dropped
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

#[cfg(test)]
mod tests {
    use super::Trace;

    // MedMij OAUTH-14: the trace is a ring buffer with a fixed cap.
    mod oauth_14 {
        use super::Trace;

        #[test]
        fn the_trace_keeps_the_last_steps_up_to_its_cap() {
            let t = Trace::new(false, 100);
            for i in 0..1_000 {
                t.step("test", "-", format!("step {i}"));
            }
            let steps = t.steps();
            assert_eq!(steps.len(), 100);
            assert_eq!(steps[0].text, "step 900");
            assert_eq!(steps[99].text, "step 999");
            assert_eq!(t.dropped(), 900);
        }
    }

    #[test]
    fn a_trace_below_its_cap_keeps_everything() {
        let t = Trace::new(false, 10);
        t.step("a", "-", "one");
        t.step("b", "-", "two");
        assert_eq!(t.steps().len(), 2);
        assert_eq!(t.dropped(), 0);
    }
}
