//! Metrics as CloudWatch Embedded Metric Format (EMF) lines: each count is one JSON line on
//! stdout, which CloudWatch Logs turns into a metric of namespace `METRICS_NAMESPACE` (default
//! `MemberAuth`), dimensioned by `function` — the flow's binary name, set once at init by
//! `init` — and, for a decision, by its `outcome` (README: Metrics).
//!
//! - A decision (`decision`): every audit line (`telemetry::audit`) is also the metric named
//!   after its event, value 1, dimension sets `[function]` and `[function, outcome]`.
//! - An operational count (`count`): `http_5xx`, `http_503`, `dynamodb_throttled`,
//!   `cleanup_deleted`, `cleanup_remaining`, dimension set `[function]` only.
//!
//! Why a small writer rather than a crate: the service needs only counters with one or two
//! fixed dimensions, written as they happen. `metrics_cloudwatch_embedded` (0.10, the
//! well-kept crate for this) is a backend of the `metrics` facade: it brings `metrics` 0.24
//! and its global recorder, a collector that keeps every counter, gauge and histogram in a
//! map and flushes them per invocation, and (its default `lambda` feature) a `tower` layer
//! with `pin-project` wrapping the `lambda_runtime` service — more code in every binary and a
//! recorder to install at init, where BENCHMARKS.md measures each binary's size and cold start
//! against a hello-world's, for aggregation a handful of counts per request does not need.
//! This writer is one `serde_json` value (already linked) per count and no state but two
//! `OnceLock`s.
//!
//! A line goes straight to stdout, not through `tracing`: EMF needs `_aws` at the top level of
//! the JSON object, where the tracing formatter puts its own fields. Writing never fails a
//! request: a write error is ignored. Under the `testing` feature a line goes to the buffer of
//! the thread that wrote it, if that thread holds a `testing::MetricCapture`, and nowhere
//! otherwise (as test logs do), so tests and the in-process benchmarks print nothing.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::config::ConfigError;

/// The namespace when `METRICS_NAMESPACE` is unset or blank.
pub const DEFAULT_NAMESPACE: &str = "MemberAuth";

/// The `function` dimension before `init` has named the function (never on AWS: every
/// `main` calls `init` first).
const UNNAMED: &str = "unnamed";

static FUNCTION: OnceLock<&'static str> = OnceLock::new();
static NAMESPACE: OnceLock<String> = OnceLock::new();

/// At init, once: the `function` dimension of every metric this process writes (the binary's
/// name, `env!("CARGO_BIN_NAME")`, not the deployed function name) and the namespace, read
/// from `METRICS_NAMESPACE` now. A namespace CloudWatch would refuse fails the init, naming
/// the variable, instead of every metric being dropped silently.
pub fn init(function: &'static str) -> Result<(), ConfigError> {
    let namespace = namespace_from(std::env::var("METRICS_NAMESPACE").ok().as_deref())?;
    let _ = FUNCTION.set(function);
    let _ = NAMESPACE.set(namespace);
    Ok(())
}

/// `METRICS_NAMESPACE` checked against CloudWatch's rule: 1–255 of `A-Za-z0-9 . - _ / # :`
/// and space, not only spaces, not under the reserved `AWS/`. Unset or blank: the default.
pub fn namespace_from(raw: Option<&str>) -> Result<String, ConfigError> {
    let Some(raw) = raw.filter(|v| !v.trim().is_empty()) else {
        return Ok(DEFAULT_NAMESPACE.to_owned());
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || " .-_/#:".contains(c);
    if raw.len() > 255 || !raw.chars().all(allowed) || raw.starts_with("AWS/") {
        return Err(ConfigError {
            var: "METRICS_NAMESPACE",
            problem: format!(
                "{raw:?} is not a CloudWatch namespace (at most 255 of A-Za-z0-9 . - _ / # : \
                 and space, not starting with AWS/)"
            ),
        });
    }
    Ok(raw.to_owned())
}

/// One authentication decision: the metric `event`, value 1, with its `outcome`.
pub fn decision(event: &str, outcome: &str) {
    write(&line(&Metric {
        name: event,
        outcome: Some(outcome),
        value: 1,
        request_id: None,
    }));
}

/// One operational event (`http_5xx`, `dynamodb_throttled`, ...): the metric `name`, value 1.
pub fn count(name: &str) {
    count_n(name, 1);
}

/// An operational count of `value` (e.g. `cleanup_deleted`: the items one run deleted).
pub fn count_n(name: &str, value: u64) {
    write(&line(&Metric {
        name,
        outcome: None,
        value,
        request_id: None,
    }));
}

/// The answer's status, as the runtime gets it: every 5xx counts `http_5xx`, a 503 also
/// `http_503`; the request id rides along (not a dimension) to find the request's log lines.
pub fn answered(status: u16, request_id: &str) {
    let names: &[&str] = match status {
        503 => &["http_5xx", "http_503"],
        500..=599 => &["http_5xx"],
        _ => return,
    };
    for name in names {
        write(&line(&Metric {
            name,
            outcome: None,
            value: 1,
            request_id: Some(request_id),
        }));
    }
}

/// What one EMF line says.
struct Metric<'a> {
    name: &'a str,
    outcome: Option<&'a str>,
    value: u64,
    request_id: Option<&'a str>,
}

