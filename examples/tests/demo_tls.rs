//! The demo network's servers on medmij-tls's tokio adapter: the server's
//! key-exchange group wins on the running front channel (MedMij TLS-1), and a
//! kept-open back-channel connection is re-checked before every request
//! (MedMij TLS-4, TLS-3).

use std::process::{Command, Stdio};

use medmij_examples::demo::{Actor, StepOutcome};
use medmij_examples::demo::{ConsentChoice, Network, ZA_HOST};
use medmij_types::RuleId;

/// `openssl s_client` against 127.0.0.1:`port` with these groups (client's
/// order) and extra flags; its stdout and stderr. Bounded: stdin is closed, so
/// s_client ends after the handshake.
fn s_client(port: u16, groups: &str, extra: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("20")
        .arg("openssl")
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", ZA_HOST, "-groups", groups])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

mod tls_1 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn front_channel_negotiates_the_servers_group_whatever_the_clients_order() {
        let net = Network::start(false).await.expect("network starts");
        let port = net.za_front_port();
        // The client prefers X25519; the server's strongest group is P-384
        // (secp384r1), and it wins, in TLS 1.3 and in TLS 1.2.
        let tls13 =
            tokio::task::spawn_blocking(move || s_client(port, "X25519:P-384", &["-tls1_3"]))
                .await
                .unwrap();
        assert!(
            tls13.contains("Server Temp Key: ECDH, secp384r1")
                || tls13.contains("Negotiated TLS1.3 group: secp384r1"),
            "{tls13}"
        );
        assert!(tls13.contains("TLSv1.3"), "{tls13}");
        let tls12 =
            tokio::task::spawn_blocking(move || s_client(port, "X25519:P-384", &["-tls1_2"]))
                .await
                .unwrap();
        assert!(
            tls12.contains("Server Temp Key: ECDH, secp384r1"),
            "{tls12}"
        );
        // Offered only X25519, the server takes it (it is "good" too): the
        // preference is the server's, not a refusal of everything else.
        let only = tokio::task::spawn_blocking(move || s_client(port, "X25519", &["-tls1_3"]))
            .await
            .unwrap();
        assert!(only.contains("Server Temp Key: X25519"), "{only}");
    }
}

mod tls_4 {
    use super::*;

    /// A Verzamelen flow, after which the PGO GW holds one kept-open back-channel
    /// connection to the ZA GW (its token request and its FHIR read both went
    /// over it); the connection count then.
    async fn flow_on_one_connection(net: &Network) -> u64 {
        let run = net
            .verzamelen(ConsentChoice::Grant)
            .await
            .expect("flow runs");
        assert!(run.collected.is_some(), "{run:?}");
        let conns = net.za_back_connections();
        assert_eq!(conns, 1, "token request and FHIR read on one connection");
        // A further request goes over the same connection and passes the re-check.
        assert_eq!(net.read_again().await.unwrap().0, 200);
        assert_eq!(net.za_back_connections(), conns, "connection kept open");
        // reqwest hands a connection back to its pool asynchronously, after the
        // answer's body: give it that moment, so that the next request finds the
        // open connection instead of starting a new one (which would be refused
        // at its handshake, not what these tests are about).
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        conns
    }

    /// The request after the change was refused on the kept-open connection (no
    /// new handshake), traced and logged with the source address (LOG-1).
    async fn assert_refused_on_the_open_connection(
        net: &Network,
        conns: u64,
        rule: RuleId,
        reason: &str,
    ) {
        let (status, _) = net.read_again().await.expect("an HTTP answer");
        assert_eq!(status, 403, "refused at the re-check before the request");
        assert_eq!(
            net.za_back_connections(),
            conns,
            "refused on the kept-open connection, not at a new handshake"
        );
        let steps = net.trace().steps();
        assert!(
            steps
                .iter()
                .any(|s| s.is(Actor::ZaGw, rule, StepOutcome::Refused)),
            "{steps:#?}"
        );
        let log = net.za_log().await.expect("log readable");
        let refused: Vec<_> = log
            .iter()
            .filter(|l| l.event_type == "tls.refused")
            .collect();
        assert_eq!(refused.len(), 1, "{log:#?}");
        assert_eq!(refused[0].outcome, "refused");
        assert_eq!(refused[0].source.as_deref(), Some("127.0.0.1"));
        assert!(
            refused[0]
                .detail
                .as_deref()
                .is_some_and(|d| d.contains(reason)),
            "{log:#?}"
        );
        // The server closed that connection: the next request needs a new
        // handshake, and that is refused as well (no new connection established).
        let again = net.read_again().await;
        assert!(again.as_ref().map_or(true, |(s, _)| *s != 200), "{again:?}");
        assert_eq!(net.za_back_connections(), conns);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn node_dropped_from_the_whitelist_is_refused_at_its_next_request_on_an_open_connection()
    {
        let net = Network::start(false).await.expect("network starts");
        let conns = flow_on_one_connection(&net).await;
        // Whitelist version 2 without the PGO GW, published by the Stelselnode
        // and fetched by the ZA GW (LISTS-6, LISTS-8).
        net.drop_pgo_from_whitelist()
            .await
            .expect("new Whitelist installed");
        assert_refused_on_the_open_connection(&net, conns, RuleId::Tls4, "not on the Whitelist")
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn revoked_node_is_refused_at_its_next_request_on_an_open_connection() {
        let net = Network::start(false).await.expect("network starts");
        let conns = flow_on_one_connection(&net).await;
        // The OCSP responder reports the PGO GW's certificate revoked; the OCSP
        // driver learns it (TLS-3).
        net.revoke_pgo_certificate().await;
        assert_refused_on_the_open_connection(&net, conns, RuleId::Tls3, "revoked").await;
    }

    /// The client side (the PGO GW's pooled connection to the ZA GW): a server
    /// dropped from the PGO GW's Whitelist gets no further request, not even on
    /// the connection the pool still holds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn server_dropped_from_the_clients_whitelist_gets_no_request_on_a_pooled_connection() {
        let net = Network::start(false).await.expect("network starts");
        let conns = flow_on_one_connection(&net).await;
        let reads_before = net
            .za_log_event_types()
            .await
            .unwrap()
            .iter()
            .filter(|t| *t == "fhir.read")
            .count();
        net.drop_za_from_pgo_whitelist()
            .await
            .expect("new Whitelist installed at the PGO GW");
        let r = net.read_again().await;
        let e = r.expect_err("no request to a server off the Whitelist");
        assert!(e.to_string().contains("not on the Whitelist"), "{e}");
        assert!(e.to_string().contains("before the request"), "{e}");
        let steps = net.trace().steps();
        assert!(
            steps
                .iter()
                .any(|s| s.is(Actor::PgoGw, RuleId::Tls4, StepOutcome::Refused)),
            "{steps:#?}"
        );
        // Nothing reached the ZA GW: no new connection, no new read logged.
        assert_eq!(net.za_back_connections(), conns);
        let reads_after = net
            .za_log_event_types()
            .await
            .unwrap()
            .iter()
            .filter(|t| *t == "fhir.read")
            .count();
        assert_eq!(reads_after, reads_before);
    }
}
