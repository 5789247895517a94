//! The DynamoDB client every function builds once at init; the interceptors that write each
//! operation as an X-Ray subsegment (`crate::xray`) and that record each request's operation
//! and timing, from which a flow reports its DynamoDB requests,
//! sequential round trips and wait time (logged per request, measured by the benchmarks); and
//! `conditional`, the one reading of a conditional write's outcome that every table's owner
//! uses (done, or refused with the item as it stood).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef, Input,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use crate::error::StoreError;
use crate::xray::Subsegments;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Timeouts short enough that a dead DynamoDB becomes a 503 well inside the Lambda timeout.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The timeouts of a write that must not be applied twice (a count): its one attempt may take
/// the whole operation timeout, so a timed-out attempt ends the operation rather than being
/// sent again — it may have been applied, and a DynamoDB that stalls applies what it had
/// queued when it resumes. What never reached DynamoDB (a refused or timed-out connect, a
/// throttle) is still retried. Set per request: `.customize().config_override(...)`.
pub fn no_resend_after_timeout() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::default().timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(OPERATION_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build(),
    )
}

/// The client as Lambda builds it: region, credentials and endpoint from the environment
/// (`AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local in development).
pub async fn client_from_env(log: RequestLog) -> Client {
    client(&sdk_config().await, log)
}

/// The AWS settings every client of a function shares — region and credentials from the
/// environment, the service's timeouts and retries, one HTTPS client — loaded once at init
/// (issue 13: one load, not one per client).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(SharedHttpClient::new(LazyHttpsClient::default()))
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .load()
        .await
}

/// The SDK's own HTTPS client (hyper, rustls on aws-lc), less one eagerness: the SDK's client
/// builds its TLS connector — reading and parsing every trusted root certificate on the system —
/// when a service client is constructed, which cost each cold start about 7 ms before the
/// function could take its first event (issue 13). This one builds it on the first request,
/// which opens a TLS connection anyway; one connector per connection settings, cached, shared
/// by every client of the `SdkConfig`.
#[derive(Debug)]
struct LazyHttpsClient(SharedHttpClient);

impl Default for LazyHttpsClient {
    fn default() -> Self {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        Self(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .build_https(),
        )
    }
}

impl HttpClient for LazyHttpsClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    // `validate_base_client_config` keeps its default (nothing): the inner client's builds its
    // connector there, at client construction, which is what this type exists to put off.

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The DynamoDB client on `sdk`, its requests recorded in `log` and, where Lambda runs an
/// X-Ray daemon (active tracing), written as subsegments of the invocation's trace.
pub fn client(sdk: &aws_config::SdkConfig, log: RequestLog) -> Client {
    let mut conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(log)
        .interceptor(ThrottleCount);
    if let Some(subsegments) = Subsegments::from_env() {
        conf = conf.interceptor(subsegments.naming(table_name));
    }
    Client::from_conf(conf.build())
}

/// `client` with its operations written as X-Ray subsegments by `subsegments` (tests point
/// one at a socket of their own).
pub fn traced(client: &Client, subsegments: Subsegments) -> Client {
    let conf = client
        .config()
        .to_builder()
        .interceptor(subsegments.naming(table_name));
    Client::from_conf(conf.build())
}

/// The table an operation's input names, for its subsegment (`aws.table_name`); none for the
/// operations that span tables (transactions, batches).
fn table_name(input: &Input) -> Option<String> {
    use aws_sdk_dynamodb::operation::{
        delete_item::DeleteItemInput, get_item::GetItemInput, put_item::PutItemInput,
        query::QueryInput, scan::ScanInput, update_item::UpdateItemInput,
    };
    macro_rules! first_table {
        ($($input:ty),*) => {
            None$(.or_else(|| input.downcast_ref::<$input>()?.table_name.clone()))*
        };
    }
    first_table!(
        GetItemInput,
        PutItemInput,
        UpdateItemInput,
        DeleteItemInput,
        QueryInput,
        ScanInput
    )
}

/// A client for DynamoDB Local at `endpoint`, with dummy credentials.
pub fn local_client(endpoint: &str, log: RequestLog) -> Client {
    local_client_with(endpoint, log, timeouts())
}

/// `local_client` with other timeouts: the test harness creates its tables through a patient
/// one, since a cold DynamoDB Local on a loaded machine can take seconds per `CreateTable`.
pub fn local_client_with(endpoint: &str, log: RequestLog, timeouts: TimeoutConfig) -> Client {
    let conf = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "static",
        ))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .interceptor(log)
        .interceptor(ThrottleCount)
        .build();
    Client::from_conf(conf)
}

