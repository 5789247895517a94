//! Structured JSON logs. Every authentication decision is one `audit` line with the event,
//! its outcome, the member id when known and the client IP (DESIGN §7.8). Secrets are held in
//! types without a printable form, so no field here can carry one.
//!
//! Every line written during an invocation carries the invocation's `requestId` (and, when
//! Lambda traces it, its `xrayTraceId`) at the top level, so that one request's lines are one
//! CloudWatch Logs Insights filter: `lambda_runtime` opens a span around each invocation with
//! those fields (`layers::trace::request_span`), and `InvocationFields` copies them into each
//! line. Lines of the init, outside any invocation, have neither.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterFn, LevelFilter};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The name of the span `lambda_runtime` opens around each invocation.
pub const INVOCATION_SPAN: &str = "Lambda runtime invoke";

use crate::metrics;

/// JSON lines to stdout (CloudWatch on Lambda), at the level `log_level` reads.
pub fn init() {
    let (level, problem) = log_level(|name| std::env::var(name).ok());
    let _ = tracing_subscriber::registry()
        .with(json_lines(level, std::io::stdout))
        .try_init();
    if let Some(problem) = problem {
        tracing::warn!(event = "config", outcome = "ignored", problem);
    }
}

/// The functions' log lines, to `writer`: one JSON object per event, `{"level", "fields"}`
/// and, inside an invocation, its `requestId` and `xrayTraceId` first; events up to `level`.
/// The invocation's span is kept at every level but `off`, since the lines it names may be
/// warnings and errors only. (The test harness's `LogCapture` writes the same lines.)
pub fn json_lines<S, W>(level: LevelFilter, writer: W) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let invocation = level != LevelFilter::OFF;
    let filter = FilterFn::new(move |meta| {
        *meta.level() <= level || (invocation && meta.is_span() && meta.name() == INVOCATION_SPAN)
    })
    .with_max_level_hint(if invocation {
        level.max(LevelFilter::INFO)
    } else {
        LevelFilter::OFF
    });
    tracing_subscriber::fmt::layer()
        .fmt_fields(JsonFields::new())
        .event_format(InvocationFields(
            tracing_subscriber::fmt::format()
                .json()
                .with_current_span(false)
                .with_span_list(false)
                .with_target(false)
                .without_time(),
        ))
        .with_writer(writer)
        .with_filter(filter)
}

/// The JSON line formatter, with the fields of the enclosing invocation span (as `JsonFields`
/// recorded them: `{"requestId":"…","xrayTraceId":"…"}`) spliced in at the front of the line.
struct InvocationFields(Format<Json, ()>);

impl<S> FormatEvent<S, JsonFields> for InvocationFields
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let invocation = ctx.event_scope().and_then(|scope| {
            let span = scope.from_root().find(|s| s.name() == INVOCATION_SPAN)?;
            let extensions = span.extensions();
            let fields = extensions.get::<FormattedFields<JsonFields>>()?;
            let inner = fields.fields.strip_prefix('{')?.strip_suffix('}')?;
            (!inner.is_empty()).then(|| inner.to_owned())
        });
        let Some(invocation) = invocation else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(writer, "{{{invocation},{rest}"),
            None => writer.write_str(&line),
        }
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
    use lambda_http::lambda_runtime::layers::trace::request_span;
    use std::sync::{Arc, Mutex};

    /// Lines written while `f` runs, through `json_lines(level)` as this thread's subscriber.
    fn written(level: LevelFilter, f: impl FnOnce()) -> Vec<String> {
        let buf = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::registry()
            .with(json_lines(level, move || SharedSink(sink.clone())));
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    struct SharedSink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedSink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The span lambda_runtime opens around an invocation, from its own `request_span`.
    fn invocation(request_id: &str, trace: Option<&str>) -> tracing::Span {
        let mut ctx = lambda_http::Context::default();
        ctx.request_id = request_id.to_owned();
        ctx.xray_trace_id = trace.map(str::to_owned);
        request_span(&ctx)
    }

    const TRACE: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[test]
    fn lines_of_an_invocation_start_with_its_request_and_trace_ids_and_others_do_not() {
        let lines = written(LevelFilter::INFO, || {
            tracing::info!(event = "config", outcome = "ignored");
            invocation("req-1", Some(TRACE)).in_scope(|| {
                tracing::info!(event = "login", outcome = "success", "auth");
                // A span of the flow's own, inside the invocation's.
                tracing::info_span!("flow", step = 1).in_scope(|| tracing::warn!(event = "inner"));
                tracing::debug!(event = "below_the_level");
            });
            invocation("req-2", None).in_scope(|| tracing::error!(event = "untraced"));
            tracing::info!(event = "after");
        });
        assert_eq!(
            lines,
            [
                r#"{"level":"INFO","fields":{"event":"config","outcome":"ignored"}}"#.to_owned(),
                format!(
                    r#"{{"requestId":"req-1","xrayTraceId":"{TRACE}","level":"INFO","fields":{{"message":"auth","event":"login","outcome":"success"}}}}"#
                ),
                format!(
                    r#"{{"requestId":"req-1","xrayTraceId":"{TRACE}","level":"WARN","fields":{{"event":"inner"}}}}"#
                ),
                r#"{"requestId":"req-2","level":"ERROR","fields":{"event":"untraced"}}"#.to_owned(),
                r#"{"level":"INFO","fields":{"event":"after"}}"#.to_owned(),
            ]
        );
    }

    #[test]
    fn warnings_and_errors_carry_the_request_id_at_any_level() {
        let lines = written(LevelFilter::ERROR, || {
            invocation("req-3", None).in_scope(|| {
                tracing::warn!(event = "filtered");
                tracing::error!(event = "kept");
            });
        });
        assert_eq!(
            lines,
            [r#"{"requestId":"req-3","level":"ERROR","fields":{"event":"kept"}}"#]
        );
        let silent = written(LevelFilter::OFF, || {
            invocation("req-4", None).in_scope(|| tracing::error!(event = "off"));
        });
        assert!(silent.is_empty(), "{silent:?}");
    }

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
