//! Shared checks for every `FlowStore` (memory and PostgreSQL), and a driver for whole flows
//! through `PendingFlows` (MedMij OAUTH-11, OAUTH-14).

use super::*;
use std::net::IpAddr;
use std::time::Duration;

pub fn small_limits() -> FlowLimits {
    FlowLimits {
        per_client: 6,
        per_source: 3,
        total: 10,
        ..FlowLimits::default()
    }
}

pub fn owner(client: &str, source: &str) -> FlowOwner {
    FlowOwner {
        client_id: ClientId::new(client).unwrap(),
        source: source.parse::<IpAddr>().unwrap(),
    }
}

fn put_new(s: &impl FlowStore, o: &FlowOwner, now: SystemTime) -> Result<SecretHash, FlowError> {
    let id = FlowId::random(&ThreadRandom).hash();
    s.put(
        &id,
        o,
        "{}",
        now + Duration::from_secs(900),
        Admission::New,
        now,
    )?;
    Ok(id)
}

fn busy(r: Result<SecretHash, FlowError>) -> FlowLimit {
    match r {
        Err(FlowError::Busy(b)) => b.limit(),
        other => panic!("expected Busy, got {other:?}"),
    }
}

/// The limits of `small_limits()` (per source 3, per client 6, total 10) on an empty store.
pub fn limits(s: &impl FlowStore) {
    let t = t0();
    // Per source: the 4th flow from one address is refused, also for another client.
    let a = owner(CLIENT, "192.0.2.1");
    let ids: Vec<SecretHash> = (0..3).map(|_| put_new(s, &a, t).unwrap()).collect();
    assert_eq!(busy(put_new(s, &a, t)), FlowLimit::PerSource);
    assert_eq!(
        busy(put_new(s, &owner(OTHER_CLIENT, "192.0.2.1"), t)),
        FlowLimit::PerSource
    );
    // Taking one frees its slot; putting it back as Continuing is never refused.
    let taken = s.take(&ids[0], t).unwrap().unwrap();
    assert_eq!(taken.owner, a);
    assert_eq!(taken.data, "{}");
    assert!(
        s.take(&ids[0], t).unwrap().is_none(),
        "a flow is taken once"
    );
    put_new(s, &a, t).unwrap();
    s.put(
        &ids[0],
        &a,
        "{\"x\":1}",
        t + Duration::from_secs(900),
        Admission::Continuing,
        t,
    )
    .unwrap();
    // Per client: 6 flows of CLIENT in all (4 from .1 now, 2 more from .2), then refused
    // from a fresh address.
    put_new(s, &owner(CLIENT, "192.0.2.2"), t).unwrap();
    put_new(s, &owner(CLIENT, "192.0.2.2"), t).unwrap();
    assert_eq!(
        busy(put_new(s, &owner(CLIENT, "2001:db8::1"), t)),
        FlowLimit::PerClient
    );
    // Total: 10 flows; OTHER_CLIENT gets 4 more from fresh addresses, then the table is full.
    for i in 0..4 {
        put_new(s, &owner(OTHER_CLIENT, &format!("198.51.100.{i}")), t).unwrap();
    }
    assert_eq!(
        busy(put_new(s, &owner(OTHER_CLIENT, "198.51.100.99"), t)),
        FlowLimit::Total
    );
    // Expired flows do not count: after 900 s everything is free again, and gone.
    let later = t + Duration::from_secs(900);
    assert!(s.take(&ids[1], later).unwrap().is_none(), "expired");
    for _ in 0..3 {
        put_new(s, &a, later).unwrap();
    }
    assert!(s.sweep(later + Duration::from_secs(900)).unwrap().len() >= 3);
    // IPv6 addresses count per /64 (and IPv4-mapped ones as IPv4): changing the interface
    // identifier does not step around the per-source limit.
    let t = later + Duration::from_secs(1800);
    for i in 1..=3 {
        put_new(s, &owner(OTHER_CLIENT, &format!("2001:db8:1:2::{i}")), t).unwrap();
    }
    assert_eq!(
        busy(put_new(s, &owner(OTHER_CLIENT, "2001:db8:1:2:ffff::9"), t)),
        FlowLimit::PerSource
    );
    put_new(s, &owner(OTHER_CLIENT, "2001:db8:1:3::1"), t).unwrap();
    for _ in 0..2 {
        put_new(s, &owner(CLIENT, "192.0.2.200"), t).unwrap();
    }
    put_new(s, &owner(CLIENT, "::ffff:192.0.2.200"), t).unwrap();
    assert_eq!(
        busy(put_new(s, &owner(CLIENT, "192.0.2.200"), t)),
        FlowLimit::PerSource
    );
}

