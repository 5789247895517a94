//! POST /v2/change-password: the app is built once (with the token keys when configured, since
//! an access token is one of the credentials it accepts), then every request is served by
//! `handler::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::init(env!("CARGO_BIN_NAME"))?;
    shared::http::run(change_password::handler::handle).await
}
