//! The demo network's abuse limits (MedMij OAUTH-14, RFC 6819 4.4.1.11): one
//! source or one client cannot take a shared limit so that a person is turned
//! away, the log volume of anonymous failures is bounded, and memory is bounded.
//! Another source is another loopback address (127.0.0.2, …); the scripted person
//! comes from 127.0.0.1. Every flood is bounded in count and in time.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use medmij_examples::demo::{Actor, StepOutcome};
use medmij_examples::demo::{
    ConsentChoice, Limits, MAX_PENDING_PER_SOURCE, Network, PGO_HOST, ZA_HOST,
};
use medmij_types::RuleId;

fn lo(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// A valid authorization request for the demo's Verzamelen scope, as the PGO GW
/// would send a browser (the attacker replays the one link over and over).
async fn authorization_url(net: &Network) -> String {
    let c = net.front_channel_client(lo(9)).unwrap();
    let r = c
        .get(format!(
            "https://{PGO_HOST}/start?zorgaanbieder=umcdemo@medmij&gegevensdienst=4"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Sends `url` from `source` at full speed, `tasks` at a time, until `max`
/// requests are answered or `limit` has passed. Returns how many were admitted
/// (200: the TEST DigiD stand-in's page, a flow opened), got 429, 503 and anything
/// else.
async fn flood(
    net: &Network,
    source: IpAddr,
    url: &str,
    max: usize,
    limit: Duration,
) -> [usize; 4] {
    let client = net.front_channel_client(source).unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + limit;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, sent, url) = (client.clone(), sent.clone(), url.to_owned());
        tasks.spawn(async move {
            let mut counts = [0usize; 4];
            while sent.fetch_add(1, Ordering::Relaxed) < max && Instant::now() < deadline {
                let i = match client.get(&url).send().await.map(|r| r.status().as_u16()) {
                    Ok(200) => 0,
                    Ok(429) => 1,
                    Ok(503) => 2,
                    _ => 3,
                };
                counts[i] += 1;
            }
            counts
        });
    }
    let mut total = [0usize; 4];
    while let Some(c) = tasks.join_next().await {
        for (t, c) in total.iter_mut().zip(c.unwrap()) {
            *t += c;
        }
    }
    total
}

mod oauth_14 {
    use super::*;

    // One source floods the authorization endpoint at full speed (at most 5,000
    // requests or 10 s) while a person completes a flow: the source gets its
    // MAX_PENDING_PER_SOURCE flows and then HTTP 429; the person is served. The
    // global table has room for 1,000 here, fewer than the flood: without the
    // per-source limit the flood would fill it and the person would get 503.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_flooding_source_cannot_turn_a_person_away() {
        let limits = Limits {
            max_pending_flows: 1_000,
            ..Limits::default()
        };
        let net = Arc::new(
            Network::start_with(false, limits)
                .await
                .expect("network starts"),
        );
        let url = authorization_url(&net).await;
        let attacker = {
            let (net, url) = (net.clone(), url.clone());
            tokio::spawn(
                async move { flood(&net, lo(2), &url, 5_000, Duration::from_secs(10)).await },
            )
        };
        // The person, meanwhile, from 127.0.0.1.
        let run = net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        let counts = attacker.await.unwrap();
        assert!(
            run.collected.is_some(),
            "the person was turned away: {run:?}"
        );
        assert_eq!(counts[0], MAX_PENDING_PER_SOURCE, "{counts:?}");
        assert_eq!(counts[2] + counts[3], 0, "{counts:?}");
        assert!(counts[1] > 0, "{counts:?}");
        // After the flood, a person still gets in.
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert!(run.collected.is_some(), "{run:?}");
        // LOG-1 with a bounded volume: the refusals of the flood are two entries
        // (the first, and one that counts the rest), not one per request.
        let log = net.za_log().await.unwrap();
        let from_flood: Vec<_> = log
            .iter()
            .filter(|l| l.source.as_deref() == Some("127.0.0.2"))
            .collect();
        // On a loaded machine the flood's 16 connections can also meet the
        // per-source handshake limit (TLS): those refusals are aggregated the
        // same way (at most a first entry and a count).
        let tls: Vec<_> = from_flood
            .iter()
            .filter(|l| l.event_type == "tls.refused")
            .collect();
        assert!(tls.len() <= 2, "{tls:#?}");
        let flood_entries: Vec<_> = from_flood
            .iter()
            .filter(|l| l.event_type != "tls.refused")
            .collect();
        assert_eq!(flood_entries.len(), 2, "{flood_entries:#?}");
        assert_eq!(flood_entries[0].event_type, "oauth.authorize.busy");
        let counted = format!("{} more", counts[1] - 1);
        assert!(
            flood_entries[1]
                .detail
                .as_deref()
                .is_some_and(|d| d.contains(&counted)),
            "{counted}: {flood_entries:#?}"
        );
        net.verify_logs().await.expect("logs verify");
    }

    // The per-client limit holds across sources: with room for 5 flows per client,
    // three sources together get 5.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn pending_flows_are_limited_per_client_across_sources() {
        let limits = Limits {
            max_pending_per_client: 5,
            ..Limits::default()
        };
        let net = Network::start_with(false, limits).await.unwrap();
        let url = authorization_url(&net).await;
        let mut admitted = 0;
        for n in 2..5 {
            let c = flood(&net, lo(n), &url, 4, Duration::from_secs(10)).await;
            assert_eq!(c[1] + c[3], 0, "{c:?}");
            admitted += c[0];
        }
        assert_eq!(admitted, 5);
        assert_eq!(net.pending_flows(), 5);
    }

    // The global limit stays: with room for 3 flows, the fourth source is told to
    // come back later.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_global_limit_stays() {
        let limits = Limits {
            max_pending_flows: 3,
            ..Limits::default()
        };
        let net = Network::start_with(false, limits).await.unwrap();
        let url = authorization_url(&net).await;
        let c = flood(&net, lo(2), &url, 5, Duration::from_secs(10)).await;
        assert_eq!(c, [3, 0, 2, 0]);
    }

    // Idle TCP connections from one source take at most that source's share of a
    // server's connections: a person's flow completes while they are held open.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn idle_connections_from_one_source_do_not_block_the_back_channel() {
        let limits = Limits {
            max_connections: 8,
            max_connections_per_source: 4,
            handshake_timeout: Duration::from_secs(30),
            ..Limits::default()
        };
        let net = Network::start_with(false, limits).await.unwrap();
        let mut idle = Vec::new();
        for port in [net.za_back_port(), net.za_front_port()] {
            for _ in 0..20 {
                let s = tokio::net::TcpSocket::new_v4().unwrap();
                s.bind((lo(2), 0).into()).unwrap();
                if let Ok(c) = s.connect(([127, 0, 0, 1], port).into()).await {
                    idle.push(c);
                }
            }
        }
        let t = Instant::now();
        let run = tokio::time::timeout(
            Duration::from_secs(20),
            net.verzamelen(ConsentChoice::Grant),
        )
        .await
        .expect("the flow does not wait for the idle connections")
        .expect("flow runs");
        assert!(run.collected.is_some(), "{run:?}");
        assert!(t.elapsed() < Duration::from_secs(20));
        drop(idle);
    }

    // MedMij OAUTH-14: connections stalled in their TLS handshake hold at most
    // MAX_HANDSHAKES_PER_SOURCE of medmij-tls's handshake places per source
    // (the adapter's `max_handshakes_per_source`); one more from that source is
    // closed at once and logged, while another source is still served.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn handshakes_in_progress_are_capped_per_source() {
        use tokio::io::AsyncReadExt;
        let limits = Limits {
            max_handshakes_per_source: 3,
            handshake_timeout: Duration::from_secs(30),
            ..Limits::default()
        };
        let net = Network::start_with(false, limits).await.unwrap();
        let port = net.za_front_port();
        let connect = |from: IpAddr| async move {
            let s = tokio::net::TcpSocket::new_v4().unwrap();
            s.bind((from, 0).into()).unwrap();
            s.connect(([127, 0, 0, 1], port).into()).await.unwrap()
        };
        // Three connections that never send a ClientHello hold the places of lo(3).
        let mut stalled = Vec::new();
        for _ in 0..3 {
            stalled.push(connect(lo(3)).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The fourth from lo(3) is closed at once (EOF, no waiting for a timeout).
        let mut fourth = connect(lo(3)).await;
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), fourth.read(&mut buf))
            .await
            .expect("closed at once, not held until the handshake timeout");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
        // Another source is served meanwhile.
        let c = net.front_channel_client(lo(4)).unwrap();
        let r = c
            .get(format!("https://{ZA_HOST}/"))
            .send()
            .await
            .expect("another source gets through");
        assert!(r.status().as_u16() < 500, "{}", r.status());
        // The refusal is logged (LOG-1), with its source.
        let log = net.za_log().await.unwrap();
        assert!(
            log.iter().any(|l| l.event_type == "tls.refused"
                && l.source.as_deref() == Some("127.0.0.3")
                && l.detail.as_deref().is_some_and(|d| d.contains("handshake"))),
            "{log:#?}"
        );
        drop(stalled);
    }

    // MedMij OAUTH-14: the PGO GW keeps at most MAX_PGO_PENDING_PER_SESSION
    // authorizations per browser session and MAX_PGO_PENDING in total; beyond the
    // latter /start answers 503, logged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_pgo_pending_map_is_capped_per_session_and_in_total() {
        let limits = Limits {
            max_pgo_pending_per_session: 3,
            max_pgo_pending: 10,
            ..Limits::default()
        };
        let net = Network::start_with(false, limits).await.unwrap();
        let c = net.front_channel_client(lo(2)).unwrap();
        let start =
            format!("https://{PGO_HOST}/start?zorgaanbieder=umcdemo@medmij&gegevensdienst=4");
        // One browser session starting 20 times keeps its newest 3.
        let sid = "0123456789abcdef0123456789abcdef";
        for _ in 0..20 {
            let r = c
                .get(&start)
                .header("Cookie", format!("pgo_session={sid}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 302);
        }
        assert_eq!(net.pgo_pending_flows(), 3);
        // Cookie-less starts (a new session each) fill the rest, then 503.
        let mut statuses = Vec::new();
        for _ in 0..10 {
            statuses.push(c.get(&start).send().await.unwrap().status().as_u16());
        }
        assert_eq!(statuses, [302, 302, 302, 302, 302, 302, 302, 503, 503, 503]);
        assert_eq!(net.pgo_pending_flows(), 10);
        let log = net.pgo_log().await.unwrap();
        assert_eq!(log.len(), 2, "first refusal + one counting entry: {log:#?}");
        assert_eq!(log[0].event_type, "pgo.start.refused");
        assert_eq!(log[0].source.as_deref(), Some("127.0.0.2"));
    }

    // MedMij OAUTH-14: one source cannot fill the PGO GW's table either; beyond
    // its share it gets HTTP 429, logged, and another source is still served.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_pgo_pending_map_is_capped_per_source() {
        let limits = Limits {
            max_pgo_pending_per_source: 4,
            ..Limits::default()
        };
        let net = Network::start_with(false, limits).await.unwrap();
        let start =
            format!("https://{PGO_HOST}/start?zorgaanbieder=umcdemo@medmij&gegevensdienst=4");
        let a = net.front_channel_client(lo(2)).unwrap();
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(a.get(&start).send().await.unwrap().status().as_u16());
        }
        assert_eq!(statuses, [302, 302, 302, 302, 429, 429]);
        let b = net.front_channel_client(lo(3)).unwrap();
        assert_eq!(b.get(&start).send().await.unwrap().status(), 302);
        assert_eq!(net.pgo_pending_flows(), 5);
        // The person (127.0.0.1) still collects.
        let run = net.verzamelen(ConsentChoice::Grant).await.unwrap();
        assert!(run.collected.is_some(), "{run:?}");
        let log = net.pgo_log().await.unwrap();
        let refused: Vec<_> = log
            .iter()
            .filter(|l| l.source.as_deref() == Some("127.0.0.2"))
            .collect();
        assert_eq!(refused.len(), 2, "{log:#?}");
        assert_eq!(refused[0].event_type, "pgo.start.refused");
    }

    // The step trace is a ring buffer: a network with room for 40 steps keeps the
    // last 40 of a whole flow.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_trace_keeps_its_cap() {
        let limits = Limits {
            max_trace_steps: 40,
            ..Limits::default()
        };
        let net = Network::start_with(false, limits).await.unwrap();
        for _ in 0..3 {
            assert!(
                net.verzamelen(ConsentChoice::Grant)
                    .await
                    .unwrap()
                    .collected
                    .is_some()
            );
        }
        let steps = net.trace().steps();
        assert_eq!(steps.len(), 40);
        assert!(net.trace().dropped() > 0);
        // The newest steps are kept: the end of the last flow.
        assert!(
            steps.iter().rev().take(5).any(|s| s.is(
                Actor::PgoGw,
                RuleId::Consent4,
                StepOutcome::Done
            )),
            "{steps:#?}"
        );
    }
}

