//! Chain-monitoring events (MedMij LOG-6): the exact JSON form (golden
//! files under tests/golden/), the builder's checks, the sinks, and a
//! simulated PGO GW and ZA GW whose events link by session_id and trace_id.

mod common;

use std::path::PathBuf;

use common::t;
use medmij_log::*;
use medmij_types::{ClientId, GegevensdienstId, Hostname, RuleId, Zorgaanbiedernaam};

const SESSION: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
const TRACE_AUTHZ: &str = "0a0a0a0a-1b1b-4c2c-9d3d-4e4e4e4e4e4e";
const TRACE_TOKEN: &str = "1a1a1a1a-2b2b-4c3c-ad4d-5e5e5e5e5e5e";

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{actual}\n")).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        actual,
        expected.trim_end_matches('\n'),
        "golden file {name}"
    );
}

fn pgo() -> Hostname {
    Hostname::new("pgo.example.nl").unwrap()
}

fn za() -> Hostname {
    Hostname::new("za.umcharderwijk.example.nl").unwrap()
}

mod log_6 {
    use super::*;

    // MedMij LOG-6: an error description is 1 to 256 bytes; an error code
    // 1 to 64 of `a-z _ -`. The limits themselves are allowed.
    #[test]
    fn error_texts_and_codes_are_checked_to_their_limits() {
        assert_eq!(
            ErrorText::new(&"x".repeat(256)).unwrap().as_str().len(),
            256
        );
        for bad in [String::new(), "x".repeat(257)] {
            let e = ErrorText::new(&bad).unwrap_err();
            assert_eq!(
                (e.field, e.rule),
                ("error.description", RuleId::Log6),
                "{}",
                bad.len()
            );
        }
        for good in [
            "a".repeat(64),
            "invalid_request".into(),
            "access-denied".into(),
        ] {
            assert_eq!(ErrorCode::new(&good).unwrap().as_str(), good);
        }
        for bad in ["", &"a".repeat(65), "Invalid", "code1", "a b", "a.b"] {
            let e = ErrorCode::new(bad).unwrap_err();
            assert_eq!(e.rule, RuleId::Log6, "{bad}");
        }
    }

    fn token_request() -> ChainEvent {
        ChainEvent::builder(ChainEventType::SendTokenRequest, t(1_767_225_600))
            .session_str(SESSION)
            .trace_str(TRACE_TOKEN)
            .between(&pgo(), &za())
            .request(
                Method::Post,
                "https://za.umcharderwijk.example.nl/oauth/token",
            )
            .client(&ClientId::new("pgo.example.nl").unwrap())
            .grant_type(GrantType::AuthorizationCode)
            .aanbieder(&Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap())
            .build()
            .unwrap()
    }

    #[test]
    fn send_token_request_json_is_fixed() {
        golden("send_token_request.json", &token_request().to_json());
    }

    #[test]
    fn token_request_error_json_is_fixed() {
        let e = ChainEvent::builder(ChainEventType::TokenRequestError, t(1_767_225_601))
            .session_str(SESSION)
            .trace_str(TRACE_TOKEN)
            .between(&za(), &pgo())
            .request(
                Method::Post,
                "https://za.umcharderwijk.example.nl/oauth/token",
            )
            .client(&ClientId::new("pgo.example.nl").unwrap())
            .grant_type(GrantType::AuthorizationCode)
            .status(400)
            .error("invalid_grant", Some("authorization code already used"))
            .build()
            .unwrap();
        golden("token_request_error.json", &e.to_json());
    }

    #[test]
    fn receive_resource_request_json_is_fixed() {
        let e = ChainEvent::builder(ChainEventType::ReceiveResourceRequest, t(1_767_225_602))
            .session_str(SESSION)
            .trace_str("2a2a2a2a-3b3b-4c4c-bd5d-6e6e6e6e6e6e")
            .between(&pgo(), &za())
            .request(
                Method::Get,
                "https://za.umcharderwijk.example.nl/fhir/MedicationStatement",
            )
            .client(&ClientId::new("pgo.example.nl").unwrap())
            .aanbieder(&Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap())
            .gegevensdienst(&GegevensdienstId::new("49").unwrap())
            .status(200)
            .build()
            .unwrap();
        golden("receive_resource_request.json", &e.to_json());
    }

    #[test]
    fn every_type_has_its_snake_case_name() {
        let names: Vec<String> = ChainEventType::ALL
            .iter()
            .map(|t| serde_json::to_string(t).unwrap())
            .collect();
        golden("event_types.json", &format!("[{}]", names.join(",")));
        for required in [
            "send_authorization_request",
            "receive_authorization_request",
            "show_landing_page",
            "authorization_request_error",
            "send_authentication_request",
            "receive_authentication_response",
            "send_token_request",
            "receive_token_request",
            "send_resource_request",
            "receive_resource_request",
            "receive_resource_response",
        ] {
            assert!(names.contains(&format!("\"{required}\"")), "{required}");
        }
    }

