//! The reference model of the AS (issue 3, item 4), shared by the in-memory and PostgreSQL
//! runs. Random interleavings of authorize / authenticate / data check / consent / issue /
//! redeem / replay / expire / resource calls by several clients over random times are run
//! against the AS and a small reference model; every answer must be the one the model
//! predicts, and the OAUTH rules are asserted on the way.
//!
//! The random source draws from a pool of only 1024 values, so that collisions happen in
//! almost every run and the redraw path (MedMij OAUTH-6) is exercised under the model too.

use super::*;
use medmij_oauth::*;
use proptest::prelude::*;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

struct PoolRandom(Mutex<u64>);

impl RandomSource for PoolRandom {
    fn fill(&self, dest: &mut [u8; 16]) {
        let mut x = self.0.lock().unwrap();
        // xorshift64*
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        let v = x.wrapping_mul(0x2545_f491_4f6c_dd1d) % 1024;
        *dest = [0; 16];
        dest[..8].copy_from_slice(&v.to_le_bytes());
    }
}

const CLIENTS: [&str; 3] = [
    "pgo.example.nl",
    "andere-pgo.example.com",
    "vreemd.example.org",
];
/// (scope, use case if offered)
const SCOPES: [(&str, Option<UseCase>); 5] = [
    ("umcharderwijk~1", Some(UseCase::Verzamelen)),
    ("umcharderwijk~3", Some(UseCase::Verzamelen)),
    ("umcharderwijk~4", Some(UseCase::Delen)),
    ("umcharderwijk~1 umcharderwijk~3", Some(UseCase::Verzamelen)),
    ("umcharderwijk~99", None),
];
const GDS: [&str; 3] = ["1", "3", "4"];

#[derive(Debug, Clone)]
pub enum Op {
    Authorize {
        client: usize,
        scope: usize,
        redirect_ok: bool,
    },
    Authenticate {
        session: usize,
        ok: bool,
    },
    Data {
        session: usize,
        available: bool,
    },
    Consent {
        session: usize,
        decision: u8,
    },
    Issue {
        session: usize,
    },
    Redeem {
        code: usize,
        client: usize,
        redirect_ok: bool,
    },
    Bogus {
        client: usize,
    },
    Resource {
        token: usize,
        gd: usize,
        write: bool,
    },
    Advance {
        secs: u64,
    },
    Sweep,
    /// Expands to Authorize + the four in-order steps on that session.
    HappyFlow {
        client: usize,
        scope: usize,
    },
}

/// An index: usually the newest element (`usize::MAX`), sometimes any.
fn index() -> impl Strategy<Value = usize> {
    prop_oneof![Just(usize::MAX), any::<usize>()]
}

fn pick(i: usize, len: usize) -> usize {
    if i == usize::MAX { len - 1 } else { i % len }
}

pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..3usize, 0..5usize, prop::bool::weighted(0.9))
            .prop_map(|(client, scope, redirect_ok)| Op::Authorize { client, scope, redirect_ok }),
        2 => (index(), prop::bool::weighted(0.9))
            .prop_map(|(session, ok)| Op::Authenticate { session, ok }),
        2 => (index(), prop::bool::weighted(0.9))
            .prop_map(|(session, available)| Op::Data { session, available }),
        2 => (index(), 0..4u8).prop_map(|(session, decision)| Op::Consent { session, decision }),
        3 => index().prop_map(|session| Op::Issue { session }),
        4 => (index(), prop::sample::select(vec![0usize, 0, 0, 1, 2]), prop::bool::weighted(0.9))
            .prop_map(|(code, client, redirect_ok)| Op::Redeem { code, client, redirect_ok }),
        1 => (0..3usize).prop_map(|client| Op::Bogus { client }),
        4 => (index(), 0..3usize, any::<bool>())
            .prop_map(|(token, gd, write)| Op::Resource { token, gd, write }),
        2 => prop_oneof![0..1000u64, Just(1), Just(899), Just(900), Just(901)]
            .prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::Sweep),
        4 => (0..2usize, 0..5usize).prop_map(|(client, scope)| Op::HappyFlow { client, scope }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum MStage {
    Auth,
    Data,
    Consent,
    Ready,
    Done,
}

struct MSession {
    real: Session,
    stage: MStage,
    client: usize,
    scope: usize,
    state: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum MCode {
    Issued,
    Redeemed(Option<usize>),
    Breached,
}

struct MCodeRec {
    text: String,
    client: usize,
    scope: usize,
    issued: SystemTime,
    state: MCode,
}

struct MToken {
    text: String,
    scope: usize,
    issued: SystemTime,
    revoked: bool,
}

struct Model {
    sessions: Vec<MSession>,
    codes: Vec<MCodeRec>,
    tokens: Vec<MToken>,
    now: SystemTime,
}

fn registry3() -> StaticClientRegistry {
    StaticClientRegistry::new()
        .with_client(ClientId::new(CLIENTS[0]).unwrap(), None)
        .with_client(
            ClientId::new(CLIENTS[1]).unwrap(),
            Some(vec![gd("1"), gd("4")]),
        )
}

fn may_use(client: usize, scope: usize) -> bool {
    match client {
        0 => true,
        1 => SCOPES[scope]
            .0
            .split(' ')
            .all(|p| p.ends_with("~1") || p.ends_with("~4")),
        _ => false,
    }
}

fn redirect_for(client: usize) -> String {
    format!("https://{}/cb", CLIENTS[client])
}

fn auth_query(client: usize, scope: usize, redirect_ok: bool, state: &str) -> String {
    let redirect = if redirect_ok {
        redirect_for(client)
    } else {
        format!("https://evil.example.net/cb?for={}", CLIENTS[client])
    };
    form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENTS[client])
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", SCOPES[scope].0)
        .append_pair("state", state)
        .finish()
}

fn redirect_case(r: &Redirect) -> Option<ErrorCase> {
    match r.kind() {
        RedirectKind::Error(c) => Some(c),
        RedirectKind::Code => None,
        other => panic!("a redirect kind the model does not know: {other:?}"),
    }
}

pub fn run<S: TokenStore>(store: S, ops: Vec<Op>, seed: u64) -> Result<(), TestCaseError> {
    let server = AuthorizationServer::with_random(
        config().allow_multiple_pairs(true),
        registry3(),
        store,
        PoolRandom(Mutex::new(seed | 1)),
    );
    let mut m = Model {
        sessions: vec![],
        codes: vec![],
        tokens: vec![],
        now: t0(),
    };
    let ops = ops.into_iter().flat_map(|op| match op {
        Op::HappyFlow { client, scope } => vec![
            Op::Authorize {
                client,
                scope,
                redirect_ok: true,
            },
            Op::Authenticate {
                session: usize::MAX,
                ok: true,
            },
            Op::Data {
                session: usize::MAX,
                available: true,
            },
            Op::Consent {
                session: usize::MAX,
                decision: 2,
            },
            Op::Issue {
                session: usize::MAX,
            },
        ],
        op => vec![op],
    });
    for (n, op) in ops.enumerate() {
        let now = m.now;
        match op {
            Op::Authorize {
                client,
                scope,
                redirect_ok,
            } => {
                let state = format!("state-{n}");
                let res = server.authorize(&auth_query(client, scope, redirect_ok, &state));
                let expect_ok = client < 2
                    && redirect_ok
                    && SCOPES[scope].1.is_some()
                    && may_use(client, scope);
                prop_assert_eq!(res.is_ok(), expect_ok, "authorize {} {}", client, scope);
                match res {
                    Ok(real) => {
                        prop_assert_eq!(Some(real.request().use_case()), SCOPES[scope].1);
                        m.sessions.push(MSession {
                            real,
                            stage: MStage::Auth,
                            client,
                            scope,
                            state,
                        });
                    }
                    // OAUTH-12 case 1: no redirect, invalid_request.
                    Err(e) => prop_assert_eq!(e.error(), "invalid_request"),
                }
            }
            Op::Authenticate { session, ok }
            | Op::Data {
                session,
                available: ok,
            } if !m.sessions.is_empty() => {
                let is_auth = matches!(op, Op::Authenticate { .. });
                let i = pick(session, m.sessions.len());
                let s = &mut m.sessions[i];
                let (res, expected_stage, next, fail_case) = if is_auth {
                    let a = if ok {
                        Authentication::Established(subject())
                    } else {
                        Authentication::Failed
                    };
                    (
                        s.real.authenticated(a),
                        MStage::Auth,
                        MStage::Data,
                        ErrorCase::IdentityNotEstablished,
                    )
                } else {
                    (
                        s.real.data_available(ok),
                        MStage::Data,
                        MStage::Consent,
                        ErrorCase::NoSuchResources,
                    )
                };
                if s.stage != expected_stage {
                    prop_assert!(res.is_err(), "OAUTH-11: out-of-order step accepted");
                } else {
                    let r = res.expect("in-order step");
                    if ok {
                        prop_assert!(r.is_none());
                        s.stage = next;
                    } else {
                        let r = r.expect("error redirect");
                        prop_assert_eq!(redirect_case(&r), Some(fail_case));
                        prop_assert_eq!(param(r.location(), "state"), Some(s.state.clone()));
                        prop_assert!(r.location().starts_with(&redirect_for(s.client)));
                        s.stage = MStage::Done;
                    }
                }
            }
            Op::Consent { session, decision } if !m.sessions.is_empty() => {
                let i = pick(session, m.sessions.len());
                let s = &mut m.sessions[i];
                let d = match decision {
                    0 => ConsentDecision::Refused,
                    1 => ConsentDecision::Undetermined,
                    _ => ConsentDecision::Granted,
                };
                let res = s.real.consent(d, now);
                if s.stage != MStage::Consent {
                    prop_assert!(res.is_err());
                } else {
                    match (d, res.expect("in order")) {
                        (ConsentDecision::Granted, ConsentOutcome::Granted(e)) => {
                            prop_assert_eq!(e.at, now);
                            s.stage = MStage::Ready;
                        }
                        (ConsentDecision::Refused, ConsentOutcome::Refused(e, r)) => {
                            prop_assert_eq!(e.decision, ConsentDecision::Refused); // CONSENT-3
                            prop_assert_eq!(redirect_case(&r), Some(ErrorCase::Denied));
                            prop_assert_eq!(param(r.location(), "state"), Some(s.state.clone()));
                            s.stage = MStage::Done;
                        }
                        (ConsentDecision::Undetermined, ConsentOutcome::Undetermined(r)) => {
                            prop_assert_eq!(redirect_case(&r), Some(ErrorCase::Failed));
                            s.stage = MStage::Done;
                        }
                        (d, o) => prop_assert!(false, "{:?} gave {:?}", d, o),
                    }
                }
            }
            Op::Issue { session } if !m.sessions.is_empty() => {
                let i = pick(session, m.sessions.len());
                let s = &mut m.sessions[i];
                let res = server.issue_code(&mut s.real, now);
                if s.stage != MStage::Ready {
                    prop_assert!(res.is_err(), "OAUTH-11: code issued out of order");
                    continue;
                }
                let r = res.expect("issue");
                prop_assert_eq!(r.kind(), RedirectKind::Code);
                prop_assert_eq!(param(r.location(), "state"), Some(s.state.clone())); // OAUTH-10
                let text = param(r.location(), "code").unwrap();
                prop_assert!(Code::parse(&text).is_some(), "OAUTH-6 form");
                // OAUTH-6: never equal to a code still in circulation (kept for replay checks).
                for c in &m.codes {
                    prop_assert!(
                        c.text != text || now >= c.issued + CODE_RETENTION,
                        "OAUTH-6: duplicate valid code"
                    );
                }
                m.codes.retain(|c| c.text != text);
                s.stage = MStage::Done;
                m.codes.push(MCodeRec {
                    text,
                    client: s.client,
                    scope: s.scope,
                    issued: now,
                    state: MCode::Issued,
                });
            }
            Op::Redeem {
                code,
                client,
                redirect_ok,
            } if !m.codes.is_empty() => {
                let i = pick(code, m.codes.len());
                let redirect = if redirect_ok {
                    redirect_for(m.codes[i].client)
                } else {
                    "https://x.example.nl/cb".into()
                };
                let body = form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "authorization_code")
                    .append_pair("code", &m.codes[i].text)
                    .append_pair("redirect_uri", &redirect)
                    .append_pair("client_id", CLIENTS[client])
                    .finish();
                let out = server.token(
                    Some(FORM_CONTENT_TYPE),
                    &body,
                    &ClientId::new(CLIENTS[client]).unwrap(),
                    now,
                );
                let status = out.response.status();
                let c = &mut m.codes[i];
                let kept = now < c.issued + CODE_RETENTION;
                // Predict (status, replay) and update the model.
                let expected: (u16, &str) = if !kept {
                    if client == 2 {
                        (401, "invalid_client")
                    } else {
                        (400, "invalid_grant")
                    }
                } else {
                    match c.state {
                        MCode::Redeemed(tok) => {
                            // OAUTH-8: breach, revoke the token.
                            let revoked = tok.is_some_and(|t| {
                                !m.tokens[t].revoked && now < m.tokens[t].issued + LIFETIME
                            });
                            if let Some(t) = tok {
                                m.tokens[t].revoked = true;
                            }
                            c.state = MCode::Breached;
                            prop_assert_eq!(
                                &out.event,
                                &TokenEvent::Replay {
                                    client_id: ClientId::new(CLIENTS[client]).unwrap(),
                                    token_revoked: revoked
                                }
                            );
                            (400, "invalid_grant")
                        }
                        MCode::Breached => {
                            let replay = matches!(
                                out.event,
                                TokenEvent::Replay {
                                    token_revoked: false,
                                    ..
                                }
                            );
                            prop_assert!(replay, "second replay");
                            (400, "invalid_grant")
                        }
                        MCode::Issued => {
                            c.state = MCode::Redeemed(None); // retired whatever the outcome
                            if client == 2 {
                                (401, "invalid_client")
                            } else if now >= c.issued + LIFETIME
                                || client != c.client
                                || !redirect_ok
                            {
                                (400, "invalid_grant") // OAUTH-7, OAUTH-9
                            } else {
                                (200, "")
                            }
                        }
                    }
                };
                let json: serde_json::Value = serde_json::from_str(&out.response.body()).unwrap();
                prop_assert_eq!(status, expected.0, "redeem {:?}", json);
                if status == 200 {
                    prop_assert_eq!(&json["expires_in"], 900); // OAUTH-7
                    prop_assert_eq!(&json["token_type"], "bearer");
                    prop_assert_eq!(json["scope"].as_str(), Some(SCOPES[c.scope].0)); // OAUTH-5
                    prop_assert!(json.get("refresh_token").is_none()); // OAUTH-1
                    let text = json["access_token"].as_str().unwrap().to_owned();
                    // OAUTH-6: never equal to a valid token.
                    for t in &m.tokens {
                        prop_assert!(
                            t.text != text || now >= t.issued + LIFETIME,
                            "duplicate valid token"
                        );
                    }
                    m.tokens.push(MToken {
                        text,
                        scope: c.scope,
                        issued: now,
                        revoked: false,
                    });
                    c.state = MCode::Redeemed(Some(m.tokens.len() - 1));
                } else {
                    prop_assert_eq!(json["error"].as_str(), Some(expected.1));
                }
            }
            Op::Bogus { client } => {
                let body = token_body("3f2b8c1e-9d4a-4f6b-8e2a-1c3d5e7f9a0b");
                let out = server.token(
                    Some(FORM_CONTENT_TYPE),
                    &body,
                    &ClientId::new(CLIENTS[client]).unwrap(),
                    now,
                );
                prop_assert_ne!(out.response.status(), 200);
            }
            Op::Resource {
                token,
                gd: g,
                write,
            } if !m.tokens.is_empty() => {
                let idx = pick(token, m.tokens.len());
                let t = &m.tokens[idx];
                let header = format!("Bearer {}", t.text);
                let interaction = if write {
                    Interaction::Write
                } else {
                    Interaction::Read
                };
                let res =
                    server.check_resource(Some(&header), &za(), &gd(GDS[g]), interaction, now);
                let use_case = SCOPES[t.scope].1.unwrap();
                let covers = SCOPES[t.scope]
                    .0
                    .split(' ')
                    .any(|p| p.ends_with(&format!("~{}", GDS[g])));
                let right_way = (use_case == UseCase::Delen) == write; // OAUTH-13
                // A later token may reuse an expired token's text: the newest one decides.
                let newest = m.tokens.iter().rposition(|x| x.text == t.text).unwrap();
                if newest == idx {
                    let expect = !t.revoked && now < t.issued + LIFETIME && covers && right_way;
                    prop_assert_eq!(res.is_ok(), expect, "resource");
                }
                if let Err(e) = res {
                    prop_assert_eq!(e.case_number(), 7);
                    let oo = e.operation_outcome();
                    prop_assert_eq!(oo["issue"][0]["code"].as_str(), Some("suppressed"));
                }
            }
            Op::Advance { secs } => m.now += Duration::from_secs(secs),
            Op::Sweep => {
                server.store().sweep(now).unwrap();
            }
            _ => {}
        }
    }
    Ok(())
}