mod log_1 {
    use super::*;

    // MedMij LOG-1 with a bounded volume (OAUTH-14): 300 invalid authorization
    // requests from one source are two entries, the first and one that counts the
    // other 299; another source has its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn anonymous_refusals_are_counted_per_source() {
        let net = Network::start(false).await.unwrap();
        let bad = format!("https://{ZA_HOST}/oauth/authorize?response_type=token");
        let a = net.front_channel_client(lo(2)).unwrap();
        for _ in 0..300 {
            assert_eq!(a.get(&bad).send().await.unwrap().status(), 400);
        }
        let b = net.front_channel_client(lo(3)).unwrap();
        assert_eq!(b.get(&bad).send().await.unwrap().status(), 400);
        let log = net.za_log().await.unwrap();
        let summary: Vec<(String, Option<String>)> = log
            .iter()
            .map(|l| (l.event_type.clone(), l.source.clone()))
            .collect();
        assert_eq!(log.len(), 3, "{log:#?}");
        assert!(summary.contains(&("oauth.authorize".into(), Some("127.0.0.2".into()))));
        assert!(summary.contains(&("oauth.authorize".into(), Some("127.0.0.3".into()))));
        let counted = log
            .iter()
            .find(|l| l.event_type == "refusals.counted")
            .expect("a counting entry");
        assert_eq!(counted.source.as_deref(), Some("127.0.0.2"));
        assert!(
            counted
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("299 more") && d.contains("oauth.authorize x299")),
            "{counted:#?}"
        );
        net.verify_logs().await.expect("logs verify");
    }

    // A window that closes is written by the gateway itself (no reader needed):
    // with a 200 ms window, the counting entry appears on its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_closed_window_is_written_by_itself() {
        let limits = Limits {
            anonymous_log_window: Duration::from_millis(200),
            ..Limits::default()
        };
        let net = Network::start_with(false, limits).await.unwrap();
        let bad = format!("https://{ZA_HOST}/oauth/authorize?response_type=token");
        let a = net.front_channel_client(lo(2)).unwrap();
        for _ in 0..5 {
            assert_eq!(a.get(&bad).send().await.unwrap().status(), 400);
        }
        let t = Instant::now();
        loop {
            // The entries written so far, without asking for a flush.
            let log = net.za_log_written().unwrap();
            if log.len() == 2 {
                assert_eq!(log[1].event_type, "refusals.counted");
                assert!(
                    log[1]
                        .detail
                        .as_deref()
                        .is_some_and(|d| d.contains("4 more")),
                    "{log:#?}"
                );
                break;
            }
            assert_eq!(log.len(), 1, "{log:#?}");
            assert!(t.elapsed() < Duration::from_secs(5), "no counting entry");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
