//! POST /v2/verify and /v2/verify/resend: the app (with its mailer) is built once, then every
//! request is served by `handler::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::init(env!("CARGO_BIN_NAME"))?;
    shared::mail::run(verify_email::handler::check, verify_email::handler::handle).await
}