/// One node: a server and its view of the shared flows.
pub struct Node<S: TokenStore, F: FlowStore> {
    pub server: AuthorizationServer<S, StaticClientRegistry>,
    pub flows: PendingFlows<F>,
}

/// Where one person's flow is.
pub struct Person {
    pub n: usize,
    pub id: Option<FlowId>,
    pub token: Option<String>,
    pub done: bool,
}

pub const STEPS: usize = 7;

/// Runs step `step` (0..STEPS) of the person's flow on `node`: authorize and open, the three
/// session steps, issue the code, redeem it, use the token. Every step between resumes the
/// session from the shared flow store and saves it back.
pub fn step<S: TokenStore, F: FlowStore>(node: &Node<S, F>, p: &mut Person, step: usize) {
    let t = t0();
    let source = owner(CLIENT, &format!("10.0.{}.{}", p.n / 250, p.n % 250 + 1));
    let subject = Subject::new(format!("person-{}", p.n)).unwrap();
    match step {
        0 => {
            let session = node
                .server
                .authorize(&query("umcharderwijk~1", "st"))
                .unwrap();
            p.id = Some(
                node.flows
                    .open(&source, &session, &ThreadRandom, t)
                    .unwrap(),
            );
        }
        1..=4 => {
            let id = p.id.unwrap();
            let r: Resumed<Session> = node.flows.resume(&id, t).unwrap().expect("flow kept");
            assert_eq!(r.owner, source);
            let mut session = r.value;
            match step {
                1 => assert!(
                    session
                        .authenticated(Authentication::Established(subject))
                        .unwrap()
                        .is_none()
                ),
                2 => assert!(session.data_available(true).unwrap().is_none()),
                3 => assert!(matches!(
                    session.consent(ConsentDecision::Granted, t).unwrap(),
                    ConsentOutcome::Granted(_)
                )),
                _ => {
                    let r = node.server.issue_code(&mut session, t).unwrap();
                    p.token = param(r.location(), "code");
                    return; // finished: not saved back
                }
            }
            node.flows.save(&id, &r.owner, &session, t).unwrap();
        }
        5 => {
            let code = p.token.take().unwrap();
            let out = node
                .server
                .token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t);
            p.token = Some(issued_token(&out));
        }
        _ => {
            let h = format!("Bearer {}", p.token.as_deref().unwrap());
            let access = node
                .server
                .check_resource(Some(&h), &za(), &gd("1"), Interaction::Read, t)
                .unwrap();
            assert_eq!(access.subject, subject);
            p.done = true;
        }
    }
}

/// `take_late` on an empty store (MedMij OAUTH-12 case 5) with the default grace (900 s): a
/// live flow comes back on time, an expired one comes back late (and is gone after), marked
/// unreported until a sweep reported it; past its grace it is missing. `take` never returns
/// an expired flow, and leaves it for `take_late` and the sweep.
pub fn late(s: &impl FlowStore) {
    let t = t0();
    let a = owner(CLIENT, "192.0.2.40");
    let live = put_new(s, &a, t).unwrap();
    let (f, lateness) = s.take_late(&live, t).unwrap().unwrap();
    assert_eq!(
        (f.owner, f.data.as_str(), lateness),
        (a.clone(), "{}", Lateness::OnTime)
    );
    let later = t + Duration::from_secs(900);
    let old = put_new(s, &a, t).unwrap();
    assert!(
        s.take(&old, later).unwrap().is_none(),
        "take: expired is missing"
    );
    let (f, lateness) = s.take_late(&old, later).unwrap().unwrap();
    assert_eq!((f.owner, lateness), (a.clone(), Lateness::LateUnreported));
    assert!(s.take_late(&old, later).unwrap().is_none(), "taken once");
    // Swept flows are reported once and stay answerable for their grace.
    let swept = put_new(s, &a, t).unwrap();
    let gone = put_new(s, &a, t).unwrap();
    let reported = s.sweep(later).unwrap();
    assert_eq!(reported.len(), 2, "the late step reported `old` itself");
    assert!(
        reported
            .iter()
            .all(|f| f.owner == a && f.expired_at == later)
    );
    assert!(s.sweep(later).unwrap().is_empty(), "reported once");
    let almost = later + Duration::from_secs(899);
    let (_, lateness) = s.take_late(&swept, almost).unwrap().unwrap();
    assert_eq!(lateness, Lateness::Late, "within the grace, reported");
    let past = later + Duration::from_secs(900);
    assert!(
        s.take_late(&gone, past).unwrap().is_none(),
        "past the grace"
    );
    assert!(s.sweep(past).unwrap().is_empty());
}

