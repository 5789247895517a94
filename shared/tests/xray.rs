//! X-Ray subsegments of real SDK calls — DynamoDB Local, the local SES, a DynamoDB that
//! throttles, one that is not there — received on a UDP socket standing in for the daemon,
//! each test with its own socket and trace header.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use serde_json::Value;
use shared::dynamo::{self, RequestLog, s};
use shared::testing;
use shared::xray::Subsegments;

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

/// A stand-in daemon and a writer to it, for invocations traced with `sampled`.
fn daemon(sampled: bool) -> (UdpSocket, Subsegments) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let header = format!(
        "Root={ROOT};Parent={PARENT};Sampled={}",
        if sampled { 1 } else { 0 }
    );
    let writer = Subsegments::new(socket.local_addr().unwrap(), move || Some(header.clone()));
    (socket, writer)
}

/// The next document the daemon received, checked for the daemon's header line and the trace.
fn received(daemon: &UdpSocket) -> Value {
    let mut buf = [0u8; 65_536];
    let n = daemon.recv(&mut buf).expect("a subsegment arrives");
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    let (header, document) = text.split_once('\n').expect("a header line");
    assert_eq!(header, "{\"format\": \"json\", \"version\": 1}");
    let doc: Value = serde_json::from_str(document).unwrap();
    assert_eq!(doc["type"], "subsegment", "{doc}");
    assert_eq!(doc["namespace"], "aws", "{doc}");
    assert_eq!(doc["trace_id"], ROOT, "{doc}");
    assert_eq!(doc["parent_id"], PARENT, "{doc}");
    let id = doc["id"].as_str().unwrap();
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{doc}"
    );
    let (start, end) = (
        doc["start_time"].as_f64().unwrap(),
        doc["end_time"].as_f64().unwrap(),
    );
    assert!(start > 1.7e9 && end >= start, "{doc}");
    doc
}

fn nothing_received(daemon: &UdpSocket) -> bool {
    daemon
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    daemon.recv(&mut [0u8; 1024]).is_err()
}

fn flag(doc: &Value, name: &str) -> bool {
    doc.get(name).and_then(Value::as_bool).unwrap_or(false)
}

#[tokio::test]
async fn each_dynamodb_operation_of_a_sampled_invocation_is_one_subsegment() {
    let t = testing::app().await;
    let (socket, writer) = daemon(true);
    let client = dynamo::traced(&t.client, writer);
    client
        .put_item()
        .table_name(&t.tables.members)
        .item("emailKey", s("ann@example.com"))
        .send()
        .await
        .unwrap();
    let put = received(&socket);
    assert_eq!(put["name"], "DynamoDB");
    assert_eq!(put["aws"]["operation"], "PutItem");
    assert_eq!(put["aws"]["table_name"], t.tables.members.as_str());
    assert_eq!(put["aws"]["region"], "us-east-1");
    assert_eq!(put["aws"]["retries"], 0);
    assert!(
        put["aws"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(put["http"]["response"]["status"], 200);
    assert!(!flag(&put, "error") && !flag(&put, "fault") && !flag(&put, "throttle"));

    let found = dynamo::get_consistent(
        &client,
        &t.tables.members,
        ("emailKey", "ann@example.com"),
        "GetItem member",
    )
    .await
    .unwrap();
    assert!(found.is_some());
    let get = received(&socket);
    assert_eq!(get["aws"]["operation"], "GetItem");
    assert_ne!(get["id"], put["id"]);
}

#[tokio::test]
async fn an_unsampled_invocation_sends_nothing() {
    let t = testing::app().await;
    let (socket, writer) = daemon(false);
    let client = dynamo::traced(&t.client, writer);
    dynamo::get_consistent(&client, &t.tables.members, ("emailKey", "a"), "GetItem")
        .await
        .unwrap();
    assert!(nothing_received(&socket));
    // No trace header at all (outside an invocation): nothing either.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = dynamo::traced(
        &t.client,
        Subsegments::new(socket.local_addr().unwrap(), || None),
    );
    dynamo::get_consistent(&client, &t.tables.members, ("emailKey", "a"), "GetItem")
        .await
        .unwrap();
    assert!(nothing_received(&socket));
}

#[tokio::test]
async fn a_refused_call_is_an_error_and_an_unanswered_one_a_fault() {
    let t = testing::app().await;
    let (socket, writer) = daemon(true);
    let client = dynamo::traced(&t.client, writer.clone());
    let missing = dynamo::get_consistent(&client, "no-such-table", ("emailKey", "a"), "GetItem");
    assert!(missing.await.is_err());
    let doc = received(&socket);
    assert_eq!(doc["aws"]["table_name"], "no-such-table");
    assert_eq!(doc["http"]["response"]["status"], 400);
    assert!(flag(&doc, "error") && !flag(&doc, "fault") && !flag(&doc, "throttle"));

    let dead = closed_port();
    let client = dynamo::traced(
        &dynamo::local_client(&format!("http://{dead}"), RequestLog::default()),
        writer,
    );
    let unanswered = dynamo::get_consistent(&client, "members", ("emailKey", "a"), "GetItem");
    assert!(unanswered.await.is_err());
    let doc = received(&socket);
    assert_eq!(doc["aws"]["operation"], "GetItem");
    assert!(flag(&doc, "fault") && !flag(&doc, "error"), "{doc}");
    assert_eq!(doc.get("http"), None);
    assert_eq!(
        doc["aws"]["retries"], 1,
        "the client's second attempt: {doc}"
    );
}

#[tokio::test]
async fn a_throttled_call_is_a_throttle_with_its_retry_counted() {
    let endpoint = throttling_dynamodb();
    let (socket, writer) = daemon(true);
    let client: Client = dynamo::traced(
        &dynamo::local_client(&format!("http://{endpoint}"), RequestLog::default()),
        writer,
    );
    let throttled = dynamo::get_consistent(&client, "members", ("emailKey", "a"), "GetItem");
    assert!(throttled.await.is_err());
    let doc = received(&socket);
    assert_eq!(doc["http"]["response"]["status"], 400);
    assert!(
        flag(&doc, "throttle") && flag(&doc, "error") && !flag(&doc, "fault"),
        "{doc}"
    );
    assert_eq!(doc["aws"]["retries"], 1, "{doc}");
}

/// An address where nothing listens.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A DynamoDB that answers every request with `ProvisionedThroughputExceededException`.
fn throttling_dynamodb() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // The SDK's requests are small: read until the head and its declared body are in.
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= head_end + 4 + length {
                        break;
                    }
                }
            }
            let body = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\",\
                        \"message\":\"The level of configured provisioned throughput for the table was exceeded.\"}";
            let answer = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                 x-amzn-requestid: THROTTLED0001\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    address
}

#[cfg(feature = "mail")]
#[tokio::test]
async fn a_mail_sent_in_a_sampled_invocation_is_an_ses_subsegment() {
    use shared::mail::{Mail, Mailer};
    let (socket, writer) = daemon(true);
    let mailer = Mailer::local(
        &testing::ses_endpoint(),
        testing::TEST_EMAIL_FROM.to_owned(),
    )
    .traced(writer);
    let to = testing::unique_email("xray");
    mailer.send_later(Mail::verification(&to, "m1", "012345", 600));
    mailer.flush().await;
    let doc = received(&socket);
    assert_eq!(doc["name"], "SESv2", "{doc}");
    assert_eq!(doc["aws"]["operation"], "SendEmail");
    assert_eq!(doc["http"]["response"]["status"], 200);
    assert!(!flag(&doc, "error") && !flag(&doc, "fault"));
    assert!(nothing_received(&socket), "one send, one subsegment");
}
