//! Every fixture in events/ is an event its function accepts: HTTP fixtures parse with
//! `lambda_http` as API Gateway HTTP API (v2) requests for a route the service has; the
//! scheduled fixture parses as an EventBridge event.

use std::path::Path;

use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Whether the `cargo lambda watch` router (Cargo.toml's workspace metadata) sends
/// `method path` to a function.
fn routed(method: &str, path: &str) -> bool {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let cargo: toml::Table = text.parse().unwrap();
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    // A route's `{name}` segment matches any one non-empty segment, as API Gateway's does.
    let matches = |route: &str| {
        let (r, p): (Vec<&str>, Vec<&str>) =
            (route.split('/').collect(), path.split('/').collect());
        r.len() == p.len()
            && r.iter()
                .zip(&p)
                .all(|(r, p)| r == p || (r.starts_with('{') && r.ends_with('}') && !p.is_empty()))
    };
    let targets = router
        .iter()
        .find(|(route, _)| matches(route))
        .and_then(|(_, targets)| targets.as_array());
    targets.is_some_and(|targets| {
        targets.iter().any(|e| {
            e["method"]
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case(method))
        })
    })
}

#[test]
fn every_fixture_parses_as_the_event_its_function_takes() {
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("events")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        seen += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if name.starts_with("session-cleanup") {
            let e: aws_lambda_events::eventbridge::EventBridgeEvent =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(e.detail_type, "Scheduled Event", "{name}");
            continue;
        }
        let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
            panic!("{name} is not an HTTP API (payload v2) event");
        };
        assert!(ctx.http.source_ip.is_some(), "{name} has no sourceIp");
        let (method, path) = (req.method().as_str(), req.uri().path());
        assert!(
            routed(method, path),
            "{name}: {method} {path} is not a route"
        );
        let body = shared::http::body_bytes(&req);
        if !body.is_empty() && shared::http::is_json(&req) {
            serde_json::from_slice::<serde_json::Value>(body)
                .unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
        }
    }
    assert!(seen >= 3, "events/ holds {seen} fixtures");
}
