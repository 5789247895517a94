//! The fault drill: five runs of `STRESS_FAULT_REQUESTS` (300) mixed requests at
//! `STRESS_FAULT_CONCURRENCY` (8), each breaking one dependency after its first third and
//! mending it after its second (or after `HOLD` at most):
//!
//! - `ddb-restart`: DynamoDB Local stopped (SIGTERM), then started again on its `-dbPath`;
//! - `ddb-hang`: DynamoDB Local frozen (SIGSTOP) — connections open, nothing answers — then
//!   resumed (SIGCONT), when it applies the writes it had queued;
//! - `ses-down`: the local SES killed, then started again — mail goes out after the answer,
//!   so no answer may change;
//! - `captcha-down`, `captcha-hang`: the CAPTCHA verifier (a fake this driver serves) not
//!   listening, then accepting connections and never answering.
//!
//! Every answer must be one the contract allows for what the driver knows, or, while the
//! dependency the route needs is down (and for one function timeout after), 503 with
//! `Retry-After`; all within the function's timeout. After each run a fresh member must
//! register and log in without a 503; after all runs the tables are checked (`tables`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use std::process::{Child, Command};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::{Api, FUNCTION_TIMEOUT, latency_table};
use crate::member::Member;
use crate::tables::Tables;
use crate::{email, env_or, password, report_answers, report_checks, warm};

/// The longest a dependency stays broken in a run.
const HOLD: Duration = Duration::from_secs(15);
/// The token the fake verifier accepts.
const CAPTCHA_TOKEN: &str = "stress-captcha-token";

/// A process the drill can stop, freeze and restart: first the one the script started
/// (its pid), then the ones the drill starts again with the same command.
struct Proc {
    what: &'static str,
    pid: u32,
    cmd: String,
    child: Option<Child>,
}

fn signal(sig: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {pid} failed");
}

impl Proc {
    fn from_env(what: &'static str, pid_var: &str, cmd_var: &str) -> Self {
        Self {
            what,
            pid: env_or(pid_var, 0),
            cmd: std::env::var(cmd_var).unwrap_or_else(|_| panic!("{cmd_var} is not set")),
            child: None,
        }
    }

    async fn stop(&mut self) {
        signal("-TERM", self.pid);
        for _ in 0..200 {
            let gone = match &mut self.child {
                Some(c) => c.try_wait().ok().flatten().is_some(),
                // Not our child: gone, or a zombie its parent (the script) has not reaped yet.
                None => std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).map_or(
                    true,
                    |stat| {
                        stat.rsplit_once(") ")
                            .is_some_and(|(_, rest)| rest.starts_with('Z'))
                    },
                ),
            };
            if gone {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not stop", self.what);
    }

    fn start(&mut self) {
        let child = Command::new("sh")
            .args(["-c", &self.cmd])
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} again: {e}", self.what));
        self.pid = child.id();
        self.child = Some(child);
    }
}

