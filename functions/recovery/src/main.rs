//! POST /v2/recovery/*: the app (with its mailer) is built once, then every request is served
//! by `handler::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::mail::run(recovery::handler::check, recovery::handler::handle).await
}
