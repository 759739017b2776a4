//! One HTTP answer type for every outcome of the core ([`HttpResponse`]), and its conversion
//! to `http::Response` (feature `http`): MedMij OAUTH-12 (every case), OAUTH-14 (no caching,
//! `Retry-After` when busy).

mod common;
use common::*;
use medmij_oauth::*;

fn content_types(r: &HttpResponse) -> usize {
    r.headers()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .count()
}

/// Every outcome of the core as an [`HttpResponse`]: status, one Content-Type at most, no
/// caching, body.
fn all_outcomes() -> Vec<(&'static str, HttpResponse)> {
    let s = server();
    let invalid = s.authorize("client_id=x").unwrap_err();
    let mut session = s.authorize(&query("umcharderwijk~1", "st")).unwrap();
    let denied = session
        .authenticated(Authentication::Failed)
        .unwrap()
        .unwrap();
    let code = code_for(&s, "umcharderwijk~1", t0());
    let issued = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
    let replay = s.token(Some(FORM_CONTENT_TYPE), &token_body(&code), &client(), t0());
    let case7 = s
        .check_resource(Some("Bearer x"), &za(), &gd("1"), Interaction::Read, t0())
        .unwrap_err();
    let busy = Busy::new(FlowLimit::PerSource, 16, DEFAULT_RETRY_AFTER);
    vec![
        ("case 1", HttpResponse::from(&invalid)),
        ("case 2", HttpResponse::from(&denied)),
        ("token", HttpResponse::from(&issued.response)),
        ("case 6", HttpResponse::from(&replay.response)),
        ("case 7", HttpResponse::from(&case7)),
        (
            "case 8",
            HttpResponse::from(ResourceError::backend_unavailable()),
        ),
        ("busy", HttpResponse::from(busy)),
    ]
}

mod oauth_12 {
    use super::*;

    /// MedMij OAUTH-12: each case has its fixed answer, none is an HTTP 500, and the adapter
    /// only copies status, headers and body.
    #[test]
    fn every_outcome_is_one_http_response() {
        for (name, r) in all_outcomes() {
            assert_ne!(r.status(), 500, "{name}");
            assert_eq!(r.header("cache-control"), Some("no-store"), "{name}");
            let expect = match name {
                "case 1" => (400, Some("application/json;charset=UTF-8")),
                "case 2" => (302, None),
                "token" => (200, Some("application/json;charset=UTF-8")),
                "case 6" => (400, Some("application/json;charset=UTF-8")),
                "case 7" => (401, Some("application/fhir+json")),
                "case 8" => (503, Some("application/fhir+json")),
                "busy" => (503, Some("application/json;charset=UTF-8")),
                _ => unreachable!(),
            };
            assert_eq!((r.status(), r.header("Content-Type")), expect, "{name}");
            assert_eq!(content_types(&r), usize::from(expect.1.is_some()), "{name}");
            if expect.1.is_some() {
                let json: serde_json::Value = serde_json::from_str(r.body()).unwrap();
                assert!(json.is_object(), "{name}");
            } else {
                assert_eq!(r.body(), "");
            }
        }
    }

    /// Case 2 is a redirect to the client with the error and the state.
    #[test]
    fn redirect_carries_location() {
        let (_, r) = all_outcomes().swap_remove(1);
        let location = r.header("Location").unwrap();
        assert!(location.starts_with(REDIRECT), "{location}");
        assert_eq!(
            param(location, "error").as_deref(),
            Some("unauthorized_client")
        );
        assert_eq!(param(location, "state").as_deref(), Some("st"));
    }

    /// Case 1 never redirects; its body names `invalid_request` and the cause.
    #[test]
    fn case_1_is_not_a_redirect() {
        let (_, r) = all_outcomes().swap_remove(0);
        assert_eq!(r.header("Location"), None);
        let json: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(json["error"], "invalid_request");
        assert!(
            json["error_description"]
                .as_str()
                .unwrap()
                .contains("client_id")
        );
    }
}

mod oauth_14 {
    use super::*;

    /// MedMij OAUTH-14: a full flow table is a 503 with `Retry-After`, and the answer says
    /// which limit.
    #[test]
    fn busy_says_when_to_come_back() {
        let (_, r) = all_outcomes().pop().unwrap();
        assert_eq!(r.header("Retry-After"), Some("60"));
        let json: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(json["error"], "temporarily_unavailable");
        assert!(
            json["error_description"]
                .as_str()
                .unwrap()
                .contains("from this address (at most 16)")
        );
    }

    /// The `Debug` form shows neither the body (an access token) nor a `Location` (a code):
    /// MedMij LOG-4.
    #[test]
    fn debug_hides_tokens_and_codes() {
        for (name, r) in all_outcomes() {
            let d = format!("{r:?}");
            assert!(!d.contains(r.body()) || r.body().is_empty(), "{name}: {d}");
            assert!(!d.contains("code="), "{name}: {d}");
        }
    }
}

#[cfg(feature = "http")]
mod http_feature {
    use super::*;

    /// MedMij OAUTH-12: the conversion to `http::Response` keeps status, every header and the
    /// body, with exactly the Content-Types the core set.
    #[test]
    fn into_http_keeps_everything() {
        for (name, r) in all_outcomes() {
            let expect = r.clone();
            let h: http::Response<String> = r.into();
            assert_eq!(h.status().as_u16(), expect.status(), "{name}");
            assert_eq!(h.body(), expect.body(), "{name}");
            assert_eq!(h.headers().len(), expect.headers().count(), "{name}");
            for (k, v) in expect.headers() {
                assert_eq!(
                    h.headers().get(k).unwrap().to_str().unwrap(),
                    v,
                    "{name} {k}"
                );
            }
            assert!(h.headers().get_all("content-type").iter().count() <= 1);
        }
    }
}
