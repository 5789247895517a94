//! `cold-start`: starts every function binary (and the hello-world reference) on a fake Lambda
//! Runtime API, in one run, and measures what a cold start costs: init (exec to the first
//! `GET /runtime/invocation/next`), the first invocation, warm invocations, the peak resident
//! set (`VmHWM`) and the binary's size. Each start does one real request of its flow against the
//! local tables. Then it writes one report — these figures, the aarch64 sizes, and the flow
//! benchmarks' warm figures — to stdout and to BENCHMARKS.md, each target checked.
//!
//! Run by `scripts/bench`, which builds the binaries, starts DynamoDB Local with the tables and
//! exports the development settings (dev.env) this reads from the environment.

mod report;
mod runtime;
mod scenarios;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use runtime::RuntimeApi;
use scenarios::{PASSWORD, answer};

/// The functions measured: binary, whether it hashes passwords (its memory target).
pub const FUNCTIONS: &[(&str, bool)] = &[
    ("hello-world", false),
    ("login", true),
    ("register", true),
    ("sign-on", false),
    ("token", false),
    ("change-password", true),
    ("logout", false),
    ("sessions", false),
    ("admin", false),
    ("recovery", true),
    ("verify-email", false),
    ("session-cleanup", false),
];

/// One function's figures over every start.
pub struct Measured {
    pub name: &'static str,
    pub hashes: bool,
    pub init: Vec<Duration>,
    pub first: Vec<Duration>,
    pub warm: Vec<Duration>,
    pub rss: Vec<u64>,
    pub size: u64,
}

