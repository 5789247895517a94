//! X-Ray subsegments for the AWS SDK calls (DynamoDB, SES): one segment document per SDK
//! operation, sent over UDP to the X-Ray daemon Lambda runs beside the function, under the
//! segment Lambda opened for the invocation.
//!
//! Why a small writer and not OpenTelemetry (the `opentelemetry`, `opentelemetry-aws` and
//! `tracing-opentelemetry` crates and an OTLP exporter or the ADOT layer): what the service
//! needs from tracing is "which DynamoDB or SES call of this request was slow or failed", and
//! the SDK's interceptor already sees every operation's name, timing, status and attempts. A
//! document per operation is a `format!` and a datagram; the OpenTelemetry stack would add a
//! span pipeline, a batch exporter with its own task and a propagator to every binary, whose
//! size and cold start BENCHMARKS.md measures and Lambda bills — for the same subsegments.
//!
//! On Lambda the invocation's trace header is `_X_AMZN_TRACE_ID`
//! (`Root=1-…;Parent=…;Sampled=1`), which `lambda_runtime` sets in the environment before it
//! hands each event over (the sequential runtime `lambda_http::run` is; its concurrent mode
//! does not, and the functions do not use it), and the daemon's address is
//! `AWS_XRAY_DAEMON_ADDRESS`, set when the function's tracing is active. Without that address
//! no interceptor is installed at all; with it, an operation of an unsampled invocation costs
//! the reading of one environment variable. A failed send is ignored: the datagram is
//! best-effort, and the request never waits on it (the socket does not block).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef, Input,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde_json::{Map, Value, json};

/// Where Lambda puts the invocation's trace header.
pub const TRACE_HEADER_VAR: &str = "_X_AMZN_TRACE_ID";
/// Where Lambda puts the X-Ray daemon's address when tracing is active.
pub const DAEMON_ADDRESS_VAR: &str = "AWS_XRAY_DAEMON_ADDRESS";

/// What precedes every document the daemon accepts.
const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

/// The trace header of an invocation, as far as a subsegment needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceHeader {
    /// `Root`: the trace id, `1-<8 hex>-<24 hex>`.
    pub root: String,
    /// `Parent`: the id of the segment the subsegments go under.
    pub parent: String,
    /// `Sampled=1`: X-Ray keeps this trace.
    pub sampled: bool,
}

impl TraceHeader {
    /// Reads `Root=…;Parent=…;Sampled=…` (other keys, such as `Lineage`, are ignored); `None`
    /// without a root or a parent.
    pub fn parse(header: &str) -> Option<Self> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", v)) => root = Some(v),
                Some(("Parent", v)) => parent = Some(v),
                Some(("Sampled", v)) => sampled = v == "1",
                _ => {}
            }
        }
        Some(Self {
            root: root.filter(|r| !r.is_empty())?.to_owned(),
            parent: parent.filter(|p| !p.is_empty())?.to_owned(),
            sampled,
        })
    }
}

/// Reads a resource name (a table's) from an operation's input, when the service has one.
pub type ResourceName = fn(&Input) -> Option<String>;

/// The SDK interceptor that writes one subsegment per operation of a sampled invocation.
/// Cheap to clone; clones share the socket.
#[derive(Clone)]
pub struct Subsegments {
    writer: Arc<Writer>,
    resource: Option<ResourceName>,
}

struct Writer {
    daemon: SocketAddr,
    socket: OnceLock<Option<UdpSocket>>,
    trace_header: Box<dyn Fn() -> Option<String> + Send + Sync>,
}

impl std::fmt::Debug for Subsegments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subsegments")
            .field("daemon", &self.writer.daemon)
            .finish_non_exhaustive()
    }
}

impl Subsegments {
    /// The writer as Lambda's environment configures it: to `AWS_XRAY_DAEMON_ADDRESS`, for the
    /// trace header in `_X_AMZN_TRACE_ID`; `None` where there is no daemon (tracing off,
    /// local development, tests).
    pub fn from_env() -> Option<Self> {
        let daemon = daemon_address(&std::env::var(DAEMON_ADDRESS_VAR).ok()?)?;
        Some(Self::new(daemon, || std::env::var(TRACE_HEADER_VAR).ok()))
    }

    /// A writer to `daemon` that reads the current invocation's trace header from
    /// `trace_header` at the start of every operation (tests give their own).
    pub fn new(
        daemon: SocketAddr,
        trace_header: impl Fn() -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            writer: Arc::new(Writer {
                daemon,
                socket: OnceLock::new(),
                trace_header: Box::new(trace_header),
            }),
            resource: None,
        }
    }

    /// This writer, naming each operation's table (`aws.table_name`) with `resource`.
    pub fn naming(self, resource: ResourceName) -> Self {
        Self {
            resource: Some(resource),
            ..self
        }
    }

    fn send(&self, document: &str) {
        let w = &self.writer;
        let socket = w.socket.get_or_init(|| {
            let any: SocketAddr = match w.daemon {
                SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
            };
            let socket = UdpSocket::bind(any).ok()?;
            socket.set_nonblocking(true).ok()?;
            Some(socket)
        });
        if let Some(socket) = socket {
            let datagram = format!("{DAEMON_HEADER}{document}");
            let _ = socket.send_to(datagram.as_bytes(), w.daemon);
        }
    }
}

/// `AWS_XRAY_DAEMON_ADDRESS`: `host:port`, or the daemon's own `udp:host:port tcp:host:port`
/// form (the UDP one is where segments go).
pub fn daemon_address(value: &str) -> Option<SocketAddr> {
    value.split_whitespace().find_map(|word| {
        let address = match word.split_once(':') {
            Some(("udp", address)) => address,
            Some(("tcp", _)) => return None,
            _ => word,
        };
        address.parse().ok()
    })
}

