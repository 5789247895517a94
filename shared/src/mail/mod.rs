//! Mail through Amazon SES v2 (DESIGN §3.13; feature `mail`): recovery links and verification
//! codes, as text and HTML from the templates in `shared/templates/`, sent from `EMAIL_FROM`.
//!
//! A flow never waits on SES. `Mailer::send_later` hands the mail to a background task and the
//! answer goes out at once, so a request whose email has a member answers exactly as fast as
//! one whose email has none (no enumeration by timing, DESIGN §3.9): the DynamoDB work of the
//! two is the same, and the only difference, the send, happens after. On Lambda an execution
//! environment is frozen once the runtime asks for the next event; `run` therefore registers
//! an internal Lambda extension that, for every invocation, waits for the handler to finish
//! and then for every mail it queued (`Mailer::flush`) before it too asks for the next event —
//! Lambda keeps the environment running until both have. (`cargo lambda watch` serves the
//! Extensions API, and never freezes anyway.)
//!
//! A failed send is retried a bounded number of times (`ATTEMPTS`, with a short backoff) and
//! every failure is logged with the mail's kind and member id — never its body, link or code.
//! The HTTP answer is the same whatever SES does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinHandle;
use tracing::Instrument;

mod run;
pub use run::run;

/// Sends of one mail before it is given up (the SDK's own retries come on top of none: each
/// attempt is one request).
pub const ATTEMPTS: u32 = 3;

/// The wait before the second attempt; it doubles before each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// One mail to send. Its bodies carry a secret (a link with a token, a code): `Debug` hides
/// them, and no log line holds them.
pub struct Mail {
    /// What it is (`recovery`, `verification`), for the log.
    pub kind: &'static str,
    pub to: String,
    /// Whom it is for, for the log.
    pub member_id: String,
    subject: String,
    text: SecretString,
    html: SecretString,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("kind", &self.kind)
            .field("member_id", &self.member_id)
            .finish_non_exhaustive()
    }
}

const RECOVERY_TEXT: &str = include_str!("../../templates/recovery.txt");
const RECOVERY_HTML: &str = include_str!("../../templates/recovery.html");
const VERIFICATION_TEXT: &str = include_str!("../../templates/verification.txt");
const VERIFICATION_HTML: &str = include_str!("../../templates/verification.html");

/// `template` with each `{{name}}` replaced by its value.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

/// Text for an HTML attribute or element.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

impl Mail {
    /// The recovery mail: `link` opens the recovery page with the token (DESIGN §3.9).
    pub fn recovery(to: &str, member_id: &str, link: &str, ttl_seconds: i64) -> Self {
        let minutes = (ttl_seconds / 60).max(1).to_string();
        Self {
            kind: "recovery",
            to: to.to_owned(),
            member_id: member_id.to_owned(),
            subject: "Reset your password".into(),
            text: fill(RECOVERY_TEXT, &[("link", link), ("minutes", &minutes)]).into(),
            html: fill(
                RECOVERY_HTML,
                &[("link", &html_escape(link)), ("minutes", &minutes)],
            )
            .into(),
        }
    }

    /// The verification mail: the 6-digit `code` (DESIGN §3.10).
    pub fn verification(to: &str, member_id: &str, code: &str, ttl_seconds: i64) -> Self {
        let minutes = (ttl_seconds / 60).max(1).to_string();
        let values = [("code", code), ("minutes", minutes.as_str())];
        Self {
            kind: "verification",
            to: to.to_owned(),
            member_id: member_id.to_owned(),
            subject: format!("{code} is your verification code"),
            text: fill(VERIFICATION_TEXT, &values).into(),
            html: fill(VERIFICATION_HTML, &values).into(),
        }
    }

    fn content(&self) -> Result<EmailContent, aws_sdk_sesv2::error::BuildError> {
        let part = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        Ok(EmailContent::builder()
            .simple(
                Message::builder()
                    .subject(part(&self.subject)?)
                    .body(
                        Body::builder()
                            .text(part(self.text.expose_secret())?)
                            .html(part(self.html.expose_secret())?)
                            .build(),
                    )
                    .build(),
            )
            .build())
    }
}

