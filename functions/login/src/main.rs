//! POST /v2/login: the app is built once, then every request is served by `handler::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run_checked(login::handler::check, login::handler::handle).await
}
