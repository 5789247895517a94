//! A fake Lambda Runtime API (the HTTP protocol a `bootstrap` talks to on Lambda), just enough
//! to start a function, hand it events one at a time and time it: when it first asks for an
//! event (the end of its init), when each event was handed over and when its answer came back.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a function may take to ask for its first event or to answer one.
const PATIENCE: Duration = Duration::from_secs(20);

enum Report {
    /// `GET /runtime/invocation/next` arrived.
    Asked(Instant),
    /// The event was written out to the function.
    Handed(Instant),
    /// `POST /runtime/invocation/{id}/response` (or `/error`) arrived with this body.
    Answered { at: Instant, ok: bool, body: String },
    /// `POST /runtime/init/error`.
    InitFailed(String),
}

/// One listening Runtime API; each started function gets a fresh one.
pub struct RuntimeApi {
    address: String,
    events: Sender<String>,
    reports: Receiver<Report>,
}

impl RuntimeApi {
    pub fn new() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let (events, pending) = channel::<String>();
        let (report, reports) = channel();
        let pending = Arc::new(Mutex::new(pending));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (pending, report) = (pending.clone(), report.clone());
                std::thread::spawn(move || serve(stream, &pending, &report));
            }
        });
        Ok(Self {
            address,
            events,
            reports,
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    fn next(&self) -> Result<Report, String> {
        self.reports.recv_timeout(PATIENCE).map_err(|e| match e {
            RecvTimeoutError::Timeout => format!("no word from the function in {PATIENCE:?}"),
            RecvTimeoutError::Disconnected => "the Runtime API stopped".into(),
        })
    }

    /// Waits until the function asks for an event.
    pub fn asked(&self) -> Result<Instant, String> {
        match self.next()? {
            Report::Asked(at) => Ok(at),
            Report::InitFailed(body) => Err(format!("init failed: {body}")),
            _ => Err("an answer before any event".into()),
        }
    }

    /// Hands one event over and waits for the answer: the time from the event leaving to the
    /// answer arriving, and the answer (an error answer is an `Err`).
    pub fn invoke(&self, event: &str) -> Result<(Duration, String), String> {
        self.events
            .send(event.to_owned())
            .map_err(|_| "the Runtime API stopped")?;
        let mut handed = None;
        loop {
            match self.next()? {
                Report::Handed(at) => handed = Some(at),
                Report::Answered { at, ok, body } => {
                    let took = at - handed.ok_or("an answer before the event left")?;
                    return if ok {
                        Ok((took, body))
                    } else {
                        Err(format!("the function answered an error: {body}"))
                    };
                }
                Report::Asked(_) => return Err("asked again before answering".into()),
                Report::InitFailed(body) => return Err(format!("init failed: {body}")),
            }
        }
    }
}

/// Starts `binary` as Lambda starts a `bootstrap`: the Runtime API's address and the
/// function's identity in the environment, on top of `env`.
pub fn start(
    binary: &str,
    api: &RuntimeApi,
    env: &HashMap<String, String>,
) -> std::io::Result<(Child, Instant)> {
    let name = std::path::Path::new(binary)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("function");
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // COLD_START_LOGS=1 shows what the functions print (their JSON log lines), to debug a start.
    if std::env::var_os("COLD_START_LOGS").is_some() {
        cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
    }
    let started = Instant::now();
    let child = cmd.spawn()?;
    Ok((child, started))
}

/// The peak resident set size of a running process (`VmHWM`), in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn serve(stream: TcpStream, pending: &Mutex<Receiver<String>>, report: &Sender<Report>) {
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut request_id = 0u64;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                    _ => {}
                }
            }
        }
        let body = if chunked {
            read_chunked(&mut reader)
        } else {
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            body
        };
        let arrived = Instant::now();
        let body = String::from_utf8_lossy(&body).into_owned();
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let _ = report.send(Report::Asked(arrived));
            let event = match pending.lock().map(|rx| rx.recv()) {
                Ok(Ok(event)) => event,
                _ => return,
            };
            request_id += 1;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: cold-start-{request_id}\r\n\
                 lambda-runtime-deadline-ms: {}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:cold-start\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\r\n",
                event.len(),
                deadline_ms(),
            );
            // Reported before the event is written, so that the report always comes before the
            // answer's, whichever connection the answer arrives on.
            let _ = report.send(Report::Handed(Instant::now()));
            if writer.write_all(head.as_bytes()).is_err()
                || writer.write_all(event.as_bytes()).is_err()
            {
                return;
            }
            let _ = writer.flush();
        } else {
            let outcome = if path.ends_with("/init/error") {
                Some(Report::InitFailed(body))
            } else if path.ends_with("/response") {
                Some(Report::Answered {
                    at: arrived,
                    ok: true,
                    body,
                })
            } else if path.ends_with("/error") {
                Some(Report::Answered {
                    at: arrived,
                    ok: false,
                    body,
                })
            } else {
                None
            };
            // Reported before the function hears back, so before it can ask for the next event.
            if let Some(outcome) = outcome {
                let _ = report.send(outcome);
            }
            let _ = writer.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
            let _ = writer.flush();
        }
    }
}

fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut body = vec![];
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).unwrap_or(0) == 0 {
            return body;
        }
        let n =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; n + 2];
        if reader.read_exact(&mut chunk).is_err() {
            return body;
        }
        if n == 0 {
            return body;
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

fn deadline_ms() -> u128 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now + Duration::from_secs(30)).as_millis()
}
