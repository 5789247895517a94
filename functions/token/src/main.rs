//! POST /oauth2/token, POST /oauth2/revoke, GET /.well-known/jwks.json: the app is built and
//! the signing keys read once (from Secrets Manager on AWS), then every request is served by
//! `handler::handle`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::metrics::init(env!("CARGO_BIN_NAME"))?;
    shared::http::run_checked(token::handler::check, token::handler::handle).await
}
