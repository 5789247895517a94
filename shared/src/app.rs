//! `App`: what a function builds once at init and every handler borrows — configuration,
//! the DynamoDB tables, the counter policies, the password hasher, the CAPTCHA verifier and
//! the clock.

use crate::captcha::Verifier;
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::dynamo::{self, RequestLog};
use crate::lockout::{Counters, DeviceCookies, Policies};
use crate::member::Members;
use crate::password::Hasher;
use crate::recovery::Tickets;
use crate::session::Sessions;
use crate::token::Tokens;
use crate::verification::Verifications;

#[derive(Clone, Debug)]
pub struct App {
    pub config: Config,
    pub members: Members,
    pub sessions: Sessions,
    pub counters: Counters,
    /// Recovery tickets (DESIGN §3.9), in the counters table.
    pub tickets: Tickets,
    /// Email verification states (DESIGN §3.10), in the counters table.
    pub verifications: Verifications,
    /// The mail sender (DESIGN §3.13), when `EMAIL_FROM` is set; only functions built with
    /// the `mail` feature have one.
    #[cfg(feature = "mail")]
    pub mail: Option<crate::mail::Mailer>,
    /// The counter policies of DESIGN §4, built once from `config.lockout`.
    pub policies: Policies,
    pub hasher: Hasher,
    pub captcha: Verifier,
    /// Device cookies (DESIGN §4), when `DEVICE_COOKIE_KEY` (or its secret) is configured.
    pub devices: Option<DeviceCookies>,
    pub clock: Clock,
    /// Every DynamoDB request this app's client made since the last `take`.
    pub requests: RequestLog,
    /// Token settings and signing keys, when this function mints or verifies access tokens
    /// (`SIGNING_KEY` or `SIGNING_KEY_SECRET_ARN` set); without them no access token is accepted.
    pub tokens: Option<Tokens>,
}

impl App {
    /// The production wiring: configuration and AWS settings from the environment; a secret
    /// setting given as a Secrets Manager ARN is read once, here, and parsed as if set.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = dynamo::sdk_config().await;
        let source = crate::config::resolve_secrets(&crate::config::Env, &sdk).await?;
        let config = Config::from_source(&source)?;
        let requests = RequestLog::default();
        let client = dynamo::client(&sdk, requests.clone());
        #[cfg_attr(not(feature = "mail"), allow(unused_mut))]
        let mut app = Self::new(config, client, requests, Clock::system())?;
        #[cfg(feature = "mail")]
        {
            app.mail = app
                .config
                .email_from
                .clone()
                .map(|from| crate::mail::Mailer::new(&sdk, from));
        }
        Ok(match Tokens::from_env(&sdk).await? {
            Some(tokens) => app.with_tokens(tokens),
            None => app,
        })
    }

    /// The app with token settings and keys.
    pub fn with_tokens(mut self, tokens: Tokens) -> Self {
        self.tokens = Some(tokens);
        self
    }

    pub fn new(
        config: Config,
        client: aws_sdk_dynamodb::Client,
        requests: RequestLog,
        clock: Clock,
    ) -> Result<Self, ConfigError> {
        let hasher = Hasher::new(config.argon2).map_err(|e| ConfigError {
            var: "ARGON2_MEMORY_KIB",
            problem: format!("argon2 rejects the cost parameters: {e}"),
        })?;
        Ok(Self {
            members: Members::new(client.clone(), &config.tables.members),
            sessions: Sessions::new(client.clone(), &config.tables.sessions),
            tickets: Tickets::new(client.clone(), &config.tables.counters),
            verifications: Verifications::new(client.clone(), &config.tables.counters),
            counters: Counters::new(client, &config.tables.counters),
            #[cfg(feature = "mail")]
            mail: None,
            policies: Policies::from_config(&config.lockout),
            captcha: Verifier::new(config.captcha.clone()),
            devices: config
                .device_cookie
                .key
                .clone()
                .map(|key| DeviceCookies::new(key, config.device_cookie.ttl_seconds)),
            hasher,
            clock,
            requests,
            config,
            tokens: None,
        })
    }

    /// A flow's answer for the runtime: its response, or the wire form of its error — after
    /// the traffic line (`log_traffic`).
    pub fn answered(
        &self,
        flow: &str,
        result: Result<lambda_http::Response<lambda_http::Body>, crate::error::ApiError>,
        request_id: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        self.log_traffic(flow);
        crate::http::respond(result, request_id)
    }

    /// Logs (at debug) the DynamoDB requests and sequential round trips the flow just made,
    /// and starts the record afresh for the next invocation.
    pub fn log_traffic(&self, flow: &str) {
        let traffic = self.requests.take();
        tracing::debug!(
            event = "dynamodb_traffic",
            flow,
            dynamodb_requests = traffic.requests,
            round_trips = traffic.round_trips
        );
    }
}
