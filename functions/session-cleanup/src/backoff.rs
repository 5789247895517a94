//! Retrying throttled DynamoDB requests with capped, jittered exponential backoff.
//!
//! The SDK client already retries once (`shared::dynamo`); a cleanup run deleting thousands of
//! items can outrun a table's capacity for longer than that, so its requests retry throttling
//! again here — but never past the run's stop time: a request still throttled then is left
//! for the next run, and the error says why.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use tokio::time::Instant;

/// The first retry waits up to this long; each further one doubles it up to `MAX_DELAY`.
const BASE_DELAY: Duration = Duration::from_millis(25);
const MAX_DELAY: Duration = Duration::from_secs(2);
const MAX_RETRIES: u32 = 10;

/// An error that says whether trying again later may succeed.
pub trait Throttled {
    fn is_throttled(&self) -> bool;
}

/// DynamoDB's ways of saying "too fast": on-demand and provisioned throughput, account limits.
const THROTTLING_CODES: [&str; 4] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
];

impl<E: ProvideErrorMetadata, R> Throttled for SdkError<E, R> {
    fn is_throttled(&self) -> bool {
        self.as_service_error()
            .and_then(|e| e.code())
            .is_some_and(|code| THROTTLING_CODES.contains(&code))
    }
}

/// The longest wait before retry number `retry` (0-based), before jitter.
pub fn ceiling(retry: u32) -> Duration {
    BASE_DELAY
        .saturating_mul(1u32 << retry.min(16))
        .min(MAX_DELAY)
}

/// Runs `op`, retrying while it is throttled and a retry can still start before `stop`.
pub async fn retry<T, E, F, Fut>(stop: Instant, mut op: F) -> Result<T, E>
where
    E: Throttled,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut retries = 0;
    loop {
        match op().await {
            Err(e) if e.is_throttled() && retries < MAX_RETRIES => {
                // Full jitter: concurrent deletes throttled together spread out again.
                let cap = ceiling(retries).as_millis() as u64;
                let wait = Duration::from_millis(rand::random::<u64>() % (cap + 1));
                if Instant::now() + wait >= stop {
                    return Err(e);
                }
                tracing::debug!(
                    event = "dynamodb_throttled",
                    retry = retries,
                    wait_ms = wait.as_millis() as u64
                );
                tokio::time::sleep(wait).await;
                retries += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Debug, PartialEq)]
    enum Fake {
        Throttled,
        Broken,
    }

    impl Throttled for Fake {
        fn is_throttled(&self) -> bool {
            *self == Fake::Throttled
        }
    }

    #[tokio::test]
    async fn throttling_is_retried_until_the_request_passes() {
        let calls = AtomicU32::new(0);
        let stop = Instant::now() + Duration::from_secs(60);
        let result = retry(stop, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 4 {
                Err(Fake::Throttled)
            } else {
                Ok("deleted")
            }
        })
        .await;
        assert_eq!(result, Ok("deleted"));
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn throttling_that_outlasts_the_stop_time_gives_up_with_the_error() {
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let stop = started + Duration::from_millis(300);
        let result: Result<(), Fake> = retry(stop, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Fake::Throttled)
        })
        .await;
        assert_eq!(result, Err(Fake::Throttled));
        assert!(
            Instant::now() < stop,
            "no retry may sleep past the stop time"
        );
        assert!(calls.load(Ordering::SeqCst) >= 1);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), Fake> = retry(Instant::now() + Duration::from_secs(60), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Fake::Broken)
        })
        .await;
        assert_eq!(result, Err(Fake::Broken));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_backoff_ceiling_doubles_up_to_its_cap() {
        assert_eq!(ceiling(0), Duration::from_millis(25));
        assert_eq!(ceiling(1), Duration::from_millis(50));
        assert_eq!(ceiling(3), Duration::from_millis(200));
        assert_eq!(ceiling(9), MAX_DELAY);
        assert_eq!(ceiling(40), MAX_DELAY);
    }

    #[test]
    fn dynamodb_throttling_codes_are_recognised() {
        use aws_sdk_dynamodb::error::ErrorMetadata;
        use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        let err = |code: &str| -> SdkError<DeleteItemError, Response> {
            SdkError::service_error(
                DeleteItemError::generic(ErrorMetadata::builder().code(code).build()),
                Response::new(
                    StatusCode::try_from(400).unwrap(),
                    aws_smithy_types::body::SdkBody::empty(),
                ),
            )
        };
        assert!(err("ThrottlingException").is_throttled());
        assert!(err("ProvisionedThroughputExceededException").is_throttled());
        assert!(!err("ValidationException").is_throttled());
        assert!(!err("ResourceNotFoundException").is_throttled());
    }
}