impl Drop for Proc {
    /// The process this drill started is stopped with it (the script stops the first one).
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `url` until anything answers; answers how long that took.
async fn until_answering(url: &str) -> Duration {
    let start = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    while http.get(url).send().await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{url} never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start.elapsed()
}

/// The fake CAPTCHA verifier: the siteverify form protocol, success for `CAPTCHA_TOKEN`.
/// Mode 0 answers, 1 is not listening, 2 accepts and never answers.
struct Verifier {
    port: u16,
    mode: Arc<AtomicU8>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Verifier {
    async fn start(port: u16) -> Self {
        let mut v = Self {
            port,
            mode: Arc::new(AtomicU8::new(0)),
            task: None,
        };
        v.listen().await;
        v
    }

    async fn listen(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("the CAPTCHA port is free");
        let mode = self.mode.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mode = mode.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16384];
                    let mut got = 0;
                    loop {
                        let Ok(n) = sock.read(&mut buf[got..]).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        got += n;
                        let text = String::from_utf8_lossy(&buf[..got]);
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            if body.len() >= len {
                                break;
                            }
                        }
                    }
                    if mode.load(Ordering::SeqCst) == 2 {
                        // Hung: hold the connection, say nothing.
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    let text = String::from_utf8_lossy(&buf[..got]);
                    let success = text.contains(&format!("response={CAPTCHA_TOKEN}"));
                    let body = format!(r#"{{"success": {success}, "hostname": "localhost"}}"#);
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        }));
    }

    async fn set(&mut self, mode: u8) {
        match mode {
            1 => {
                if let Some(t) = self.task.take() {
                    t.abort();
                    let _ = t.await;
                }
            }
            _ => {
                self.mode.store(mode, Ordering::SeqCst);
                if self.task.is_none() {
                    self.listen().await;
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    DynamoRestart,
    DynamoHang,
    SesDown,
    CaptchaDown,
    CaptchaHang,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::DynamoRestart => "ddb-restart",
            Fault::DynamoHang => "ddb-hang",
            Fault::SesDown => "ses-down",
            Fault::CaptchaDown => "captcha-down",
            Fault::CaptchaHang => "captcha-hang",
        }
    }
}

struct Targets {
    dynamo: Proc,
    dynamo_url: String,
    ses: Proc,
    ses_url: String,
    verifier: Verifier,
}

impl Targets {
    /// Breaks it; answers when it broke.
    async fn inject(&mut self, api: &Api, f: Fault) {
        match f {
            Fault::DynamoRestart => {
                api.outage.set_dynamo(true);
                self.dynamo.stop().await;
            }
            Fault::DynamoHang => {
                api.outage.set_dynamo(true);
                signal("-STOP", self.dynamo.pid);
            }
            Fault::SesDown => self.ses.stop().await,
            Fault::CaptchaDown => {
                api.outage.set_captcha(true);
                self.verifier.set(1).await;
            }
            Fault::CaptchaHang => {
                api.outage.set_captcha(true);
                self.verifier.set(2).await;
            }
        }
    }

    /// Mends it; answers how long the dependency took to answer again (DynamoDB Local's JVM
    /// start, for a restart).
    async fn restore(&mut self, api: &Api, f: Fault) -> Duration {
        let start = Instant::now();
        match f {
            Fault::DynamoRestart => {
                self.dynamo.start();
                until_answering(&self.dynamo_url).await;
                api.outage.set_dynamo(false);
            }
            Fault::DynamoHang => {
                signal("-CONT", self.dynamo.pid);
                until_answering(&self.dynamo_url).await;
                api.outage.set_dynamo(false);
            }
            Fault::SesDown => {
                self.ses.start();
                until_answering(&self.ses_url).await;
            }
            Fault::CaptchaDown | Fault::CaptchaHang => {
                self.verifier.set(0).await;
                api.outage.set_captcha(false);
            }
        }
        start.elapsed()
    }
}

/// One member's journey in a run: every flow the drill breaks, one step at a time. It stops
/// at the next step once the run has made `stop_at` requests.
async fn journey(api: Api, mut m: Member, wrong: usize, stop_at: usize) -> Member {
    let over = || api.rec.done() >= stop_at;
    m.register(&api).await;
    if m.registered == crate::member::Tri::Maybe && !over() {
        m.register(&api).await;
    }
    for _ in 0..wrong {
        if over() {
            return m;
        }
        m.login(&api, false).await;
    }
    if over() {
        return m;
    }
    let Some(i) = m.login(&api, true).await else {
        if !over() {
            m.send_recovery(&api).await;
        }
        return m;
    };
    let steps: [&str; 8] = [
        "exchange", "tabs", "refresh", "change", "recovery", "login", "logout", "probe",
    ];
    let mut again = None;
    for step in steps {
        if over() {
            return m;
        }
        match step {
            "exchange" => m.exchange(&api, i).await,
            "tabs" => m.refresh_tabs(&api, i, 2).await,
            "refresh" => m.refresh_tabs(&api, i, 1).await,
            "change" => m.change_password(&api, i, password(), true).await,
            "recovery" => m.send_recovery(&api).await,
            "login" => again = m.login(&api, true).await,
            "logout" => m.logout(&api, i).await,
            _ => m.probe_dead(&api, i).await,
        }
    }
    if let Some(j) = again
        && !over()
    {
        m.logout(&api, j).await;
    }
    m
}

/// Requests in one journey without retries (register, 1 wrong, login, exchange, 3 refreshes,
/// change, recovery, login, 2 logouts, 2 probes).
const JOURNEY: usize = 14;

struct Figures {
    fault: Fault,
    /// Requests of the run: the journeys' and the recovery probe's.
    made: usize,
    /// When the first request sent after the mend got a success.
    first_success: Option<Duration>,
    broke_at: usize,
    mended_at: usize,
    outage: Duration,
    back_in: Duration,
    recovered_in: Option<Duration>,
}

async fn one_run(
    api: &Api,
    targets: &mut Targets,
    fault: Fault,
    requests: usize,
    all: &mut Vec<Member>,
) -> Figures {
    let phase = fault.name();
    api.rec.set_phase(phase);
    let captcha = Some(CAPTCHA_TOKEN.to_owned());
    // A member registered before the fault, whose logins afterwards measure the recovery.
    let mut probe = Member::new(email("probe", all.len()), password(), captcha.clone(), 10);
    probe.register(api).await;
    let first = api.rec.done();
    // Journeys of new members, as many at once as a full run needs, and a new one for each
    // that ends while the run has requests left (a journey stops early when a 503 keeps its
    // member from logging in), so the run makes its requests through the fault too.
    let feeder = {
        let (api, captcha) = (api.clone(), captcha.clone());
        tokio::spawn(async move {
            let mut running = tokio::task::JoinSet::new();
            let mut started = 0;
            let mut ended = vec![];
            loop {
                while api.rec.done() < first + requests
                    && running.len() < requests.div_ceil(JOURNEY)
                {
                    let m = Member::new(email(phase, started), password(), captcha.clone(), 10);
                    running.spawn(journey(api.clone(), m, started % 3, first + requests));
                    started += 1;
                }
                match running.join_next().await {
                    Some(m) => ended.push(m.expect("a journey panicked")),
                    None => return ended,
                }
            }
        })
    };
    while api.rec.done() < first + requests / 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let broke_at = api.rec.done() - first;
    targets.inject(api, fault).await;
    let broke = Instant::now();
    while api.rec.done() < first + 2 * requests / 3 && broke.elapsed() < HOLD
        || broke.elapsed() < Duration::from_secs(3)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mended_at = api.rec.done() - first;
    let outage = broke.elapsed();
    let back_in = targets.restore(api, fault).await;
    // Recovery: the probe member logs in (DynamoDB, and the CAPTCHA verifier: it sends a
    // token) every 100 ms from the moment the dependency answers again, until it gets in.
    let mended = Instant::now();
    let mut recovered_in = None;
    while mended.elapsed() < 2 * FUNCTION_TIMEOUT {
        if probe.login(api, true).await.is_some() {
            recovered_in = Some(mended.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    all.push(probe);
    // The first success of a request sent after the dependency answered again.
    let first_success = api
        .rec
        .records()
        .iter()
        .filter(|r| r.phase == phase && (200..300).contains(&r.status))
        .filter(|r| r.finished - r.elapsed >= mended)
        .map(|r| r.finished - mended)
        .min();
    all.extend(feeder.await.expect("the feeder panicked"));
    let made = api.rec.done() - first;
    // Afterwards, past every excuse: a fresh member registers and logs in, no 503.
    tokio::time::sleep(FUNCTION_TIMEOUT).await;
    api.rec.set_phase(&format!("{phase}/after"));
    let mut m = Member::new(email("after", all.len()), password(), captcha, 10);
    m.register(api).await;
    m.login(api, true).await;
    all.push(m);
    Figures {
        fault,
        made,
        broke_at,
        mended_at,
        outage,
        back_in,
        recovered_in,
        first_success,
    }
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("never".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()))
}

pub async fn run(base: &str) -> bool {
    let requests: usize = env_or("STRESS_FAULT_REQUESTS", 300);
    let concurrency: usize = env_or("STRESS_FAULT_CONCURRENCY", 8);
    let only: Option<String> = std::env::var("STRESS_FAULTS").ok();
    let api = Api::new(base, concurrency).one_per_function();
    let ddb_port: u16 = env_or("DYNAMODB_PORT", 0);
    let ses_url = std::env::var("SES_ENDPOINT").expect("SES_ENDPOINT");
    let mut targets = Targets {
        dynamo: Proc::from_env("DynamoDB Local", "STRESS_DDB_PID", "STRESS_DDB_CMD"),
        dynamo_url: format!("http://127.0.0.1:{ddb_port}"),
        ses: Proc::from_env("the local SES", "STRESS_SES_PID", "STRESS_SES_CMD"),
        ses_url: format!("{ses_url}/health-check"),
        verifier: Verifier::start(env_or("STRESS_CAPTCHA_PORT", 0)).await,
    };
    let mut members = vec![warm(&api, Some(CAPTCHA_TOKEN.to_owned())).await];
    let mut figures = vec![];
    for fault in [
        Fault::DynamoRestart,
        Fault::DynamoHang,
        Fault::SesDown,
        Fault::CaptchaDown,
        Fault::CaptchaHang,
    ] {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|n| n == fault.name()))
        {
            continue;
        }
        println!(
            "faults: {} ({requests} requests at concurrency {concurrency})",
            fault.name()
        );
        figures.push(one_run(&api, &mut targets, fault, requests, &mut members).await);
    }

    println!("fault timeline (requests of the run answered when it broke and was mended):");
    for f in &figures {
        println!(
            "  {:<13} {} requests; broke after {:>3}, mended after {:>3}, down {:>5.1} s, answering {:>5.1} s after the restart; then the first success {}, the probe's login {}",
            f.fault.name(),
            f.made,
            f.broke_at,
            f.mended_at,
            f.outage.as_secs_f64(),
            f.back_in.as_secs_f64(),
            secs(f.first_success),
            secs(f.recovered_in),
        );
    }
    let records = api.rec.records();
    for f in &figures {
        println!(
            "latency per route, {} (one request per function at a time):",
            f.fault.name()
        );
        print!("{}", latency_table(&records, |r| r.phase == f.fault.name()));
    }
    let answers_ok = report_answers(&api.rec);
    let checks = Tables::from_env().check(&members, false).await;
    let tables_ok = report_checks(&checks);
    let recovered = figures.iter().all(|f| f.recovered_in.is_some());
    answers_ok && tables_ok && recovered
}
