//! /v2/admin/...: the app is built once, then every request is served by `handler::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::init(env!("CARGO_BIN_NAME"))?;
    shared::http::run_checked(admin::handler::check, admin::handler::handle).await
}
