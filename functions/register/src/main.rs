//! POST /v2/register. Builds the app once, then serves each request with `handler::handle`.

use register::handler;

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