/// Counts `dynamodb_throttled` for every request DynamoDB still throttled after the SDK's
/// retries: one place that sees every request of every table owner, also those whose error a
/// flow handles itself (session-cleanup's backoff) rather than answering 503.
#[derive(Debug)]
struct ThrottleCount;

impl Intercept for ThrottleCount {
    fn name(&self) -> &'static str {
        "ThrottleCount"
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Err(e)) = context.output_or_error()
            && e.as_operation_error().is_some_and(|e| is_throttling(e))
        {
            crate::metrics::count("dynamodb_throttled");
        }
        Ok(())
    }
}

/// Whether an operation's error is DynamoDB's "too fast" (provisioned or on-demand throughput,
/// the account's request limit): every operation's error enum has these as variants whose
/// source is the exception itself.
pub fn is_throttling(e: &(dyn std::error::Error + 'static)) -> bool {
    use aws_sdk_dynamodb::types::error::{
        ProvisionedThroughputExceededException, RequestLimitExceeded, ThrottlingException,
    };
    caused_by::<ProvisionedThroughputExceededException>(e)
        || caused_by::<ThrottlingException>(e)
        || caused_by::<RequestLimitExceeded>(e)
}

/// Whether `e` or an error in its source chain is a `T`: an operation's error enum has each
/// DynamoDB exception as a variant whose source is the exception itself.
pub fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(e), |e| e.source()).any(|e| e.is::<T>())
}

/// One finished DynamoDB request.
#[derive(Clone, Debug)]
pub struct Call {
    pub operation: String,
    pub start: Instant,
    pub end: Instant,
}

/// Records every request a client makes. Cheap to clone; clones share the record.
#[derive(Clone, Debug, Default)]
pub struct RequestLog(Arc<Mutex<Vec<Call>>>);

#[derive(Debug, Clone)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let end = Instant::now();
        let start = cfg.load::<Started>().map(|s| s.0).unwrap_or(end);
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        if let Ok(mut calls) = self.0.lock() {
            calls.push(Call {
                operation,
                start,
                end,
            });
        }
        Ok(())
    }
}

/// What one flow's DynamoDB traffic amounted to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Traffic {
    pub requests: usize,
    /// Groups of overlapping requests, in sequence: the latency a flow cannot hide.
    pub round_trips: usize,
    /// Wall time with at least one request in flight.
    pub wait: Duration,
    pub operations: Vec<String>,
}

impl RequestLog {
    /// Everything recorded since the last take, summarised; the record starts afresh.
    pub fn take(&self) -> Traffic {
        let mut calls = match self.0.lock() {
            Ok(mut c) => std::mem::take(&mut *c),
            Err(_) => return Traffic::default(),
        };
        calls.sort_by_key(|c| c.start);
        let mut t = Traffic {
            requests: calls.len(),
            ..Traffic::default()
        };
        let mut group_end: Option<Instant> = None;
        let mut group_start = None;
        for c in &calls {
            match group_end {
                Some(end) if c.start < end => group_end = Some(end.max(c.end)),
                _ => {
                    if let (Some(s), Some(e)) = (group_start, group_end) {
                        t.wait += e - s;
                    }
                    t.round_trips += 1;
                    group_start = Some(c.start);
                    group_end = Some(c.end);
                }
            }
            t.operations.push(c.operation.clone());
        }
        if let (Some(s), Some(e)) = (group_start, group_end) {
            t.wait += e - s;
        }
        t
    }
}

/// An item as the SDK gives it.
pub type Item = std::collections::HashMap<String, AttributeValue>;

/// The raw HTTP response the SDK's errors carry.
pub type RawResponse = aws_smithy_runtime_api::http::Response;

/// What a conditional write came to.
#[derive(Debug)]
pub enum Conditional<O> {
    /// Written; the operation's output.
    Done(O),
    /// The condition failed: nothing was written. The item as it stood, when the request
    /// asked for it (`ReturnValuesOnConditionCheckFailure::AllOld`) and there was one.
    Refused(Option<Item>),
}

/// The errors of the operations that take a condition.
pub trait ConditionCheck: Sized {
    fn is_condition_failed(&self) -> bool;
    /// The item a failed condition returned (`None` also when it is some other error).
    fn into_refused_item(self) -> Option<Item>;
}