fn line(m: &Metric<'_>) -> String {
    let timestamp_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let namespace = NAMESPACE.get().map_or(DEFAULT_NAMESPACE, String::as_str);
    let function = FUNCTION.get().copied().unwrap_or(UNNAMED);
    emf(namespace, function, m, timestamp_ms)
}

/// The EMF object of one metric, as one line (no newline).
fn emf(namespace: &str, function: &str, m: &Metric<'_>, timestamp_ms: u64) -> String {
    let dimensions = match m.outcome {
        Some(_) => json!([["function"], ["function", "outcome"]]),
        None => json!([["function"]]),
    };
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dimensions,
                "Metrics": [{"Name": m.name, "Unit": "Count"}],
            }],
        }),
    );
    line.insert("function".into(), function.into());
    if let Some(outcome) = m.outcome {
        line.insert("outcome".into(), outcome.into());
    }
    if let Some(id) = m.request_id {
        line.insert("requestId".into(), id.into());
    }
    line.insert(m.name.into(), m.value.into());
    Value::Object(line).to_string()
}

#[cfg(not(feature = "testing"))]
fn write(line: &str) {
    use std::io::Write;
    // One `write_all` of the whole line under the lock, so no other output splits it.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(format!("{line}\n").as_bytes());
    let _ = out.flush();
}

#[cfg(feature = "testing")]
fn write(line: &str) {
    capture::push(line);
}

/// The per-thread buffers `testing::MetricCapture` reads.
#[cfg(feature = "testing")]
pub(crate) mod capture {
    use std::sync::{Arc, Mutex};

    pub(crate) type Lines = Arc<Mutex<Vec<String>>>;

    thread_local! {
        static CAPTURING: std::cell::RefCell<Option<Lines>> = const { std::cell::RefCell::new(None) };
    }

    pub(crate) fn push(line: &str) {
        CAPTURING.with(|c| {
            if let Some(lines) = &*c.borrow() {
                lines.lock().expect("metric buffer").push(line.to_owned());
            }
        });
    }

    pub(crate) fn start(lines: Lines) {
        CAPTURING.with(|c| *c.borrow_mut() = Some(lines));
    }

    pub(crate) fn stop() {
        CAPTURING.with(|c| *c.borrow_mut() = None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_is_one_emf_line_with_its_value_under_the_metric_name() {
        let m = Metric {
            name: "login",
            outcome: Some("invalid_credentials"),
            value: 1,
            request_id: None,
        };
        let text = emf("MemberAuth", "login", &m, 1_764_700_000_123);
        assert!(!text.contains('\n'), "one line");
        let v: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(
            v,
            json!({
                "_aws": {
                    "Timestamp": 1_764_700_000_123u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "MemberAuth",
                        "Dimensions": [["function"], ["function", "outcome"]],
                        "Metrics": [{"Name": "login", "Unit": "Count"}],
                    }],
                },
                "function": "login",
                "outcome": "invalid_credentials",
                "login": 1,
            })
        );
    }

    #[test]
    fn an_operational_count_has_only_the_function_dimension_and_its_value() {
        let m = Metric {
            name: "http_503",
            outcome: None,
            value: 1,
            request_id: Some("req-1"),
        };
        let v: Value =
            serde_json::from_str(&emf("Auth/Staging", "token", &m, 5)).expect("valid JSON");
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Auth/Staging");
        assert_eq!(directive["Dimensions"], json!([["function"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "http_503", "Unit": "Count"}])
        );
        assert_eq!(v["function"], "token");
        assert_eq!(v["http_503"], 1);
        assert_eq!(v["requestId"], "req-1");
        assert!(v.get("outcome").is_none());
        let m = Metric {
            name: "cleanup_deleted",
            outcome: None,
            value: 1234,
            request_id: None,
        };
        let v: Value = serde_json::from_str(&emf("MemberAuth", "session-cleanup", &m, 5)).unwrap();
        assert_eq!(v["cleanup_deleted"], 1234);
    }

    #[test]
    fn the_timestamp_is_now_in_milliseconds() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let v: Value = serde_json::from_str(&line(&Metric {
            name: "logout",
            outcome: Some("revoked"),
            value: 1,
            request_id: None,
        }))
        .unwrap();
        let ts = v["_aws"]["Timestamp"].as_u64().expect("a number");
        assert!(
            ts >= before && ts < before + 60_000,
            "{ts} is ms since the epoch"
        );
    }

    #[test]
    fn the_namespace_defaults_and_one_cloudwatch_refuses_fails_naming_the_variable() {
        assert_eq!(namespace_from(None).unwrap(), "MemberAuth");
        assert_eq!(namespace_from(Some("  ")).unwrap(), "MemberAuth");
        assert_eq!(
            namespace_from(Some("MemberAuth/staging #2")).unwrap(),
            "MemberAuth/staging #2"
        );
        for bad in ["AWS/Lambda", "Member\"Auth", "Mémber", &"x".repeat(256)] {
            let e = namespace_from(Some(bad)).unwrap_err();
            assert_eq!(e.var, "METRICS_NAMESPACE", "{bad}");
        }
    }
}
