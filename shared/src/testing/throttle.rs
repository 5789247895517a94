//! A stand-in DynamoDB that throttles every request, as a table past its capacity (or one hot
//! key past DynamoDB's per-partition limit) does: DynamoDB Local never throttles.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{TestApp, app_at};

/// DynamoDB's answer to a request over the table's throughput.
const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;

/// An endpoint that answers every request (over keep-alive connections) with 400
/// `ProvisionedThroughputExceededException`, and counts the requests it got.
pub struct ThrottlingDynamo {
    pub endpoint: String,
    requests: Arc<AtomicUsize>,
}

impl ThrottlingDynamo {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(answer_all(sock, counter.clone()));
            }
        });
        Self { endpoint, requests }
    }

    /// The HTTP requests it has answered (each SDK attempt is one).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn answer_all(mut sock: tokio::net::TcpStream, counter: Arc<AtomicUsize>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // Answer every complete request in the buffer, then read more.
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() < end + 4 + len {
                break;
            }
            buf.drain(..end + 4 + len);
            counter.fetch_add(1, Ordering::SeqCst);
            let resp = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                 x-amzn-requestid: throttled\r\ncontent-length: {}\r\n\r\n{THROTTLED}",
                THROTTLED.len()
            );
            if sock.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A fresh app whose every DynamoDB request is throttled, and the throttling endpoint.
pub async fn throttled_app(vars: &[(&str, &str)]) -> (TestApp, ThrottlingDynamo) {
    let dynamo = ThrottlingDynamo::start().await;
    let mut all = vec![("SKIP_TABLES", "1")];
    all.extend_from_slice(vars);
    (app_at(&dynamo.endpoint, &all).await, dynamo)
}