macro_rules! condition_check {
    ($($error:ident),*) => {$(
        impl ConditionCheck for $error {
            fn is_condition_failed(&self) -> bool {
                matches!(self, $error::ConditionalCheckFailedException(_))
            }
            fn into_refused_item(self) -> Option<Item> {
                match self {
                    $error::ConditionalCheckFailedException(c) => c.item,
                    _ => None,
                }
            }
        }
    )*};
}
condition_check!(PutItemError, UpdateItemError, DeleteItemError);

/// Splits a conditional write's result: done, refused by its condition, or failed (the SDK's
/// error, for callers that look at it further, such as session-cleanup's throttling retry).
#[allow(clippy::result_large_err)] // the SDK's own error, passed on as `send` returned it
pub fn conditional<O, E: ConditionCheck>(
    result: Result<O, SdkError<E, RawResponse>>,
) -> Result<Conditional<O>, SdkError<E, RawResponse>> {
    match result {
        Ok(out) => Ok(Conditional::Done(out)),
        Err(SdkError::ServiceError(ctx)) if ctx.err().is_condition_failed() => {
            Ok(Conditional::Refused(ctx.into_err().into_refused_item()))
        }
        Err(e) => Err(e),
    }
}

/// `conditional`, with any other failure a `StoreError` naming the call.
pub fn written<O, E>(
    result: Result<O, SdkError<E, RawResponse>>,
    context: &'static str,
) -> Result<Conditional<O>, StoreError>
where
    E: ConditionCheck + std::error::Error + Send + Sync + 'static,
{
    conditional(result).map_err(|e| StoreError::new(context, e))
}

/// One item by its key, read strongly consistent (every security read is); `context` names
/// the call in a failure.
pub async fn get_consistent(
    client: &Client,
    table: &str,
    key: (&str, &str),
    context: &'static str,
) -> Result<Option<Item>, StoreError> {
    let out = client
        .get_item()
        .table_name(table)
        .key(key.0, s(key.1))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| StoreError::new(context, e))?;
    Ok(out.item)
}

/// Attribute helpers for expressions.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Reads a number attribute; absent or malformed reads as `None`.
pub fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(log: &RequestLog, start_ms: u64, end_ms: u64, base: Instant) {
        log.0.lock().unwrap().push(Call {
            operation: "Op".into(),
            start: base + Duration::from_millis(start_ms),
            end: base + Duration::from_millis(end_ms),
        });
    }

    #[test]
    fn overlapping_requests_count_as_one_round_trip() {
        let log = RequestLog::default();
        let base = Instant::now();
        call(&log, 0, 10, base);
        call(&log, 1, 12, base);
        call(&log, 2, 5, base);
        call(&log, 20, 25, base);
        let t = log.take();
        assert_eq!(t.requests, 4);
        assert_eq!(t.round_trips, 2);
        assert_eq!(t.wait, Duration::from_millis(17));
        assert_eq!(log.take().requests, 0);
    }

    #[test]
    fn throttling_is_told_from_other_dynamodb_errors() {
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        use aws_sdk_dynamodb::types::error::{
            ProvisionedThroughputExceededException, ResourceNotFoundException, ThrottlingException,
        };
        let sdk = |e: GetItemError| -> SdkError<GetItemError, RawResponse> {
            let raw = RawResponse::new(
                400u16.try_into().unwrap(),
                aws_smithy_types::body::SdkBody::empty(),
            );
            SdkError::service_error(e, raw)
        };
        let over = GetItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder().build(),
        );
        let throttled = GetItemError::ThrottlingException(ThrottlingException::builder().build());
        let missing =
            GetItemError::ResourceNotFoundException(ResourceNotFoundException::builder().build());
        assert!(is_throttling(&sdk(over)));
        assert!(is_throttling(&sdk(throttled)));
        assert!(!is_throttling(&sdk(missing)));
        assert!(!is_throttling(&StoreError::new("GetItem", "timed out")));
    }

    #[tokio::test]
    async fn every_request_still_throttled_after_the_retries_is_counted_once() {
        let metrics = crate::testing::MetricCapture::start();
        let (t, dynamo) = crate::testing::throttle::throttled_app(&[]).await;
        let got = t.app.members.get("someone@example.com").await;
        assert!(got.is_err(), "a throttled read is an error");
        assert_eq!(dynamo.requests(), 2, "the SDK tried twice");
        assert_eq!(metrics.values("dynamodb_throttled"), [1]);
    }
}
