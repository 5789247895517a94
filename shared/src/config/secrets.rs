//! Secret settings read from AWS Secrets Manager, once, at init (DESIGN §4, §5, §6). On AWS a
//! secret never arrives as an environment variable: the template gives the ARN of a secret
//! (`CAPTCHA_SECRET_ARN`), and `resolve_secrets` reads it and presents its value under the plain
//! name (`CAPTCHA_SECRET`), layered over the environment, so `Config` parses one source however
//! the value came. Setting a value and its ARN together is refused, naming both.

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretString};

use super::{ConfigError, Source};

/// The settings that may come from Secrets Manager: (the plain name, the name of its ARN).
pub const FROM_SECRETS_MANAGER: [(&str, &str); 2] = [
    ("CAPTCHA_SECRET", "CAPTCHA_SECRET_ARN"),
    ("DEVICE_COOKIE_KEY", "DEVICE_COOKIE_KEY_SECRET_ARN"),
];

/// A source with the secrets its ARNs named, read once, layered over it.
pub struct WithSecrets<'a> {
    base: &'a dyn Source,
    secrets: HashMap<&'static str, SecretString>,
}

impl Source for WithSecrets<'_> {
    fn get(&self, name: &str) -> Option<String> {
        match self.secrets.get(name) {
            Some(value) => Some(value.expose_secret().to_owned()),
            None => self.base.get(name),
        }
    }
}

impl std::fmt::Debug for WithSecrets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.secrets.keys().copied().collect();
        names.sort_unstable();
        f.debug_struct("WithSecrets")
            .field("from_secrets_manager", &names)
            .finish_non_exhaustive()
    }
}

/// `base` with every secret whose ARN it sets read from Secrets Manager (one client, one read
/// per secret).
pub async fn resolve_secrets<'a>(
    base: &'a dyn Source,
    sdk: &aws_config::SdkConfig,
) -> Result<WithSecrets<'a>, ConfigError> {
    let reader = Reader::new(sdk);
    resolve_secrets_with(base, async |var, arn| reader.read(var, arn).await).await
}

/// `resolve_secrets` with the read given: `fetch(arn_var, arn)` answers a secret's string.
/// Surrounding whitespace (a newline left by `--secret-string file://…`) is dropped.
pub async fn resolve_secrets_with<'a>(
    base: &'a dyn Source,
    fetch: impl AsyncFn(&'static str, &str) -> Result<String, ConfigError>,
) -> Result<WithSecrets<'a>, ConfigError> {
    let mut secrets = HashMap::new();
    for (plain, arn_var) in FROM_SECRETS_MANAGER {
        let Some(arn) = base.get(arn_var) else {
            continue;
        };
        if base.get(plain).is_some() {
            return Err(ConfigError {
                var: plain,
                problem: format!("set either {plain} or {arn_var}, not both"),
            });
        }
        let value = fetch(arn_var, arn.trim()).await?;
        let value = value.trim();
        if value.is_empty() {
            return Err(ConfigError {
                var: arn_var,
                problem: "the secret's SecretString is empty".into(),
            });
        }
        secrets.insert(plain, SecretString::from(value.to_owned()));
    }
    Ok(WithSecrets { base, secrets })
}

/// The `SecretString` of the secret at `arn`; errors name `var`, the setting that gave the ARN.
pub async fn read_secret(
    sdk: &aws_config::SdkConfig,
    var: &'static str,
    arn: &str,
) -> Result<String, ConfigError> {
    Reader::new(sdk).read(var, arn).await
}

/// Reads secrets with one Secrets Manager client, built on the first read. A function built
/// without the `secrets-manager` feature links no client: an ARN given to it fails at init,
/// naming the setting, instead of being ignored.
struct Reader<'a> {
    #[cfg_attr(not(feature = "secrets-manager"), allow(dead_code))]
    sdk: &'a aws_config::SdkConfig,
    #[cfg(feature = "secrets-manager")]
    client: std::sync::OnceLock<aws_sdk_secretsmanager::Client>,
}