/// The sender: an SES v2 client, the `From` address, and the sends still under way.
#[derive(Clone, Debug)]
pub struct Mailer {
    client: aws_sdk_sesv2::Client,
    from: String,
    pending: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Mailer {
    /// The sender on `sdk` (region, credentials, timeouts; `AWS_ENDPOINT_URL_SESV2` points it at
    /// the local SES in development), as Lambda builds it: its sends are X-Ray subsegments
    /// where Lambda runs an X-Ray daemon (active tracing).
    pub fn new(sdk: &aws_config::SdkConfig, from: String) -> Self {
        let mut conf = aws_sdk_sesv2::config::Builder::from(sdk);
        if let Some(subsegments) = crate::xray::Subsegments::from_env() {
            conf = conf.interceptor(subsegments);
        }
        Self::with_client(aws_sdk_sesv2::Client::from_conf(conf.build()), from)
    }

    /// This sender with its sends written as X-Ray subsegments by `subsegments` (tests point one
    /// at a socket of their own).
    pub fn traced(self, subsegments: crate::xray::Subsegments) -> Self {
        let conf = self.client.config().to_builder().interceptor(subsegments);
        Self {
            client: aws_sdk_sesv2::Client::from_conf(conf.build()),
            ..self
        }
    }

    /// A sender to the SES API at `endpoint` with dummy credentials (tests, `aws-ses-v2-local`).
    pub fn local(endpoint: &str, from: String) -> Self {
        let conf = aws_sdk_sesv2::config::Builder::new()
            .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
                "local", "local", None, None, "static",
            ))
            .timeout_config(
                aws_sdk_sesv2::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_millis(1500))
                    .operation_timeout(Duration::from_secs(5))
                    .build(),
            )
            .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
            .build();
        Self::with_client(aws_sdk_sesv2::Client::from_conf(conf), from)
    }

    fn with_client(client: aws_sdk_sesv2::Client, from: String) -> Self {
        Self {
            client,
            from,
            pending: Arc::default(),
        }
    }

    /// Sends `mail` in the background (bounded retries, failures logged); returns at once.
    pub fn send_later(&self, mail: Mail) {
        let client = self.client.clone();
        let from = self.from.clone();
        // In the invocation's span, so that its log lines carry the invocation's request id.
        let task =
            tokio::spawn(async move { deliver(&client, &from, &mail).await }.in_current_span());
        if let Ok(mut pending) = self.pending.lock() {
            pending.retain(|t| !t.is_finished());
            pending.push(task);
        }
    }

    /// Waits until every mail queued so far has been sent or given up.
    pub async fn flush(&self) {
        loop {
            let tasks: Vec<JoinHandle<()>> = match self.pending.lock() {
                Ok(mut p) => std::mem::take(&mut *p),
                Err(_) => return,
            };
            if tasks.is_empty() {
                return;
            }
            for t in tasks {
                let _ = t.await;
            }
        }
    }
}

/// One mail, tried up to `ATTEMPTS` times; the outcome logged without any of its content.
async fn deliver(client: &aws_sdk_sesv2::Client, from: &str, mail: &Mail) {
    let content = match mail.content() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(event = "mail_failed", kind = mail.kind, member_id = %mail.member_id, error = %e);
            return;
        }
    };
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let result = client
            .send_email()
            .from_email_address(from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(content.clone())
            .send()
            .await;
        match result {
            Ok(_) => {
                tracing::info!(event = "mail_sent", kind = mail.kind, member_id = %mail.member_id, attempt);
                return;
            }
            Err(e) => {
                let error = aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string();
                if attempt == ATTEMPTS {
                    tracing::error!(event = "mail_failed", kind = mail.kind, member_id = %mail.member_id, attempt, error);
                    return;
                }
                tracing::warn!(event = "mail_retry", kind = mail.kind, member_id = %mail.member_id, attempt, error);
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_carry_the_link_and_the_code_and_escape_html() {
        let m = Mail::recovery(
            "ann@example.com",
            "m1",
            "https://app.example/reset?a=1&recoveryToken=rc_x.y",
            1800,
        );
        let text = m.text.expose_secret();
        assert!(text.contains("https://app.example/reset?a=1&recoveryToken=rc_x.y"));
        assert!(text.contains("30 minutes"));
        let html = m.html.expose_secret();
        assert!(html.contains("href=\"https://app.example/reset?a=1&amp;recoveryToken=rc_x.y\""));
        assert!(!format!("{m:?}").contains("rc_x"));
        let v = Mail::verification("ann@example.com", "m1", "012345", 600);
        assert!(v.text.expose_secret().contains("012345"));
        assert!(v.html.expose_secret().contains("012345"));
        assert!(!v.text.expose_secret().contains("{{"));
        assert!(!format!("{v:?}").contains("012345"));
    }
}
