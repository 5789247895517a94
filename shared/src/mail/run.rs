//! `run` for the functions that send mail: `http::run_checked`, plus the internal Lambda
//! extension that keeps the execution environment awake until the mails an invocation queued
//! are sent (see the module above).

use std::future::Future;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::app::App;
use crate::config::ConfigError;
use crate::http::{request_id, serve};

/// A mail-sending function's whole `main`: JSON logs, the app (with its `Mailer` when
/// `EMAIL_FROM` is set) built once, `check` at init, and — with a mailer on Lambda — the
/// internal extension registered before the first event, then every request served.
pub async fn run<C, F, Fut>(check: C, handler: F) -> Result<(), lambda_http::Error>
where
    C: FnOnce(&App) -> Result<(), ConfigError>,
    F: Fn(&'static App, Request, String) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    let app = crate::http::init(check).await?;
    let (done, finished) = unbounded_channel::<()>();
    let extension = match (&app.mail, std::env::var("AWS_LAMBDA_RUNTIME_API")) {
        (Some(mailer), Ok(_)) => {
            let finished = Arc::new(Mutex::new(finished));
            let registered = lambda_extension::Extension::new()
                // Internal extensions get INVOKE events only.
                .with_events(&["INVOKE"])
                .with_extension_name("mail-outbox")
                .with_events_processor(lambda_extension::service_fn(
                    move |_event: lambda_extension::LambdaEvent| {
                        let finished = finished.clone();
                        async move {
                            // The handler's answer first, then every mail it queued.
                            finished.lock().await.recv().await;
                            mailer.flush().await;
                            Ok::<(), lambda_extension::Error>(())
                        }
                    },
                ))
                .register()
                .await;
            match registered {
                Ok(r) => Some(r),
                Err(e) => {
                    // Mail is still sent, in process; only a freeze could cut a send short.
                    tracing::warn!(event = "mail_extension_unregistered", error = %e);
                    None
                }
            }
        }
        _ => None,
    };
    let done: Option<UnboundedSender<()>> = extension.as_ref().map(|_| done);
    let service = lambda_http::service_fn(|req: Request| {
        let request_id = request_id(&req);
        let done = done.clone();
        let answer = serve(request_id.clone(), handler(app, req, request_id));
        async move {
            let answer = answer.await;
            if let Some(done) = done {
                let _ = done.send(());
            }
            answer
        }
    });
    match extension {
        Some(extension) => {
            tokio::try_join!(lambda_http::run(service), extension.run())?;
            Ok(())
        }
        None => lambda_http::run(service).await,
    }
}
