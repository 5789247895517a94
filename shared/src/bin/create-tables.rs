//! Creates the three tables in DynamoDB Local for `scripts/dev` and the end-to-end tests.
//! Usage: `create-tables` with `DYNAMODB_ENDPOINT` and the `*_TABLE` names in the environment.

use shared::config::Config;
use shared::dynamo::{RequestLog, local_client};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .map_err(|_| "DYNAMODB_ENDPOINT is required (e.g. http://127.0.0.1:8000)")?;
    let config = Config::from_env()?;
    let client = local_client(&endpoint, RequestLog::default());
    shared::tables::create_all(&client, &config.tables).await?;
    println!(
        "tables ready at {endpoint}: {}, {}, {}",
        config.tables.members, config.tables.sessions, config.tables.counters
    );
    Ok(())
}