    #[test]
    fn json_round_trips_and_reading_checks() {
        let e = token_request();
        assert_eq!(ChainEvent::from_json(&e.to_json()).unwrap(), e);
        let bad = e.to_json().replace(SESSION, "not-a-uuid");
        assert!(ChainEvent::from_json(&bad).is_err());
        let bad = e
            .to_json()
            .replace("\"send_token_request\"", "\"token_request_error\"");
        assert_eq!(ChainEvent::from_json(&bad).unwrap_err().field, "error");
    }

    #[test]
    fn builder_names_the_missing_or_refused_field() {
        let b = ChainEvent::builder(ChainEventType::SendResourceRequest, t(1))
            .session_str(SESSION)
            .between(&pgo(), &za())
            .request(
                Method::Get,
                "https://za.umcharderwijk.example.nl/fhir/Patient",
            );
        assert_eq!(b.clone().build().unwrap_err().field, "trace_id");
        let e = b.clone().trace_str("ABC").build().unwrap_err();
        assert_eq!((e.field, e.rule), ("trace_id", RuleId::Oauth21));
        let e = b
            .clone()
            .trace_str(TRACE_TOKEN)
            .status(1000)
            .build()
            .unwrap_err();
        assert_eq!(e.field, "status");
        let e = ChainEvent::builder(ChainEventType::ResourceRequestError, t(1))
            .session_str(SESSION)
            .trace_str(TRACE_TOKEN)
            .between(&za(), &pgo())
            .request(
                Method::Get,
                "https://za.umcharderwijk.example.nl/fhir/Patient",
            )
            .error(
                "suppressed",
                Some("token 0d6f3c1e-8a51-4f7e-9d0a-2b3c4d5e6f70 unknown"),
            )
            .build()
            .unwrap_err();
        assert_eq!((e.field, e.rule), ("error.description", RuleId::Log4));
        let e = ChainEvent::builder(ChainEventType::ResourceRequestError, t(1))
            .session_str(SESSION)
            .trace_str(TRACE_TOKEN)
            .between(&za(), &pgo())
            .request(
                Method::Get,
                "https://za.umcharderwijk.example.nl/fhir/Patient",
            )
            .build()
            .unwrap_err();
        assert_eq!(e.field, "error");
    }

