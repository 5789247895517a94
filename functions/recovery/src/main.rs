//! POST /v2/recovery/*: the app (with its mailer) is built once, then every request is served
//! by `handler::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::init(env!("CARGO_BIN_NAME"))?;
    shared::mail::run(recovery::handler::check, recovery::handler::handle).await
}
