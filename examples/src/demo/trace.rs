//! The step trace: every part of the network reports what it did, with the
//! MedMij rule IDs involved and the time since the flow started. It keeps the
//! last [`super::limits::MAX_TRACE_STEPS`] steps (a ring buffer: bounded memory,
//! MedMij OAUTH-14).

use medmij_types::RuleId;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Who took a step: a party of the demo network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The Zorgaanbieder's gateway (Bron in Verzamelen).
    ZaGw,
    /// The Zorgaanbieder's gateway in its Lezer role (Delen).
    ZaGwLezer,
    /// The second Zorgaanbieder's gateway, speaking release 2.x (medmij-oauth's axum
    /// `ZaGateway`; "Releases, side by side").
    ZaGw2x,
    /// The person's PGO gateway.
    PgoGw,
    /// A second PGO that the person moves the dossier to (MedMij CONSENT-7).
    SecondPgo,
    /// The person's scripted browser.
    Browser,
    /// The Stelselnode (MedMij Beheer): publishes the lists.
    Stelselnode,
    /// The TEST DigiD stand-in (not DigiD).
    DigidStandIn,
    /// The test PKI's OCSP responder.
    OcspResponder,
    /// The test PKI.
    TestPki,
    /// Both gateways at once.
    Gateways,
    /// The demo itself (a fault switch, a tampered export).
    Demo,
}

impl Actor {
    /// The name printed in the trace.
    pub const fn as_str(self) -> &'static str {
        match self {
            Actor::ZaGw => "ZA GW",
            Actor::ZaGwLezer => "ZA GW (Lezer)",
            Actor::ZaGw2x => "ZA GW 2.x",
            Actor::PgoGw => "PGO GW",
            Actor::SecondPgo => "second PGO",
            Actor::Browser => "Browser",
            Actor::Stelselnode => "Stelselnode",
            Actor::DigidStandIn => "TEST DigiD stand-in",
            Actor::OcspResponder => "OCSP responder",
            Actor::TestPki => "Test PKI",
            Actor::Gateways => "ZA GW, PGO GW",
            Actor::Demo => "demo",
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepOutcome {
    /// The step did what it set out to do.
    Done,
    /// A request, list, certificate or document was refused by a check.
    Refused,
    /// The step ended with the OAUTH-12 error case of this number (MedMij OAUTH-12).
    Case(u8),
    /// Something failed that is no refusal (a connection, a log write).
    Failed,
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepOutcome::Done => f.write_str("ok"),
            StepOutcome::Refused => f.write_str("REFUSED"),
            StepOutcome::Case(n) => write!(f, "case {n}"),
            StepOutcome::Failed => f.write_str("FAILED"),
        }
    }
}

/// One step of a flow.
#[derive(Debug, Clone)]
pub struct Step {
    /// Time since the start of the current flow (or of the network).
    pub at: Duration,
    /// Who did it.
    pub actor: Actor,
    /// The MedMij rules involved.
    pub rules: &'static [RuleId],
    /// How it ended.
    pub outcome: StepOutcome,
    /// What happened, for the reader.
    pub text: String,
}

impl Step {
    /// Whether this step names `rule`.
    pub fn cites(&self, rule: RuleId) -> bool {
        self.rules.contains(&rule)
    }

    /// Whether this step was taken by `actor`, cites `rule` and ended as `outcome`: what the
    /// demo's tests look for.
    pub fn is(&self, actor: Actor, rule: RuleId, outcome: StepOutcome) -> bool {
        self.actor == actor && self.outcome == outcome && self.cites(rule)
    }

    /// The rule IDs as printed: `OAUTH-3, OAUTH-4`.
    pub fn rules_text(&self) -> String {
        let ids: Vec<&str> = self.rules.iter().map(|r| r.as_str()).collect();
        if ids.is_empty() {
            "-".to_owned()
        } else {
            ids.join(", ")
        }
    }
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
    pub(crate) fn step(
        &self,
        actor: Actor,
        rules: &'static [RuleId],
        outcome: StepOutcome,
        text: impl Into<String>,
    ) {
        let text = text.into();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let at = now - g.start;
        let delta = now - g.last;
        g.last = now;
        let step = Step {
            at,
            actor,
            rules,
            outcome,
            text,
        };
        if self.print {
            let outcome = match outcome {
                StepOutcome::Done => String::new(),
                other => format!("[{other}] "),
            };
            println!(
                "[{:>8.2} ms  +{:>7.2} ms] {:<20} {:<22} {outcome}{}",
                at.as_secs_f64() * 1e3,
                delta.as_secs_f64() * 1e3,
                step.actor.as_str(),
                step.rules_text(),
                step.text
            );
        }
        if g.steps.len() >= self.cap {
            g.steps.pop_front();
            g.dropped += 1;
        }
        g.steps.push_back(step);
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
    pub(crate) fn refusal_log(self: &std::sync::Arc<Self>, who: Actor) -> medmij_tls::RefusalLog {
        let t = self.clone();
        std::sync::Arc::new(move |ev: &medmij_tls::RefusalEvent| {
            let rules: &'static [RuleId] = match ev.refusal.rule() {
                RuleId::Tls4 => &[RuleId::Tls4],
                RuleId::Tls6 => &[RuleId::Tls6],
                _ => &[RuleId::Tls3],
            };
            t.step(
                who,
                rules,
                StepOutcome::Refused,
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
    use super::{Actor, StepOutcome, Trace};

    // MedMij OAUTH-14: the trace is a ring buffer with a fixed cap.
    mod oauth_14 {
        use super::{Actor, StepOutcome, Trace};

        #[test]
        fn the_trace_keeps_the_last_steps_up_to_its_cap() {
            let t = Trace::new(false, 100);
            for i in 0..1_000 {
                t.step(Actor::Demo, &[], StepOutcome::Done, format!("step {i}"));
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
        t.step(Actor::Demo, &[], StepOutcome::Done, "one");
        t.step(Actor::Demo, &[], StepOutcome::Done, "two");
        assert_eq!(t.steps().len(), 2);
        assert_eq!(t.dropped(), 0);
    }
}