struct Options {
    bins: PathBuf,
    starts: usize,
    warm: usize,
    only: Option<Vec<String>>,
    flows: Option<PathBuf>,
    aarch64: Option<PathBuf>,
    out: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        bins: PathBuf::from("target/release"),
        starts: 15,
        warm: 5,
        only: None,
        flows: None,
        aarch64: None,
        out: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--bins" => o.bins = value()?.into(),
            "--starts" => o.starts = value()?.parse().map_err(|_| "--starts: a number")?,
            "--warm" => o.warm = value()?.parse().map_err(|_| "--warm: a number")?,
            "--only" => o.only = Some(value()?.split(',').map(str::to_owned).collect()),
            "--flows" => o.flows = Some(value()?.into()),
            "--aarch64" => o.aarch64 = Some(value()?.into()),
            "--out" => o.out = Some(value()?.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.starts == 0 || o.warm == 0 {
        return Err("--starts and --warm must be at least 1".into());
    }
    Ok(o)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("cold-start: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let o = options()?;
    let mut env: HashMap<String, String> = std::env::vars().collect();
    // One member's password is changed at every change-password invocation of the run; the
    // attempt counter still counts each (same work), it just never throttles the bench.
    env.insert("CHANGE_PASSWORD_MAX_ATTEMPTS".into(), "1000".into());
    let bin = |name: &str| o.bins.join(name);
    let nonce = std::process::id();
    let per_function = o.starts * (1 + o.warm);

    // What the timed requests need, made through the functions themselves.
    let login_email = format!("cold-login-{nonce}@bench.example");
    let change_email = format!("cold-change-{nonce}@bench.example");
    let mut change_session = String::new();
    // A member of its own for the device list: login's member gains a session per login,
    // and MAX_SESSIONS_PER_MEMBER revokes the oldest.
    let sessions_session;
    let mut logout_sessions = vec![];
    {
        let mut f = Function::start(&bin("register"), &env)?;
        for (i, (email, password)) in [
            (&login_email, PASSWORD.to_owned()),
            (&change_email, scenarios::rolling_password(0)),
        ]
        .into_iter()
        .enumerate()
        {
            let body = f.expect(
                &scenarios::register(email, &password, &format!("192.0.2.{i}")),
                200,
            )?;
            if email == &change_email {
                change_session = token_of(&body)?;
            }
        }
    }
    {
        let mut f = Function::start(&bin("sign-on"), &env)?;
        let email = format!("cold-sessions-{nonce}@bench.example");
        sessions_session = token_of(&f.expect(&scenarios::sign_on(&email, "Sid"), 200)?)?;
        for i in 0..per_function {
            let email = format!("cold-logout-{i}-{nonce}@bench.example");
            logout_sessions.push(token_of(
                &f.expect(&scenarios::sign_on(&email, "Lou"), 200)?,
            )?);
        }
    }

    let mut measured = vec![];
    for &(name, hashes) in FUNCTIONS {
        if o.only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|n| n == name))
        {
            continue;
        }
        let mut n = 0usize;
        let mut event = || -> (String, u16) {
            n += 1;
            match name {
                "hello-world" => (scenarios::jwks(), 200),
                "login" => (scenarios::login(&login_email, PASSWORD), 200),
                "register" => (
                    scenarios::register(
                        &format!("cold-register-{n}-{nonce}@bench.example"),
                        PASSWORD,
                        &format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256),
                    ),
                    200,
                ),
                "sign-on" => (scenarios::sign_on(&login_email, &format!("Ann{n}")), 200),
                "token" => (scenarios::jwks(), 200),
                "change-password" => (
                    scenarios::change_password(
                        &change_session,
                        &scenarios::rolling_password(n - 1),
                        &scenarios::rolling_password(n),
                        &format!("10.200.{}.{}", n / 256 % 256, n % 256),
                    ),
                    200,
                ),
                "logout" => (scenarios::logout(&logout_sessions[n - 1]), 200),
                "sessions" => (scenarios::sessions(&sessions_session), 200),
                "admin" => (scenarios::admin_find(&login_email), 200),
                "recovery" => (
                    scenarios::recovery_send_email(
                        &format!("cold-recovery-{n}-{nonce}@bench.example"),
                        &format!("10.150.{}.{}", n / 256 % 256, n % 256),
                    ),
                    200,
                ),
                "verify-email" => (scenarios::verify_unknown_state(n), 400),
                _ => (scenarios::scheduled(), 0),
            }
        };
        let path = bin(name);
        let size = std::fs::metadata(&path)
            .map_err(|e| format!("{}: {e} (build it first)", path.display()))?
            .len();
        let mut m = Measured {
            name,
            hashes,
            init: vec![],
            first: vec![],
            warm: vec![],
            rss: vec![],
            size,
        };
        for _ in 0..o.starts {
            let mut f = Function::start(&path, &env)?;
            m.init.push(f.init);
            for i in 0..=o.warm {
                let (ev, status) = event();
                let took = f.expect_timed(&ev, status)?;
                if i == 0 {
                    m.first.push(took);
                } else {
                    m.warm.push(took);
                }
            }
            m.rss.push(runtime::peak_rss(f.child.id()).unwrap_or(0));
        }
        eprintln!("measured {name}");
        measured.push(m);
    }

    let flows = match &o.flows {
        Some(p) => report::read_flows(p)?,
        None => vec![],
    };
    let aarch64 = o
        .aarch64
        .as_deref()
        .map(report::aarch64_sizes)
        .unwrap_or_default();
    let text = report::render(&measured, &flows, &aarch64, o.starts, o.warm);
    print!("{text}");
    if let Some(out) = &o.out {
        std::fs::write(out, report::document(&text))
            .map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

fn token_of(body: &serde_json::Value) -> Result<String, String> {
    body["sessionToken"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no sessionToken in {body}"))
}

/// A started function binary, waiting for its next event.
struct Function {
    child: Child,
    api: RuntimeApi,
    init: Duration,
}

impl Function {
    fn start(path: &Path, env: &HashMap<String, String>) -> Result<Self, String> {
        let api = RuntimeApi::new().map_err(|e| e.to_string())?;
        let (child, started) = runtime::start(&path.to_string_lossy(), &api, env)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut f = Self {
            child,
            api,
            init: Duration::ZERO,
        };
        let asked = f
            .api
            .asked()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.init = asked - started;
        Ok(f)
    }

    /// Whether the process is still there, for an error message.
    fn state(&mut self) -> String {
        match self.child.try_wait() {
            Ok(Some(status)) => format!(" (the process exited: {status})"),
            Ok(None) => " (the process is still running)".into(),
            Err(e) => format!(" ({e})"),
        }
    }

    /// Invokes it with `event`, checks the status (0: not an HTTP answer, anything goes) and
    /// waits until it asks for the next event; returns the invocation's time.
    fn expect_timed(&mut self, event: &str, status: u16) -> Result<Duration, String> {
        let (took, raw) = self
            .api
            .invoke(event)
            .map_err(|e| format!("invoked: {e}{}", self.state()))?;
        let (got, _) = answer(&raw);
        if status != 0 && got != status {
            return Err(format!("answered {got}, not {status}: {raw}"));
        }
        self.api
            .asked()
            .map_err(|e| format!("after answering: {e}{}", self.state()))?;
        Ok(took)
    }

    fn expect(&mut self, event: &str, status: u16) -> Result<serde_json::Value, String> {
        let (_, raw) = self
            .api
            .invoke(event)
            .map_err(|e| format!("invoked: {e}{}", self.state()))?;
        let (got, body) = answer(&raw);
        if got != status {
            return Err(format!("answered {got}, not {status}: {raw}"));
        }
        self.api.asked()?;
        Ok(body)
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