impl<'a> Reader<'a> {
    fn new(sdk: &'a aws_config::SdkConfig) -> Self {
        Self {
            sdk,
            #[cfg(feature = "secrets-manager")]
            client: std::sync::OnceLock::new(),
        }
    }

    #[cfg(feature = "secrets-manager")]
    async fn read(&self, var: &'static str, arn: &str) -> Result<String, ConfigError> {
        let client = self
            .client
            .get_or_init(|| aws_sdk_secretsmanager::Client::new(self.sdk));
        let out = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| ConfigError {
                var,
                problem: format!(
                    "the secret cannot be read: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                ),
            })?;
        out.secret_string.ok_or(ConfigError {
            var,
            problem: "the secret has no SecretString (store the value as text, not binary)".into(),
        })
    }

    #[cfg(not(feature = "secrets-manager"))]
    async fn read(&self, var: &'static str, _: &str) -> Result<String, ConfigError> {
        Err(ConfigError {
            var,
            problem: "this function reads no secret from Secrets Manager (it is built without \
                      shared's `secrets-manager` feature); give the ARN only to the functions \
                      that read it"
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::config::{CaptchaProvider, Config};

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const CAPTCHA_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:captcha-AbCdEf";
    const DEVICE_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:device-GhIjKl";

    /// Secrets Manager as the test sees it: the stored strings, and every read made.
    struct Store {
        values: HashMap<&'static str, &'static str>,
        reads: Mutex<Vec<(&'static str, String)>>,
    }

    impl Store {
        fn new() -> Self {
            Self {
                values: [
                    (CAPTCHA_ARN, "captcha-from-secrets-manager\n"),
                    (DEVICE_ARN, "device-key-from-secrets-manager"),
                    ("arn:empty", "  \n"),
                ]
                .into(),
                reads: Mutex::default(),
            }
        }

        async fn resolve(
            &self,
            env: &HashMap<String, String>,
        ) -> Result<Vec<(&str, Option<String>)>, ConfigError> {
            let source = resolve_secrets_with(env, async |var, arn| {
                self.reads.lock().unwrap().push((var, arn.to_owned()));
                self.values
                    .get(arn)
                    .map(|v| v.to_string())
                    .ok_or(ConfigError {
                        var,
                        problem: "ResourceNotFoundException".into(),
                    })
            })
            .await?;
            Ok(["CAPTCHA_SECRET", "DEVICE_COOKIE_KEY", "MEMBERS_TABLE"]
                .into_iter()
                .map(|name| (name, source.get(name)))
                .collect())
        }

        fn reads(&self) -> Vec<(&'static str, String)> {
            self.reads.lock().unwrap().clone()
        }
    }

    #[tokio::test]
    async fn a_secret_named_by_its_arn_is_read_once_and_seen_under_its_plain_name() {
        let captcha = Some("captcha-from-secrets-manager".to_owned());
        let device = Some("device-key-from-secrets-manager".to_owned());
        let table = Some("members".to_owned());
        for (env, seen, reads) in [
            (
                vec![("CAPTCHA_SECRET_ARN", CAPTCHA_ARN)],
                [captcha.clone(), None],
                vec![("CAPTCHA_SECRET_ARN", CAPTCHA_ARN)],
            ),
            (
                vec![
                    ("CAPTCHA_SECRET_ARN", CAPTCHA_ARN),
                    ("DEVICE_COOKIE_KEY_SECRET_ARN", &format!(" {DEVICE_ARN} ")),
                ],
                [captcha.clone(), device.clone()],
                vec![
                    ("CAPTCHA_SECRET_ARN", CAPTCHA_ARN),
                    ("DEVICE_COOKIE_KEY_SECRET_ARN", DEVICE_ARN),
                ],
            ),
            (
                vec![("DEVICE_COOKIE_KEY_SECRET_ARN", DEVICE_ARN)],
                [None, device.clone()],
                vec![("DEVICE_COOKIE_KEY_SECRET_ARN", DEVICE_ARN)],
            ),
            // Local development: plain values, no read.
            (
                vec![("CAPTCHA_SECRET", "local"), ("DEVICE_COOKIE_KEY", "dev")],
                [Some("local".into()), Some("dev".into())],
                vec![],
            ),
            // An ARN set to nothing (a template parameter left empty) is no ARN.
            (vec![("CAPTCHA_SECRET_ARN", "")], [None, None], vec![]),
        ] {
            let mut pairs = env.clone();
            pairs.push(("MEMBERS_TABLE", "members"));
            let store = Store::new();
            let got = store.resolve(&vars(&pairs)).await.unwrap();
            let expected = vec![
                ("CAPTCHA_SECRET", seen[0].clone()),
                ("DEVICE_COOKIE_KEY", seen[1].clone()),
                ("MEMBERS_TABLE", table.clone()),
            ];
            assert_eq!(got, expected, "{env:?}");
            let reads: Vec<(&str, String)> =
                reads.into_iter().map(|(v, a)| (v, a.to_owned())).collect();
            assert_eq!(store.reads(), reads, "{env:?}");
        }
    }

    #[tokio::test]
    async fn a_value_beside_its_arn_or_an_unreadable_or_empty_secret_fails_naming_the_setting() {
        for (env, var, also_named) in [
            (
                vec![
                    ("CAPTCHA_SECRET", "plain"),
                    ("CAPTCHA_SECRET_ARN", CAPTCHA_ARN),
                ],
                "CAPTCHA_SECRET",
                Some("CAPTCHA_SECRET_ARN"),
            ),
            (
                vec![
                    ("DEVICE_COOKIE_KEY", "plain"),
                    ("DEVICE_COOKIE_KEY_SECRET_ARN", DEVICE_ARN),
                ],
                "DEVICE_COOKIE_KEY",
                Some("DEVICE_COOKIE_KEY_SECRET_ARN"),
            ),
            (
                vec![("DEVICE_COOKIE_KEY_SECRET_ARN", "arn:missing")],
                "DEVICE_COOKIE_KEY_SECRET_ARN",
                None,
            ),
            (
                vec![("CAPTCHA_SECRET_ARN", "arn:empty")],
                "CAPTCHA_SECRET_ARN",
                None,
            ),
        ] {
            let store = Store::new();
            let e = store.resolve(&vars(&env)).await.unwrap_err();
            assert_eq!(e.var, var, "{env:?}: {e}");
            if let Some(other) = also_named {
                assert!(e.to_string().contains(other), "{e}");
                assert_eq!(store.reads(), vec![], "nothing is read when both are set");
            }
            assert!(!e.to_string().contains("plain"), "{e}");
        }
    }

    #[tokio::test]
    async fn config_parses_a_captcha_secret_given_as_an_arn() {
        let env = vars(&[
            ("MEMBERS_TABLE", "m"),
            ("SESSIONS_TABLE", "s"),
            ("COUNTERS_TABLE", "c"),
            ("CAPTCHA_PROVIDER", "turnstile"),
            ("CAPTCHA_SECRET_ARN", CAPTCHA_ARN),
        ]);
        let e = Config::from_source(&env).unwrap_err();
        assert_eq!(e.var, "CAPTCHA_SECRET", "the ARN alone is not the secret");
        let store = Store::new();
        let source = resolve_secrets_with(&env, async |_, arn| Ok(store.values[arn].to_owned()))
            .await
            .unwrap();
        let config = Config::from_source(&source).unwrap();
        assert_eq!(config.captcha.provider, CaptchaProvider::Turnstile);
        assert_eq!(
            config.captcha.secret.expose_secret(),
            "captcha-from-secrets-manager"
        );
        let shown = format!("{source:?}");
        assert!(!shown.contains("captcha-from"), "{shown}");
        assert!(shown.contains("CAPTCHA_SECRET"), "{shown}");
    }
}
