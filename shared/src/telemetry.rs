//! Structured JSON logs. Every authentication decision is one `audit` line with the event,
//! its outcome, the member id when known and the client IP (DESIGN §7.8). Secrets are held in
//! types without a printable form, so no field here can carry one.

use tracing_subscriber::filter::LevelFilter;

use crate::metrics;

/// JSON lines to stdout (CloudWatch on Lambda), at the level `log_level` reads.
pub fn init() {
    let (level, problem) = log_level(|name| std::env::var(name).ok());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
    if let Some(problem) = problem {
        tracing::warn!(event = "config", outcome = "ignored", problem);
    }
}

/// The log level: `RUST_LOG` (one level name: `error`, `warn`, `info`, `debug`, `trace` or
/// `off`), else Lambda's `AWS_LAMBDA_LOG_LEVEL` (the function's `ApplicationLogLevel`, where
/// `FATAL` is `error`), else `info`. A value that is no level is named in a warning and logging
/// stays at `info` (issue 13: per-module directives would link a regex engine into every
/// binary for a filter nobody deploys).
pub fn log_level(var: impl Fn(&str) -> Option<String>) -> (LevelFilter, Option<String>) {
    for name in ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL"] {
        let Some(value) = var(name).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let level = match value.trim().to_ascii_lowercase().as_str() {
            "off" => LevelFilter::OFF,
            "error" | "fatal" => LevelFilter::ERROR,
            "warn" => LevelFilter::WARN,
            "info" => LevelFilter::INFO,
            "debug" => LevelFilter::DEBUG,
            "trace" => LevelFilter::TRACE,
            _ => {
                let problem = format!(
                    "{name}={value:?} is not a level (error, warn, info, debug, trace, off); \
                     logging at info"
                );
                return (LevelFilter::INFO, Some(problem));
            }
        };
        return (level, None);
    }
    (LevelFilter::INFO, None)
}

/// One authentication decision: its log line, and its metric (`metrics::decision`).
pub fn audit(event: &str, outcome: &str, member_id: Option<&str>, client_ip: &str) {
    metrics::decision(event, outcome);
    tracing::info!(
        event,
        outcome,
        member_id = member_id.unwrap_or(""),
        client_ip,
        "auth"
    );
}

/// One decision of an operator's call (DESIGN §3.12): `audit`'s line with the operator's
/// principal — an IAM ARN, or `api-key:<hash prefix>`, never a key.
pub fn audit_operator(
    event: &str,
    outcome: &str,
    member_id: Option<&str>,
    client_ip: &str,
    operator: &str,
) {
    metrics::decision(event, outcome);
    tracing::info!(
        event,
        outcome,
        member_id = member_id.unwrap_or(""),
        client_ip,
        operator,
        "auth"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Environment variables as (name, value).
    type Vars = &'static [(&'static str, &'static str)];

    #[test]
    fn the_level_comes_from_rust_log_then_lambda_and_a_bad_one_is_named() {
        let cases: [(Vars, LevelFilter, Option<&str>); 8] = [
            (&[], LevelFilter::INFO, None),
            (&[("RUST_LOG", "debug")], LevelFilter::DEBUG, None),
            (&[("RUST_LOG", " WARN ")], LevelFilter::WARN, None),
            (&[("RUST_LOG", "off")], LevelFilter::OFF, None),
            (
                &[("AWS_LAMBDA_LOG_LEVEL", "FATAL")],
                LevelFilter::ERROR,
                None,
            ),
            (
                &[("RUST_LOG", "error"), ("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
                LevelFilter::ERROR,
                None,
            ),
            (
                &[("RUST_LOG", ""), ("AWS_LAMBDA_LOG_LEVEL", "TRACE")],
                LevelFilter::TRACE,
                None,
            ),
            (
                &[("RUST_LOG", "shared=debug")],
                LevelFilter::INFO,
                Some("RUST_LOG=\"shared=debug\""),
            ),
        ];
        for (vars, level, problem) in cases {
            let (got, said) = log_level(|name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            });
            assert_eq!(got, level, "{vars:?}");
            match problem {
                None => assert_eq!(said, None, "{vars:?}"),
                Some(p) => assert!(said.unwrap().starts_with(p), "{vars:?}"),
            }
        }
    }
}
