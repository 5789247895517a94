//! The reference every function's cold start is measured against: the smallest `lambda_http`
//! function, on the same runtime (`#[tokio::main]`) and built with the same release profile.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
