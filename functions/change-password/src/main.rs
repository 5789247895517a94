//! POST /v2/change-password. Builds the app once (with the token keys, since an access token
//! is one of the credentials it accepts), then serves each request with `handler::handle`.

use change_password::handler;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let app = shared::app::App::from_env().await?;
    lambda_http::run(lambda_http::service_fn(|req| {
        let request_id = shared::http::request_id(&req);
        shared::http::serve(request_id.clone(), handler::handle(&app, req, request_id))
    }))
    .await
}
