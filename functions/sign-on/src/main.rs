//! POST /v2/sign-on. Builds the app once, then serves each request with `handler::handle`.

use sign_on::handler;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = shared::app::App::from_env().await?;
    if app.config.sign_on.api_key_hashes.is_empty() {
        tracing::info!(
            event = "sign_on_config",
            "no SIGN_ON_API_KEY_HASHES: only callers verified by the route's IAM authorizer are accepted"
        );
    }
    lambda_http::run(lambda_http::service_fn(|req| {
        let request_id = shared::http::request_id(&req);
        shared::http::serve(request_id.clone(), handler::handle(&app, req, request_id))
    }))
    .await
}
