//! One invocation through the production wiring — `http::run` polling a (fake) Lambda Runtime
//! API, `App::from_env`, the JSON log layer, the DynamoDB client with its X-Ray interceptor —
//! on DynamoDB Local: every line the handler writes carries the invocation's request id and
//! trace id at the top level, and its DynamoDB call reaches the (fake) X-Ray daemon as a
//! subsegment of the trace the Runtime API handed over.
//!
//! Alone in its test binary: it sets the process environment Lambda would (the runtime reads
//! its settings from there, and sets `_X_AMZN_TRACE_ID` itself per invocation).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use shared::http::json_response;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

/// Serves one event on `GET /runtime/invocation/next` (then holds every later poll open) and
/// reports the body of the answer the function posts.
fn fake_runtime_api(event: String, answered: Sender<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let event = Arc::new(Mutex::new(Some(event)));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (event, answered) = (event.clone(), answered.clone());
            std::thread::spawn(move || serve(stream, &event, &answered));
        }
    });
    address
}

fn serve(stream: TcpStream, event: &Mutex<Option<String>>, answered: &Sender<String>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let (mut length, mut chunked) = (0usize, false);
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(v) = header.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            chunked |= header.starts_with("transfer-encoding:") && header.contains("chunked");
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).unwrap();
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                reader.read_exact(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else {
            body.resize(length, 0);
            reader.read_exact(&mut body).unwrap();
        }
        if line.starts_with("GET") && line.contains("/runtime/invocation/next") {
            let Some(event) = event.lock().unwrap().take() else {
                // The one event is served; later polls wait, as Lambda's do between events.
                std::thread::sleep(Duration::from_secs(3600));
                return;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 60_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: {REQUEST_ID}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:traced\r\n\
                 lambda-runtime-trace-id: Root={ROOT};Parent={PARENT};Sampled=1\r\n\r\n",
                event.len()
            );
            writer.write_all(head.as_bytes()).unwrap();
            writer.write_all(event.as_bytes()).unwrap();
        } else {
            if line.contains("/response") || line.contains("/error") {
                let _ = answered.send(String::from_utf8_lossy(&body).into_owned());
            }
            writer
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
        }
        writer.flush().unwrap();
    }
}

/// What the log layer wrote, shared with the test.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn parsed(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

#[test]
fn an_invocation_logs_its_request_id_and_sends_its_dynamodb_calls_to_the_xray_daemon() {
    let dynamodb = shared::testing::endpoint();
    let prefix = format!("inv{}", rand::random::<u32>());
    let (answered, answer) = channel();
    let event = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/sessions-list.json"),
    )
    .unwrap();
    let runtime_api = fake_runtime_api(event, answered);
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let members = format!("{prefix}-members");
    let vars = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "traced".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        (
            "AWS_XRAY_DAEMON_ADDRESS",
            daemon.local_addr().unwrap().to_string(),
        ),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("MEMBERS_TABLE", members.clone()),
        ("SESSIONS_TABLE", format!("{prefix}-sessions")),
        ("COUNTERS_TABLE", format!("{prefix}-counters")),
    ];
    for (name, value) in &vars {
        // SAFETY: the only test of this binary, before its runtime starts any thread.
        unsafe { std::env::set_var(name, value) };
    }
    // The functions' own log layer (`telemetry::init` then finds this subscriber in place).
    let lines = Lines::default();
    let writer = lines.clone();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(
        shared::telemetry::json_lines(LevelFilter::INFO, move || writer.clone()),
    ))
    .unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let setup = shared::dynamo::local_client(&dynamodb, Default::default());
        let env: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let config = shared::config::Config::from_source(&env).unwrap();
        shared::tables::create_all(&setup, &config.tables)
            .await
            .unwrap();
        tracing::info!(event = "before_the_first_event");
        let function = shared::http::run(|app, _req, request_id| async move {
            let found = app.members.get("nobody@example.com").await;
            tracing::info!(event = "handled", found = found.is_ok(), request_id = %request_id);
            json_response(200, &serde_json::json!({}))
        });
        let answered =
            tokio::task::spawn_blocking(move || answer.recv_timeout(Duration::from_secs(30)));
        // The function runs until the test ends (it polls for a next event that never comes).
        let answer = tokio::select! {
            ended = function => panic!("the function stopped: {ended:?}"),
            answer = answered => answer.unwrap().expect("the function answers the event"),
        };
        assert!(answer.contains("200"), "{answer}");
    });

    let lines = lines.parsed();
    let before = lines
        .iter()
        .find(|l| l["fields"]["event"] == "before_the_first_event")
        .expect("the init's line");
    assert_eq!(before.get("requestId"), None, "{before}");
    let handled = lines
        .iter()
        .find(|l| l["fields"]["event"] == "handled")
        .expect("the handler's line");
    assert_eq!(handled["requestId"], REQUEST_ID, "{handled}");
    assert_eq!(
        handled["xrayTraceId"],
        format!("Root={ROOT};Parent={PARENT};Sampled=1")
    );
    assert_eq!(handled["fields"]["request_id"], REQUEST_ID);
    assert_eq!(handled["fields"]["found"], true);
    assert_eq!(handled["level"], "INFO");

    let mut datagram = [0u8; 65_536];
    let n = daemon.recv(&mut datagram).expect("a subsegment arrives");
    let text = std::str::from_utf8(&datagram[..n]).unwrap();
    let (header, document) = text.split_once('\n').unwrap();
    assert_eq!(header, "{\"format\": \"json\", \"version\": 1}");
    let doc: Value = serde_json::from_str(document).unwrap();
    assert_eq!(doc["name"], "DynamoDB", "{doc}");
    assert_eq!(doc["namespace"], "aws");
    assert_eq!(doc["type"], "subsegment");
    assert_eq!(doc["trace_id"], ROOT);
    assert_eq!(doc["parent_id"], PARENT);
    assert_eq!(doc["aws"]["operation"], "GetItem");
    assert_eq!(doc["aws"]["table_name"], members);
    assert_eq!(doc["aws"]["region"], "us-east-1");
    assert_eq!(doc["http"]["response"]["status"], 200);
    assert_eq!(doc.get("error"), None);
    assert_eq!(doc.get("fault"), None);
}
