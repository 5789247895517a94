//! A DynamoDB with a hot key: an HTTP proxy in front of DynamoDB Local that answers the
//! requests a test picks the way DynamoDB answers a partition past its limits (HTTP 400,
//! `ProvisionedThroughputExceededException`), and forwards every other request as it came.
//! DynamoDB Local never throttles; this is how the service's answer to a throttled key (503
//! with `Retry-After`, no count lost or gained) is tested against the real tables. It can
//! also hold an answer back after DynamoDB gave it: a request done on the server whose
//! answer the client never sees in time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request as the proxy saw it.
pub struct Seen<'a> {
    /// The operation, from `X-Amz-Target` (`PutItem`, `UpdateItem`, …).
    pub operation: &'a str,
    /// The JSON body (table name, key, expressions).
    pub body: &'a str,
}

/// The proxy; its `url` is a DynamoDB endpoint for `app_at`.
pub struct Throttler {
    pub url: String,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    throttled: AtomicUsize,
    seen: AtomicUsize,
    /// `Relay::Late` requests forwarded and not yet answered, and the most there were.
    held: AtomicUsize,
    most_held: AtomicUsize,
}

/// What the proxy does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relay {
    /// Forwards it and relays DynamoDB's answer.
    Now,
    /// Answers it as throttled; DynamoDB never sees it.
    Throttle,
    /// Forwards it at once and relays DynamoDB's answer only this much later.
    Late(Duration),
}

/// What DynamoDB answers a request on a partition past its throughput.
const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}"#;

impl Throttler {
    /// Forwards to DynamoDB Local (`upstream`, an `http://host:port` endpoint) every request
    /// for which `throttle` is false, and answers the others as throttled.
    pub async fn start(
        upstream: &str,
        throttle: impl Fn(&Seen) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(upstream, move |seen| match throttle(seen) {
            true => Relay::Throttle,
            false => Relay::Now,
        })
        .await
    }

    /// Forwards to DynamoDB Local (`upstream`) and answers each request as `decide` says.
    pub async fn start_with(
        upstream: &str,
        decide: impl Fn(&Seen) -> Relay + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let counts = Arc::new(Counts::default());
        let all = counts.clone();
        let decide = Arc::new(decide);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, all, decide) = (upstream.clone(), all.clone(), decide.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &all, &*decide).await;
                });
            }
        });
        Self { url, counts }
    }

    /// How many requests it has answered as throttled.
    pub fn throttled(&self) -> usize {
        self.counts.throttled.load(Ordering::SeqCst)
    }

    /// The most `Relay::Late` requests it had forwarded and not yet answered at once: how
    /// many of them the client had in flight together.
    pub fn most_held_at_once(&self) -> usize {
        self.counts.most_held.load(Ordering::SeqCst)
    }
}

/// One connection: each request read whole, then throttled or relayed over a connection of
/// its own (`connection: close` both ways keeps the relay a copy to end of stream).
async fn serve(
    mut client: TcpStream,
    upstream: &str,
    counts: &Counts,
    decide: &(impl Fn(&Seen) -> Relay + ?Sized),
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    counts.seen.fetch_add(1, Ordering::SeqCst);
    let operation = header(&head, "x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("");
    let text = String::from_utf8_lossy(&body);
    let answer = decide(&Seen {
        operation,
        body: &text,
    });
    if answer == Relay::Throttle {
        counts.throttled.fetch_add(1, Ordering::SeqCst);
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
             x-amzn-requestid: throttled-by-test-proxy\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{THROTTLED}",
            THROTTLED.len()
        );
        return client.write_all(answer.as_bytes()).await;
    }
    if let Relay::Late(_) = answer {
        let held = counts.held.fetch_add(1, Ordering::SeqCst) + 1;
        counts.most_held.fetch_max(held, Ordering::SeqCst);
    }
    let relayed = relay(upstream, &head, &body).await;
    if let Relay::Late(hold) = answer {
        tokio::time::sleep(hold).await;
        counts.held.fetch_sub(1, Ordering::SeqCst);
    }
    client.write_all(&relayed?).await
}

/// The request sent on to DynamoDB Local over a connection of its own, and its answer.
async fn relay(upstream: &str, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    let head: String = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    server
        .write_all(format!("{head}connection: close\r\n\r\n").as_bytes())
        .await?;
    server.write_all(body).await?;
    let mut relayed = Vec::new();
    server.read_to_end(&mut relayed).await?;
    Ok(relayed)
}

/// The head (request line and headers, without the blank line) and the body of one HTTP/1.1
/// request with a `content-length`; `None` if the client closed first.
pub async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len = header(&head, "content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            let body_start = end + 4;
            while buf.len() < body_start + len {
                let n = sock.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(None);
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(Some((head, buf[body_start..body_start + len].to_vec())));
        }
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A header's value in a request head, by case-insensitive name.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

impl Throttler {
    /// Requests it has seen (each SDK attempt is one), throttled or not.
    pub fn requests(&self) -> usize {
        self.counts.seen.load(Ordering::SeqCst)
    }
}

/// A fresh app whose every DynamoDB request is throttled (no tables behind it), and the
/// throttler.
pub async fn throttled_app(vars: &[(&str, &str)]) -> (super::TestApp, Throttler) {
    let dynamo = Throttler::start(&super::dead_address().await, |_| true).await;
    let mut all = vec![("SKIP_TABLES", "1")];
    all.extend_from_slice(vars);
    (super::app_at(&dynamo.url, &all).await, dynamo)
}
