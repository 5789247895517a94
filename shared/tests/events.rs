//! Every fixture in events/ is an event its function accepts: HTTP fixtures parse with
//! `lambda_http` as API Gateway HTTP API (v2) requests for a route the service has; the
//! scheduled fixture parses as an EventBridge event.

use std::path::Path;

use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn routes() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let cargo: toml::Table = text.parse().unwrap();
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut out = vec![];
    for (path, target) in router {
        for entry in target
            .as_array()
            .expect("routes are arrays of {method, function}")
        {
            out.push((
                entry["method"].as_str().unwrap().to_uppercase(),
                path.clone(),
            ));
        }
    }
    out
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
        let route = (req.method().to_string(), req.uri().path().to_owned());
        assert!(
            routes().contains(&route),
            "{name}: {route:?} is not a route"
        );
        let body = shared::http::body_bytes(&req);
        if !body.is_empty() && shared::http::is_json(&req) {
            serde_json::from_slice::<serde_json::Value>(body)
                .unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
        }
    }
    assert!(seen >= 3, "events/ holds {seen} fixtures");
}
