//! The fault drill and the load run of issue 16, over HTTP through the local stack that
//! `scripts/fuzz faults` and `scripts/fuzz load` start (`cargo lambda watch`, DynamoDB Local,
//! the local SES). Every answer is checked against what the service may answer then
//! (`member`, `client`); afterwards the tables are read directly and held against the answers
//! (`tables`). Prints a report and exits non-zero on any violation.
//!
//!   stress load    # STRESS_BASE_URL, STRESS_MEMBERS (300), STRESS_REQUESTS (3000), STRESS_CONCURRENCY (32)
//!   stress faults  # also STRESS_DDB_PID/STRESS_DDB_CMD, STRESS_SES_PID/STRESS_SES_CMD, STRESS_CAPTCHA_PORT

mod client;
mod faults;
mod load;
mod member;
mod tables;

use client::{Api, Recorder};
use member::Member;

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a valid value")),
        Err(_) => default,
    }
}

/// A fresh address under a run's name.
pub fn email(run: &str, i: usize) -> String {
    let tag = shared::secret::random_b64(6)
        .to_lowercase()
        .replace(['-', '_'], "x");
    format!("{run}-{i}-{tag}@stress.example.com")
}

/// A password the policy accepts, different for every member and every change.
pub fn password() -> String {
    format!(
        "violet harbour {} lantern",
        shared::secret::random_b64(9).replace(['-', '_'], "q")
    )
}

/// One request to each function the runs use, before anything is timed or broken: the first
/// request to a function through `cargo lambda watch` builds and starts it (13–16 s each).
/// Answers the member it used, whom the table checks count too.
pub async fn warm(api: &Api, captcha: Option<String>) -> Member {
    api.rec.set_phase("warm");
    let mut m = Member::new(email("warm", 0), password(), captcha, 10);
    m.register(api).await;
    let i = m.login(api, true).await.unwrap_or(0);
    if m.sessions.is_empty() {
        panic!("warm-up: the stack does not register and log in; see the API log");
    }
    m.exchange(api, i).await;
    m.refresh_tabs(api, i, 1).await;
    m.change_password(api, i, password(), false).await;
    m.send_recovery(api).await;
    m.logout(api, i).await;
    m
}

/// Prints answers per status per phase and the violations; answers whether there were none.
pub fn report_answers(rec: &Recorder) -> bool {
    println!("answers per phase (status: count):");
    for (phase, by_status) in rec.outcomes() {
        let cells: Vec<String> = by_status
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect();
        println!("  {phase:<24} {}", cells.join(", "));
    }
    let violations = rec.violations();
    println!("violations in answers: {}", violations.len());
    for v in violations.iter().take(40) {
        println!("  {v}");
    }
    violations.is_empty()
}

/// Prints the table checks; answers whether all held.
pub fn report_checks(checks: &[tables::Check]) -> bool {
    println!("after-run checks of the tables:");
    let mut ok = true;
    for c in checks {
        println!(
            "  {:<52} held {:>5}, failed {}",
            c.name,
            c.held,
            c.failed.len()
        );
        for f in c.failed.iter().take(10) {
            println!("    {f}");
        }
        ok &= c.failed.is_empty();
    }
    ok
}

#[tokio::main]
async fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    let base = std::env::var("STRESS_BASE_URL").expect("STRESS_BASE_URL: run scripts/fuzz");
    let passed = match what.as_str() {
        "load" => load::run(&base).await,
        "faults" => faults::run(&base).await,
        other => {
            eprintln!("usage: stress load|faults (not {other:?})");
            std::process::exit(2);
        }
    };
    if !passed {
        eprintln!("stress {what}: FAILED");
        std::process::exit(1);
    }
    println!("stress {what}: passed");
}