/// An operation under way in a sampled invocation.
#[derive(Clone, Debug)]
struct Open {
    trace: TraceHeader,
    start: f64,
    resource: Option<String>,
}

impl Storable for Open {
    type Storer = StoreReplace<Self>;
}

fn epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The flags X-Ray reads from a call's outcome: 4xx is an error, a throttle (429, or a
/// service's throttling error, which DynamoDB answers with 400) also a throttle; 5xx, or no
/// answer at all (refused, timed out), is a fault.
fn flags(status: Option<u16>, failed: Option<&str>) -> (bool, bool, bool) {
    let Some(failure) = failed else {
        return (false, false, false);
    };
    match status {
        Some(s) if s >= 500 => (false, false, true),
        Some(s) if s >= 400 => {
            let throttled = s == 429
                || [
                    "Throttl",
                    "ProvisionedThroughputExceeded",
                    "RequestLimitExceeded",
                    "TooManyRequests",
                ]
                .iter()
                .any(|code| failure.contains(code));
            (true, throttled, false)
        }
        Some(_) => (false, false, false),
        None => (false, false, true),
    }
}

impl Intercept for Subsegments {
    fn name(&self) -> &'static str {
        "XRaySubsegments"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let trace = (self.writer.trace_header)().and_then(|h| TraceHeader::parse(&h));
        if let Some(trace) = trace.filter(|t| t.sampled) {
            let resource = self.resource.and_then(|name| name(context.input()));
            cfg.interceptor_state().store_put(Open {
                trace,
                start: epoch_seconds(),
                resource,
            });
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(open) = cfg.load::<Open>() else {
            return Ok(());
        };
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_default();
        let response = context.response();
        let status = response.map(|r| r.status().as_u16());
        let failure = match context.output_or_error() {
            Some(Err(e)) => Some(match e.as_operation_error() {
                Some(op) => op.to_string(),
                None => e.to_string(),
            }),
            _ => None,
        };
        let (error, throttle, fault) = flags(status, failure.as_deref());
        let mut aws = Map::new();
        aws.insert("operation".into(), json!(operation));
        if let Some(region) = cfg.load::<aws_config::Region>() {
            aws.insert("region".into(), json!(region.as_ref()));
        }
        if let Some(id) = response.and_then(|r| r.headers().get("x-amzn-requestid")) {
            aws.insert("request_id".into(), json!(id));
        }
        if let Some(table) = &open.resource {
            aws.insert("table_name".into(), json!(table));
        }
        let attempts = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        aws.insert("retries".into(), json!(attempts.saturating_sub(1)));
        let mut doc = json!({
            "name": service,
            "id": format!("{:016x}", rand::random::<u64>()),
            "trace_id": open.trace.root,
            "parent_id": open.trace.parent,
            "start_time": open.start,
            "end_time": epoch_seconds().max(open.start),
            "type": "subsegment",
            "namespace": "aws",
            "aws": Value::Object(aws),
        });
        if let Some(status) = status {
            doc["http"] = json!({ "response": { "status": status } });
        }
        for (flag, set) in [("error", error), ("throttle", throttle), ("fault", fault)] {
            if set {
                doc[flag] = json!(true);
            }
        }
        self.send(&doc.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_header_gives_root_parent_and_the_sampling_decision() {
        let h = TraceHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:1",
        )
        .unwrap();
        assert_eq!(h.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(h.parent, "53995c3f42cd8ad8");
        assert!(h.sampled);
        let unsampled = TraceHeader::parse("Root=1-a-b;Parent=c;Sampled=0").unwrap();
        assert!(!unsampled.sampled);
        assert!(!TraceHeader::parse("Root=1-a-b;Parent=c").unwrap().sampled);
        // What the bench's fake Runtime API sends: a root and no parent — nothing to hang on.
        assert_eq!(
            TraceHeader::parse("Root=1-00000000-000000000000000000000000"),
            None
        );
        assert_eq!(TraceHeader::parse(""), None);
    }

    #[test]
    fn the_daemon_address_is_read_in_both_of_its_forms() {
        let lambda: SocketAddr = "169.254.79.129:2000".parse().unwrap();
        assert_eq!(daemon_address("169.254.79.129:2000"), Some(lambda));
        assert_eq!(
            daemon_address("tcp:127.0.0.1:2001 udp:169.254.79.129:2000"),
            Some(lambda)
        );
        assert_eq!(daemon_address(""), None);
        assert_eq!(daemon_address("not an address"), None);
    }

    #[test]
    fn outcomes_map_to_error_throttle_and_fault() {
        assert_eq!(flags(Some(200), None), (false, false, false));
        assert_eq!(
            flags(Some(400), Some("ConditionalCheckFailedException: …")),
            (true, false, false)
        );
        assert_eq!(
            flags(
                Some(400),
                Some("ProvisionedThroughputExceededException: The level of …")
            ),
            (true, true, false)
        );
        assert_eq!(
            flags(Some(400), Some("unhandled error (ThrottlingException)")),
            (true, true, false)
        );
        assert_eq!(
            flags(Some(429), Some("TooManyRequestsException")),
            (true, true, false)
        );
        assert_eq!(
            flags(Some(503), Some("InternalServerError")),
            (false, false, true)
        );
        assert_eq!(flags(None, Some("dispatch failure")), (false, false, true));
    }
}
