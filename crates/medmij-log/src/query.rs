//! Queries: the events of one person, by time range (MedMij LOG-1, LOG-2).

use std::io::BufRead;
use std::time::SystemTime;

use crate::chain::{Entry, Trust, VerifyError, verify_reader};
use crate::event::{Event, SubjectId};

/// Which events to return. Every condition that is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only events about this person.
    pub subject: Option<SubjectId>,
    /// Only events at or after this time.
    pub from: Option<SystemTime>,
    /// Only events before this time.
    pub until: Option<SystemTime>,
}

impl Query {
    /// All events of `subject`.
    pub fn subject(subject: SubjectId) -> Self {
        Self {
            subject: Some(subject),
            ..Self::default()
        }
    }

    /// Restricts to `from <= time < until`.
    #[must_use]
    pub fn between(mut self, from: SystemTime, until: SystemTime) -> Self {
        self.from = Some(from);
        self.until = Some(until);
        self
    }

    /// Whether `event` matches.
    #[must_use]
    pub fn matches(&self, event: &Event) -> bool {
        self.subject
            .as_ref()
            .is_none_or(|s| event.subject.as_ref() == Some(s))
            && self.from.is_none_or(|f| event.time >= f)
            && self.until.is_none_or(|u| event.time < u)
    }
}

/// The events matching `query` with their sequence numbers, from a log read
/// through the verifier: a broken chain is an error, not a partial answer.
pub fn query_reader<R: BufRead>(
    reader: R,
    trust: Trust,
    query: &Query,
) -> Result<Vec<(u64, Event)>, VerifyError> {
    let mut out = Vec::new();
    verify_reader(reader, trust, |entry| {
        if let Entry::Event { seq, event } = entry
            && query.matches(event)
        {
            out.push((*seq, (**event).clone()));
        }
    })?;
    Ok(out)
}