    // MedMij LOG-6: only the error forms carry an error; a step that
    // succeeded with an error attached is refused by the builder and when
    // read back.
    #[test]
    fn a_step_that_is_no_error_form_carries_no_error() {
        let b = ChainEvent::builder(ChainEventType::SendResourceRequest, t(1))
            .session_str(SESSION)
            .trace_str(TRACE_TOKEN)
            .between(&pgo(), &za())
            .request(
                Method::Get,
                "https://za.umcharderwijk.example.nl/fhir/Patient",
            );
        assert!(b.clone().build().is_ok());
        let e = b.error("suppressed", None).build().unwrap_err();
        assert_eq!((e.field, e.rule), ("error", RuleId::Log6));
        let error_json = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/token_request_error.json"),
        )
        .unwrap();
        let error_json = error_json.trim_end();
        assert!(ChainEvent::from_json(error_json).is_ok());
        let forged = error_json.replacen(
            "\"type\":\"token_request_error\"",
            "\"type\":\"send_token_request\"",
            1,
        );
        assert_ne!(forged, error_json);
        let e = ChainEvent::from_json(&forged).unwrap_err();
        assert_eq!((e.field, e.rule), ("error", RuleId::Log6));
    }

    // MedMij LOG-6: the host takes the events it ships from the memory sink,
    // each once.
    #[test]
    fn the_memory_sink_hands_each_event_over_once() {
        let sink = MemoryChainSink::new();
        sink.emit(&token_request()).unwrap();
        sink.emit(&token_request()).unwrap();
        assert_eq!(sink.events().len(), 2);
        assert_eq!(sink.take(), [token_request(), token_request()]);
        assert!(sink.events().is_empty());
        assert!(sink.take().is_empty());
    }

    #[test]
    fn json_lines_sink_writes_one_line_per_event() {
        let sink = JsonLinesChainSink::new(Vec::new());
        let e = token_request();
        sink.emit(&e).unwrap();
        sink.emit(&e).unwrap();
        let out = String::from_utf8(sink.into_inner()).unwrap();
        assert_eq!(out, format!("{0}\n{0}\n", e.to_json()));
    }

    /// A PGO GW and a ZA GW each emit their side of one flow: the
    /// authorization request, a refused code (error form), and a token
    /// request. The events of both link by session_id, and each send links
    /// to its receive by trace_id.
    #[test]
    fn events_of_both_gateways_link_by_session_and_trace() {
        let pgo_sink = MemoryChainSink::new();
        let za_sink = MemoryChainSink::new();
        let client = ClientId::new("pgo.example.nl").unwrap();
        let aanbieder = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
        let session = CorrelationId::new(SESSION).unwrap();
        let other_session = CorrelationId::new("7f7f7f7f-8a8a-4b9b-8c0c-1d1d1d1d1d1d").unwrap();
        let step = |sink: &MemoryChainSink,
                    ty: ChainEventType,
                    s: u64,
                    session: &CorrelationId,
                    trace: &str,
                    from: &Hostname,
                    to: &Hostname,
                    endpoint: &str| {
            let mut b = ChainEvent::builder(ty, t(s))
                .session(session)
                .trace(&RequestId::new(trace).unwrap())
                .between(from, to)
                .request(Method::Post, endpoint)
                .client(&client)
                .aanbieder(&aanbieder);
            if ty.is_error() {
                b = b.status(400).error("invalid_grant", None);
            }
            sink.emit(&b.build().unwrap()).unwrap();
        };
        let authz = "https://za.umcharderwijk.example.nl/oauth/authorize";
        let token = "https://za.umcharderwijk.example.nl/oauth/token";
        use ChainEventType::*;
        step(
            &pgo_sink,
            SendAuthorizationRequest,
            1,
            &session,
            TRACE_AUTHZ,
            &pgo(),
            &za(),
            authz,
        );
        step(
            &za_sink,
            ReceiveAuthorizationRequest,
            2,
            &session,
            TRACE_AUTHZ,
            &pgo(),
            &za(),
            authz,
        );
        step(
            &za_sink,
            ShowLandingPage,
            3,
            &session,
            TRACE_AUTHZ,
            &za(),
            &pgo(),
            authz,
        );
        step(
            &pgo_sink,
            SendTokenRequest,
            4,
            &session,
            TRACE_TOKEN,
            &pgo(),
            &za(),
            token,
        );
        step(
            &za_sink,
            ReceiveTokenRequest,
            5,
            &session,
            TRACE_TOKEN,
            &pgo(),
            &za(),
            token,
        );
        step(
            &za_sink,
            TokenRequestError,
            6,
            &session,
            TRACE_TOKEN,
            &za(),
            &pgo(),
            token,
        );
        // Another flow's event at the ZA GW does not link to this one.
        step(
            &za_sink,
            ReceiveAuthorizationRequest,
            7,
            &other_session,
            "3a3a3a3a-4b4b-4c5c-8d6d-7e7e7e7e7e7e",
            &pgo(),
            &za(),
            authz,
        );

        // The monitor joins both streams by session.
        let all: Vec<ChainEvent> = pgo_sink
            .events()
            .into_iter()
            .chain(za_sink.events())
            .collect();
        let flow: Vec<&ChainEvent> = all.iter().filter(|e| e.session_id == session).collect();
        assert_eq!(flow.len(), 6);
        // Every send at the PGO GW has exactly one receive at the ZA GW with
        // the same trace id, sent from the sender to the receiver.
        for send in pgo_sink.events() {
            let receives: Vec<&&ChainEvent> = flow
                .iter()
                .filter(|e| {
                    e.trace_id == send.trace_id
                        && format!("{:?}", e.event_type).starts_with("Receive")
                })
                .collect();
            assert_eq!(receives.len(), 1, "{send:?}");
            assert_eq!(receives[0].sender, send.sender);
            assert_eq!(receives[0].receiver, send.receiver);
            assert!(receives[0].time >= send.time);
        }
        // The error is found through the token request's trace id.
        let err = flow
            .iter()
            .find(|e| e.event_type.is_error())
            .expect("error event");
        assert_eq!(err.trace_id.as_str(), TRACE_TOKEN);
        assert_eq!(err.error.as_ref().unwrap().code.as_str(), "invalid_grant");
        // Two traces in the flow: authorization and token.
        let mut traces: Vec<&str> = flow.iter().map(|e| e.trace_id.as_str()).collect();
        traces.sort();
        traces.dedup();
        assert_eq!(traces, [TRACE_AUTHZ, TRACE_TOKEN]);
    }
}

mod log_4 {
    use super::*;

    // MedMij LOG-4: a number of 8 or more digits in free text is refused,
    // also when it is longer than a BSN (a phone or account number, a date
    // written with digits only); shorter numbers are not.
    #[test]
    fn numbers_of_eight_or_more_digits_are_refused_in_free_text() {
        for text in [
            "order 12345678",
            "ref 123456789",
            "phone 0612345678",
            "account 123456789012345",
            "born 19700101",
        ] {
            assert!(secret_like(text).is_some(), "{text}");
            let e = ErrorText::new(text).unwrap_err();
            assert_eq!((e.field, e.rule), ("error.description", RuleId::Log4));
        }
        for text in ["code 1234567", "at 12:30 on 5 december"] {
            assert_eq!(secret_like(text), None, "{text}");
        }
    }

    // An error description that passes the checks reads back exactly as
    // given.
    #[test]
    fn an_error_text_reads_back_as_given() {
        let text = "invalid parameter redirect_uri";
        let e = ErrorText::new(text).unwrap();
        assert_eq!(e.as_str(), text);
        assert_eq!(String::from(e), text);
    }

    // MedMij LOG-4: an endpoint that passes the checks (no identifier in
    // its host or path) gives back its URL and host as given.
    #[test]
    fn an_endpoint_reads_back_its_url_and_host() {
        let url = "https://za.umcharderwijk.example.nl/fhir/MedicationStatement";
        let e = Endpoint::new(url).unwrap();
        assert_eq!(e.as_str(), url);
        assert_eq!(e.host(), "za.umcharderwijk.example.nl");
        assert_eq!(String::from(e), url);
    }
}
