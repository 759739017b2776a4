//! The refresh request at the token endpoint (MedMij OAUTH-19, OAUTH-21, OAUTH-1): any body
//! and any tracing headers get a well-formed RFC 6749 answer, never a 500; only the one valid
//! refresh token (written `RT` in the input) of the chain yields tokens, then with a new
//! refresh token for exactly the consented scope, and it is retired at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medmij_oauth::*;
use std::time::{Duration, SystemTime};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let za = Zorgaanbiedernaam::new("umcharderwijk@medmij").unwrap();
    let config = ServerConfig::new()
        .offer(za.clone(), ScopeGegevensdienstId::new("1").unwrap(), UseCase::Verzamelen)
        .offer(za, ScopeGegevensdienstId::new("3").unwrap(), UseCase::Verzamelen);
    let pgo = ClientId::new("pgo.example.nl").unwrap();
    let ocl = StaticClientRegistry::new().with_client(pgo.clone(), None);
    let server = AuthorizationServer::new(config, ocl, MemoryStore::new());
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);

    // A long-lasting consent with its first refresh token.
    let t = TraceIds::new_flow();
    let q = format!(
        "response_type=code&client_id=pgo.example.nl&redirect_uri=https%3A%2F%2Fpgo.example.nl%2Fcb\
         &scope=umcharderwijk&state=s&MedMij-Request-ID={}&X-Correlation-ID={}",
        t.request_id, t.correlation_id
    );
    let mut session = server.authorize(&q).unwrap();
    session
        .authenticated(Authentication::Established(Subject::new("p").unwrap()))
        .unwrap();
    session.data_available(true).unwrap();
    let granted = session
        .consent_with(ConsentDecision::Granted, ConsentPeriod::Indefinite, now)
        .unwrap();
    assert!(matches!(granted, ConsentOutcome::Granted(_)));
    let loc = server.issue_code(&mut session, now).unwrap();
    let code = url::Url::parse(loc.location())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (rid, cid) = (t.request_id.to_string(), t.correlation_id.to_string());
    let first = server.token_v2(
        &TokenHttpRequest {
            content_type: Some(FORM_CONTENT_TYPE),
            body: &format!(
                "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fpgo.example.nl%2Fcb"
            ),
            request_id: Some(&rid),
            correlation_id: Some(&cid),
        },
        &pgo,
        now,
    );
    let json: serde_json::Value = serde_json::from_str(&first.response.body()).unwrap();
    let rt = json["refresh_token"].as_str().unwrap().to_owned();

    // The fuzzed refresh request.
    let body = text.replace("RT", &rt);
    let (r, c) = match mode & 3 {
        0 => (Some(rid.as_str()), Some(cid.as_str())),
        1 => (None, None),
        _ => (Some(text.get(..36.min(text.len())).unwrap_or("")), Some(cid.as_str())),
    };
    let ct = if mode & 4 == 0 { Some(FORM_CONTENT_TYPE) } else { Some(text) };
    let later = now + Duration::from_secs(u64::from(mode >> 3) * 1_000_000);
    let out = server.token_v2(
        &TokenHttpRequest { content_type: ct, body: &body, request_id: r, correlation_id: c },
        &pgo,
        later,
    );
    let status = out.response.status();
    assert!(matches!(status, 200 | 400 | 401), "status {status}");
    let answer: serde_json::Value = serde_json::from_str(&out.response.body()).unwrap();
    let http = HttpResponse::from(&out);
    assert_eq!(http.status(), status);
    if status == 200 {
        // Only the real refresh token (or the code grant can't happen: the code is used).
        assert!(body.contains(&rt));
        let new_rt = answer["refresh_token"].as_str().unwrap();
        assert_ne!(new_rt, rt);
        assert!(RefreshToken::parse(new_rt).is_some());
        assert_eq!(answer["scope"], "umcharderwijk");
        assert_eq!(answer["expires_in"], 900);
        // Retired at once: presented again, a breach.
        let again = server.token_v2(
            &TokenHttpRequest {
                content_type: Some(FORM_CONTENT_TYPE),
                body: &format!("grant_type=refresh_token&refresh_token={rt}&client_id=pgo.example.nl"),
                request_id: Some(&rid),
                correlation_id: Some(&cid),
            },
            &pgo,
            later,
        );
        assert_eq!(again.response.status(), 400);
    } else {
        assert!(answer["error"].is_string());
        assert!(answer.get("access_token").is_none());
    }
});
