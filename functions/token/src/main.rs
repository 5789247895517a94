//! POST /oauth2/token, POST /oauth2/revoke, GET /.well-known/jwks.json. Builds the app and
//! reads the signing keys once (from Secrets Manager on AWS), then serves each request with
//! `handler::handle`.

use shared::config::ConfigError;
use token::handler;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = shared::app::App::from_env().await?;
    if app.tokens.is_none() {
        return Err(ConfigError {
            var: "SIGNING_KEY_SECRET_ARN",
            problem: "is required (or SIGNING_KEY, locally): the token function signs".into(),
        }
        .into());
    }
    lambda_http::run(lambda_http::service_fn(|req| {
        let request_id = shared::http::request_id(&req);
        shared::http::serve(request_id.clone(), handler::handle(&app, req, request_id))
    }))
    .await
}
