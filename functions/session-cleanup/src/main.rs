//! Session cleanup on an EventBridge schedule. Builds its state once, then runs
//! `cleanup::handle` on each scheduled event.

use session_cleanup::cleanup::{self, Collector};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::metrics::init(env!("CARGO_BIN_NAME"))?;
    shared::telemetry::init();
    let collector = Collector::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        cleanup::handle(&collector, event)
    }))
    .await
}
