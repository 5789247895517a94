//! POST /v2/login: the app is built once, then every request is served by `handler::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::init(env!("CARGO_BIN_NAME"))?;
    shared::mail::run(login::handler::check, login::handler::handle).await
}
