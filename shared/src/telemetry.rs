//! Structured JSON logs. Every authentication decision is one `audit` line with the event,
//! its outcome, the member id when known and the client IP (DESIGN §7.8). Secrets are held in
//! types without a printable form, so no field here can carry one.

use tracing_subscriber::EnvFilter;

/// JSON lines to stdout (CloudWatch on Lambda); `RUST_LOG` filters, default `info`.
pub fn init() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// One authentication decision.
pub fn audit(event: &str, outcome: &str, member_id: Option<&str>, client_ip: &str) {
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
    tracing::info!(
        event,
        outcome,
        member_id = member_id.unwrap_or(""),
        client_ip,
        operator,
        "auth"
    );
}