/// Over time (MedMij OAUTH-12 case 5, LOG-1): flows opened at `step_s` intervals and
/// abandoned, some ended late by a step at a random delay, while new flows keep being
/// admitted. Every abandoned flow is reported exactly once (by a sweep or as
/// `LateUnreported` by its late step); a late step within the grace finds its flow, one
/// after it does not; expired flows never block admission. `delays` are seconds after the
/// flow's expiry at which its late step comes (`None`: it never comes). All flows come from
/// one source: `step_s` must keep its live flows within `limits`. A memory store needs a
/// sweep at least every `total` expiries (`sweep_every`), as the ZA GW adapter does at every
/// new flow: its reports of flows dropped unreported wait in a queue capped at `total`.
pub fn abandoned_over_time(
    s: &impl FlowStore,
    limits: &FlowLimits,
    delays: &[Option<u64>],
    step_s: u64,
    sweep_every: usize,
) {
    use std::collections::HashMap;
    let t = t0();
    let ttl = limits.ttl;
    let grace = limits.grace;
    let sec = Duration::from_secs;
    // id -> (owner, expires_at, late step at)
    let mut open: Vec<(SecretHash, FlowOwner, SystemTime, Option<SystemTime>)> = Vec::new();
    let mut reports: HashMap<SecretHash, usize> = HashMap::new();
    let mut by_data: HashMap<String, SecretHash> = HashMap::new();
    for (i, d) in delays.iter().enumerate() {
        let now = t + sec(step_s * i as u64);
        // Late steps due by now, in their order and at their own time (before this put).
        let mut due: Vec<(SystemTime, usize)> = open
            .iter()
            .enumerate()
            .filter_map(|(n, f)| f.3.filter(|at| *at <= now).map(|at| (at, n)))
            .collect();
        due.sort_unstable();
        for (step, n) in due {
            let (id, _, expires, at) = &mut open[n];
            *at = None;
            let within = step < *expires + grace;
            match s.take_late(id, step).unwrap() {
                Some((_, Lateness::LateUnreported)) => {
                    assert!(within, "found after its grace");
                    *reports.entry(*id).or_default() += 1;
                }
                Some((_, Lateness::Late)) => assert!(within, "found after its grace"),
                Some((_, Lateness::OnTime)) => panic!("on time after expiry"),
                None => assert!(!within, "lost within its grace"),
                Some(_) => panic!("unknown lateness"),
            }
        }
        let o = owner(CLIENT, "10.1.0.1");
        let id = FlowId::random(&ThreadRandom).hash();
        let data = format!("{{\"n\":{i}}}");
        // Admission: one source whose live flows stay within the limits while its expired
        // ones (kept for their grace) exceed them: an expired flow must never count.
        s.put(&id, &o, &data, now + ttl, Admission::New, now)
            .unwrap_or_else(|e| panic!("flow {i} refused at {now:?}: {e}"));
        by_data.insert(data, id);
        let expires = now + ttl;
        open.push((id, o, expires, d.map(|d| expires + sec(d))));
        if sweep_every > 0 && i % sweep_every == 0 {
            for f in s.sweep(now).unwrap() {
                *reports.entry(by_data[&f.data]).or_default() += 1;
            }
        }
    }
    let end = t + sec(step_s * delays.len() as u64) + ttl + grace + sec(1);
    for f in s.sweep(end).unwrap() {
        *reports.entry(by_data[&f.data]).or_default() += 1;
    }
    for (n, (id, _, _, _)) in open.iter().enumerate() {
        assert_eq!(
            reports.get(id).copied().unwrap_or(0),
            1,
            "flow {n} reported once"
        );
    }
    assert!(s.sweep(end + ttl + grace).unwrap().is_empty());
}
