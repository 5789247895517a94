//! The local SES (`aws-ses-v2-local`, found through `SES_ENDPOINT`, which `scripts/test` sets)
//! for the tests of the functions that send mail (features `testing` and `mail`): apps whose
//! mailer sends to it (or to an address where nothing answers), and what it received, read
//! from its `GET /store`. Its store is shared by every test, so each test mails addresses of
//! its own (`unique_email`).

use serde_json::Value;

use super::{TestApp, app_with, dead_address};
use crate::mail::Mailer;

/// The sender of every test app's mail.
pub const TEST_EMAIL_FROM: &str = "no-reply@auth.test.example";

/// The local SES endpoint tests use (`SES_ENDPOINT`); unset or silent, the test stops at once
/// with one line saying what to start.
pub fn ses_endpoint() -> String {
    super::local_endpoint(
        "SES_ENDPOINT",
        "the local SES",
        "run scripts/test, or start aws-ses-v2-local (scripts/dev does) and export \
         SES_ENDPOINT=http://127.0.0.1:<port>",
    )
    .trim_end_matches('/')
    .to_owned()
}

/// A fresh app (as `app_with`) whose mail goes to the local SES.
pub async fn mail_app(vars: &[(&str, &str)]) -> TestApp {
    mail_app_at(&ses_endpoint(), vars).await
}

/// A fresh app whose SES does not answer: nothing listens at its endpoint.
pub async fn dead_mail_app(vars: &[(&str, &str)]) -> TestApp {
    mail_app_at(&dead_address().await, vars).await
}

async fn mail_app_at(endpoint: &str, vars: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("EMAIL_FROM", TEST_EMAIL_FROM)];
    all.extend_from_slice(vars);
    let mut t = app_with(&all).await;
    t.app.mail = Some(Mailer::local(endpoint, TEST_EMAIL_FROM.to_owned()));
    t
}

/// An address no other test mails: `<local>+<random>@example.com`.
pub fn unique_email(local: &str) -> String {
    let tag = crate::secret::random_b64(6)
        .replace(['-', '_'], "x")
        .to_lowercase();
    format!("{local}+{tag}@example.com")
}

/// One mail as the local SES stored it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl ReceivedMail {
    /// The recovery token of the link in the text body.
    pub fn recovery_token(&self) -> Option<String> {
        let at = self.text.find("recoveryToken=")? + "recoveryToken=".len();
        let token: String = self.text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "_-.".contains(*c))
            .collect();
        Some(token)
    }

    /// The link in the text body (the first line that is a URL).
    pub fn link(&self) -> Option<String> {
        self.text
            .lines()
            .find(|l| l.starts_with("http"))
            .map(str::to_owned)
    }

    /// The 6-digit code in the text body.
    pub fn code(&self) -> Option<String> {
        self.text
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .map(str::to_owned)
    }
}

impl TestApp {
    /// Waits until every mail the app queued has been sent or given up.
    pub async fn flush_mail(&self) {
        if let Some(m) = &self.app.mail {
            m.flush().await;
        }
    }

    /// Every mail the local SES holds for `to`, oldest first (after `flush_mail`).
    pub async fn inbox(&self, to: &str) -> Vec<ReceivedMail> {
        self.flush_mail().await;
        inbox(to).await
    }
}

/// Every mail the local SES holds for `to`, oldest first.
pub async fn inbox(to: &str) -> Vec<ReceivedMail> {
    let store: Value = reqwest::get(format!("{}/store", ses_endpoint()))
        .await
        .expect("the local SES answers")
        .json()
        .await
        .expect("its store is JSON");
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    store["emails"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m["destination"]["to"]
                .as_array()
                .is_some_and(|a| a.iter().any(|t| t == to))
        })
        .map(|m| ReceivedMail {
            from: text(&m["from"]),
            subject: text(&m["subject"]),
            text: text(&m["body"]["text"]),
            html: text(&m["body"]["html"]),
        })
        .collect()
}
