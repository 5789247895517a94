//! template.yaml, the tables defined in code, the `cargo lambda watch` router, openapi.yaml and
//! the function crates must describe one service. A drift between them fails here. So does a
//! stack that would run unsafe: `stack` evaluates the template's parameter constraints, rules
//! and conditions the way CloudFormation would, so the tests can say what a deployment with
//! given parameters would get.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_yaml_ng::Value;
use shared::config::{Config, FROM_SECRETS_MANAGER, resolve_secrets_with};
use shared::lockout::{self, CURSOR_KEY};
use shared::tables::{ALL, Scalar};
use stack::Params;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn yaml(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join(name)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{name} is not plain YAML: {e}"))
}

fn resources(t: &Value) -> Vec<(String, Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

fn key_schema(v: &Value) -> Vec<(String, String)> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_owned(),
                k["KeyType"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_table_in_code_is_declared_alike_in_the_template() {
    let t = yaml("template.yaml");
    for spec in ALL {
        let r = &t["Resources"][spec.logical_id];
        assert_eq!(r["Type"], "AWS::DynamoDB::Table", "{}", spec.logical_id);
        let p = &r["Properties"];
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{}", spec.logical_id);
        assert_eq!(
            key_schema(&p["KeySchema"]),
            vec![(spec.partition_key.0.to_owned(), "HASH".to_owned())]
        );
        let declared: BTreeSet<(String, String)> = p["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["AttributeName"].as_str().unwrap().to_owned(),
                    a["AttributeType"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let in_code: BTreeSet<(String, String)> = spec
            .key_attributes()
            .into_iter()
            .map(|(n, s)| {
                (
                    n.to_owned(),
                    if s == Scalar::S { "S" } else { "N" }.to_owned(),
                )
            })
            .collect();
        assert_eq!(
            declared, in_code,
            "{} attribute definitions",
            spec.logical_id
        );
        let empty = vec![];
        let gsis = p["GlobalSecondaryIndexes"].as_sequence().unwrap_or(&empty);
        assert_eq!(
            gsis.len(),
            spec.indexes.len(),
            "{} index count",
            spec.logical_id
        );
        for ix in spec.indexes {
            let g = gsis
                .iter()
                .find(|g| g["IndexName"] == ix.name)
                .unwrap_or_else(|| panic!("{} lacks index {}", spec.logical_id, ix.name));
            let mut expected = vec![(ix.partition_key.0.to_owned(), "HASH".to_owned())];
            if let Some((sk, _)) = ix.sort_key {
                expected.push((sk.to_owned(), "RANGE".to_owned()));
            }
            assert_eq!(
                key_schema(&g["KeySchema"]),
                expected,
                "{} {}",
                spec.logical_id,
                ix.name
            );
            if ix.projected.is_empty() {
                assert_eq!(
                    g["Projection"]["ProjectionType"], "KEYS_ONLY",
                    "{}",
                    ix.name
                );
            } else {
                assert_eq!(g["Projection"]["ProjectionType"], "INCLUDE", "{}", ix.name);
                let attrs: Vec<&str> = g["Projection"]["NonKeyAttributes"]
                    .as_sequence()
                    .map(|s| s.iter().filter_map(|a| a.as_str()).collect())
                    .unwrap_or_default();
                assert_eq!(attrs, ix.projected, "{}", ix.name);
            }
        }
        assert_eq!(
            p["TimeToLiveSpecification"]["AttributeName"],
            shared::tables::TTL_ATTRIBUTE
        );
        assert_eq!(p["TimeToLiveSpecification"]["Enabled"], true);
    }
    let tables = resources(&t)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::DynamoDB::Table")
        .count();
    assert_eq!(
        tables,
        ALL.len(),
        "the template declares a table the code does not know"
    );
}

type Route = (String, String, String); // (METHOD, path, binary)

fn template_routes() -> BTreeSet<Route> {
    let t = yaml("template.yaml");
    let mut routes = BTreeSet::new();
    for (name, r) in resources(&t) {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        assert_eq!(r["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        assert_eq!(r["Properties"]["CodeUri"], ".", "{name}");
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            root().join("functions").join(&binary).is_dir(),
            "{name}: no crate functions/{binary}"
        );
        if let Some(events) = r["Properties"]["Events"].as_mapping() {
            for (_, e) in events {
                if e["Type"] == "HttpApi" {
                    let p = &e["Properties"];
                    routes.insert((
                        p["Method"].as_str().unwrap().to_uppercase(),
                        p["Path"].as_str().unwrap().to_owned(),
                        binary.clone(),
                    ));
                }
            }
        }
    }
    routes
}

fn router_routes() -> BTreeSet<Route> {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let cargo: toml::Table = text.parse().unwrap();
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut routes = BTreeSet::new();
    for (path, target) in router {
        for entry in target
            .as_array()
            .expect("routes are arrays of {method, function}")
        {
            routes.insert((
                entry["method"].as_str().unwrap().to_uppercase(),
                path.clone(),
                entry["function"].as_str().unwrap().to_owned(),
            ));
        }
    }
    routes
}

#[test]
fn the_template_routes_what_the_local_router_routes() {
    let template = template_routes();
    assert!(!template.is_empty());
    assert_eq!(template, router_routes());
}

#[test]
fn every_function_crate_is_deployed_by_the_template() {
    let t = yaml("template.yaml");
    let deployed: BTreeSet<String> = resources(&t)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(_, r)| {
            r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(deployed, crates);
}

#[test]
fn openapi_documents_every_route() {
    let api = yaml("openapi.yaml");
    for (method, path, _) in template_routes() {
        let op = &api["paths"][path.as_str()][method.to_lowercase().as_str()];
        assert!(op.is_mapping(), "openapi.yaml lacks {method} {path}");
    }
    let documented = api["paths"].as_mapping().unwrap().len();
    let routed: BTreeSet<String> = template_routes().into_iter().map(|(_, p, _)| p).collect();
    assert_eq!(
        documented,
        routed.len(),
        "openapi.yaml documents a path nothing serves"
    );
}

#[test]
fn policies_name_tables_not_wildcards_and_no_secret_is_inlined() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let t = yaml("template.yaml");
    // Every optional statement present: the CAPTCHA secret's is there only with a provider.
    let params = params(&t, &[("CaptchaSecretArn", CAPTCHA_ARN)]);
    for (name, r) in functions(&t) {
        for st in stack::statements(&t, &params, &r) {
            let on = stack::resources_of(&t, &params, &st);
            assert!(!on.is_empty(), "{name}: a statement on nothing: {st:?}");
            assert!(
                on.iter().all(|r| r != "*"),
                "{name} grants on every resource"
            );
            for a in actions(&st) {
                assert!(!a.ends_with('*'), "{name} grants a wildcard action");
            }
        }
    }
    for needle in [
        "BEGIN PRIVATE KEY",
        "BEGIN EC PRIVATE KEY",
        "aws_secret_access_key",
    ] {
        assert!(!text.contains(needle), "template.yaml holds a secret");
    }
}

// ------------------------------------------------------------------ what a deployment gets

/// The parameters a real deployment gives: every required one, each valid.
const DEPLOYED: &[(&str, &str)] = &[
    ("Issuer", "https://auth.example.com"),
    ("Audience", "members-api"),
    (
        "SigningKeySecretArn",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:signing-AbCdEf",
    ),
    (
        "DeviceCookieKeySecretArn",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:device-GhIjKl",
    ),
    ("CorsAllowedOrigins", "https://app.example.com"),
    ("SignOnAllowedPrincipals", SIGN_ON_ROLE),
    ("EmailFrom", "no-reply@example.com"),
    ("EmailIdentity", "example.com"),
    ("RecoveryPageUrl", "https://app.example.com/recover"),
];
const SIGN_ON_ROLE: &str = "arn:aws:iam::123456789012:role/idp-bridge";
const CAPTCHA_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:captcha-MnOpQr";

/// `DEPLOYED` with `changes` made.
fn deployed<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut given: Vec<(&str, &str)> = DEPLOYED
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .copied()
        .collect();
    given.extend_from_slice(changes);
    given
}

fn params(t: &Value, changes: &[(&str, &str)]) -> Params {
    stack::parameters(t, &deployed(changes)).unwrap()
}

/// The function deployed from `functions/<binary>`.
fn function(t: &Value, binary: &str) -> Value {
    resources(t)
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"] == binary)
        .unwrap_or_else(|| panic!("no function deploys {binary}"))
}

/// Every function: (binary, resource).
fn functions(t: &Value) -> Vec<(String, Value)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(_, r)| {
            let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
            (binary.to_owned(), r)
        })
        .collect()
}

/// The names a function (or Globals' `Function`) sets in its own `Environment`.
fn own_variables(properties: &Value) -> BTreeSet<String> {
    properties["Environment"]["Variables"]
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str().unwrap().to_owned())
        .collect()
}

fn actions(st: &Value) -> Vec<&str> {
    match &st["Action"] {
        Value::String(a) => vec![a.as_str()],
        v => v
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|a| a.as_str().unwrap())
            .collect(),
    }
}

#[test]
fn the_stack_refuses_parameters_that_would_run_it_unsafely() {
    let t = yaml("template.yaml");
    for (changes, accepted) in [
        (vec![], true),
        (
            vec![(
                "CorsAllowedOrigins",
                "https://app.example.com,http://localhost:3000",
            )],
            true,
        ),
        (vec![("CorsAllowedOrigins", "*")], false),
        (vec![("CorsAllowedOrigins", "https://*.example.com")], false),
        (
            vec![(
                "CorsAllowedOrigins",
                "https://app.example.com,https://*.example.com",
            )],
            false,
        ),
        (
            vec![("CorsAllowedOrigins", "https://app.example.com*")],
            false,
        ),
        // Sign-on is behind the IAM authorizer: an empty list would admit the whole account.
        (vec![("SignOnAllowedPrincipals", "")], false),
        // A CAPTCHA provider needs its secret, and the secret is named by its full ARN (the
        // only form the function's permission can be scoped to).
        (vec![("CaptchaProvider", "turnstile")], false),
        (
            vec![
                ("CaptchaProvider", "turnstile"),
                ("CaptchaSecretArn", CAPTCHA_ARN),
            ],
            true,
        ),
        (vec![("CaptchaSecretArn", "captcha-secret")], false),
        (vec![("DeviceCookieKeySecretArn", "")], false),
        (vec![("Argon2ReservedConcurrency", "25")], true),
        (vec![("Argon2ReservedConcurrency", "-1")], false),
        (vec![("LoginMaxVerificationsPerHour", "101")], false),
        (vec![("LogRetentionDays", "90")], true),
        (vec![("LogRetentionDays", "31")], false),
    ] {
        let verdict = stack::accepts(&t, &deployed(&changes));
        assert_eq!(verdict.is_ok(), accepted, "{changes:?}: {verdict:?}");
    }
}

#[test]
fn the_api_throttles_every_route_at_the_limits_the_deployer_sets() {
    let t = yaml("template.yaml");
    let settings = &t["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"];
    for setting in ["ThrottlingBurstLimit", "ThrottlingRateLimit"] {
        let knob = stack::ref_name(&settings[setting])
            .unwrap_or_else(|| panic!("the HTTP API has no {setting} from a parameter"));
        let p = &t["Parameters"][knob];
        assert_eq!(p["Type"], "Number", "{knob}");
        let default = stack::scalar(&t, &params(&t, &[]), &settings[setting]).unwrap();
        assert!(default.parse::<f64>().unwrap() >= 1.0, "{knob}={default}");
        let set = stack::scalar(&t, &params(&t, &[(knob, "7")]), &settings[setting]);
        assert_eq!(set.as_deref(), Some("7"), "{setting}");
    }
}

/// The functions that run argon2 (login verifies, register hashes, change password does both).
const ARGON2_FUNCTIONS: [&str; 4] = ["login", "register", "change-password", "recovery"];

#[test]
fn the_argon2_functions_run_at_most_the_reserved_concurrency_the_deployer_sets() {
    let t = yaml("template.yaml");
    let mut knobs = BTreeSet::new();
    for binary in ARGON2_FUNCTIONS {
        let reserved = &function(&t, binary)["Properties"]["ReservedConcurrentExecutions"];
        let refs = stack::parameter_refs(&t, reserved);
        assert_eq!(
            refs.len(),
            1,
            "{binary}: reserved concurrency from one parameter"
        );
        let knob = refs.first().unwrap();
        for (value, reserved_as) in [("0", None), ("25", Some("25"))] {
            let got = stack::scalar(&t, &params(&t, &[(knob, value)]), reserved);
            assert_eq!(got.as_deref(), reserved_as, "{binary} with {knob}={value}");
        }
        knobs.insert(knob.clone());
    }
    assert_eq!(knobs.len(), 1, "one setting caps them all: {knobs:?}");
}

/// Lambda gives CPU in proportion to memory: an argon2 function below 1 GB would spend hundreds
/// of milliseconds per hash (BENCHMARKS.md), one that never hashes needs no more than 256 MB
/// (its peak RSS is about 10 MB). Each function states its own size, with no default to
/// inherit by accident.
#[test]
fn each_function_sets_its_memory_for_what_it_does() {
    let t = yaml("template.yaml");
    assert!(
        t["Globals"]["Function"]["MemorySize"].is_null(),
        "no default size"
    );
    for (binary, f) in functions(&t) {
        let mb = f["Properties"]["MemorySize"]
            .as_u64()
            .unwrap_or_else(|| panic!("{binary} sets no MemorySize"));
        if ARGON2_FUNCTIONS.contains(&binary.as_str()) {
            assert!((1024..=1769).contains(&mb), "{binary}: {mb} MB for argon2");
        } else {
            assert!(
                (128..=256).contains(&mb),
                "{binary}: {mb} MB without argon2"
            );
        }
    }
}

#[test]
fn every_function_logs_to_its_own_group_kept_as_long_as_the_deployer_sets() {
    let t = yaml("template.yaml");
    assert_eq!(
        t["Globals"]["Function"]["LoggingConfig"]["LogFormat"],
        "JSON"
    );
    let mut groups = BTreeSet::new();
    for (binary, f) in functions(&t) {
        // The function names its group, so the group exists (with its retention) first.
        let group = stack::ref_name(&f["Properties"]["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{binary} writes to no log group of the template"));
        let g = &t["Resources"][group];
        assert_eq!(g["Type"], "AWS::Logs::LogGroup", "{binary}");
        let name = stack::scalar(&t, &params(&t, &[]), &g["Properties"]["LogGroupName"]).unwrap();
        assert!(name.starts_with("/aws/lambda/"), "{binary}: {name}");
        let retention = &g["Properties"]["RetentionInDays"];
        let days = stack::scalar(&t, &params(&t, &[]), retention);
        assert_eq!(days.as_deref(), Some("30"), "{binary}: 30 days by default");
        let knob = stack::ref_name(retention).unwrap();
        let days = stack::scalar(&t, &params(&t, &[(knob, "90")]), retention);
        assert_eq!(days.as_deref(), Some("90"), "{binary}: {knob}");
        assert!(groups.insert(group.to_owned()), "{binary} shares {group}");
    }
}

/// The secrets each function reads, by the setting that gives the secret's ARN.
const SECRETS_READ: [(&str, &[&str]); 11] = [
    (
        "login",
        &["CAPTCHA_SECRET_ARN", "DEVICE_COOKIE_KEY_SECRET_ARN"],
    ),
    ("register", &["CAPTCHA_SECRET_ARN"]),
    ("token", &["SIGNING_KEY_SECRET_ARN"]),
    ("logout", &["SIGNING_KEY_SECRET_ARN"]),
    ("change-password", &["SIGNING_KEY_SECRET_ARN"]),
    ("sign-on", &[]),
    ("session-cleanup", &[]),
    ("sessions", &["SIGNING_KEY_SECRET_ARN"]),
    ("admin", &[]),
    ("recovery", &[]),
    ("verify-email", &[]),
];

#[test]
fn no_secret_is_in_the_template_and_each_function_may_read_only_its_own() {
    let t = yaml("template.yaml");
    let plain: Vec<&str> = FROM_SECRETS_MANAGER
        .iter()
        .map(|(plain, _)| *plain)
        .chain(["SIGNING_KEY"])
        .collect();
    let mut environments = vec![("Globals".to_owned(), t["Globals"]["Function"].clone())];
    environments.extend(
        functions(&t)
            .into_iter()
            .map(|(b, f)| (b, f["Properties"].clone())),
    );
    for (name, properties) in &environments {
        let vars = own_variables(properties);
        for p in &plain {
            assert!(!vars.contains(*p), "{name} is given the value of {p}");
        }
    }
    for (name, p) in t["Parameters"].as_mapping().unwrap() {
        assert_ne!(
            p["NoEcho"], true,
            "{name:?}: a secret value passed to the stack"
        );
    }
    assert_eq!(
        functions(&t).len(),
        SECRETS_READ.len(),
        "a function missing here"
    );
    for captcha in ["", CAPTCHA_ARN] {
        let params = params(&t, &[("CaptchaSecretArn", captcha)]);
        for (binary, arn_vars) in SECRETS_READ {
            let f = function(&t, binary);
            let env = stack::environment(&t, &params, &f);
            let given: BTreeSet<&str> = env
                .keys()
                .map(String::as_str)
                .filter(|k| k.ends_with("SECRET_ARN"))
                .collect();
            assert_eq!(
                given,
                arn_vars.iter().copied().collect(),
                "{binary}'s environment"
            );
            let mut readable = BTreeSet::new();
            for st in stack::statements(&t, &params, &f) {
                let acts = actions(&st);
                if !acts.iter().any(|a| a.starts_with("secretsmanager:")) {
                    continue;
                }
                assert_eq!(acts, ["secretsmanager:GetSecretValue"], "{binary}");
                let arns = stack::resources_of(&t, &params, &st);
                assert_eq!(
                    arns.len(),
                    1,
                    "{binary}: one secret per statement: {arns:?}"
                );
                readable.extend(arns);
            }
            // An empty ARN (no CAPTCHA provider) is no secret, and no statement names it.
            let expected: BTreeSet<String> = arn_vars
                .iter()
                .filter_map(|v| env.get(*v).filter(|arn| !arn.is_empty()).cloned())
                .collect();
            assert_eq!(
                readable, expected,
                "what {binary} may read (CAPTCHA {captcha:?})"
            );
        }
    }
}

/// The features of `shared` that `functions/<binary>` builds with (what its binary links).
fn shared_features(binary: &str) -> BTreeSet<String> {
    let manifest =
        std::fs::read_to_string(root().join("functions").join(binary).join("Cargo.toml")).unwrap();
    let manifest: toml::Table = manifest.parse().unwrap();
    manifest["dependencies"]["shared"]
        .get("features")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect()
}

/// A binary links the Secrets Manager and SES clients only where the template lets it use them
/// (issue 13: size), and always there: a function given a secret's ARN but built without
/// `secrets-manager` would fail at init, one allowed to mail but built without `mail` would
/// never send.
#[test]
fn each_function_links_the_clients_of_the_services_the_template_lets_it_use() {
    let t = yaml("template.yaml");
    let params = params(&t, &[("CaptchaSecretArn", CAPTCHA_ARN)]);
    for (binary, arn_vars) in SECRETS_READ {
        let f = function(&t, binary);
        let mails = stack::statements(&t, &params, &f)
            .iter()
            .any(|st| actions(st).contains(&"ses:SendEmail"));
        let features = shared_features(binary);
        assert_eq!(
            features.contains("secrets-manager"),
            !arn_vars.is_empty(),
            "{binary}: shared's `secrets-manager` feature (it reads {arn_vars:?})"
        );
        assert_eq!(
            features.contains("mail"),
            mails,
            "{binary}: shared's `mail` feature (ses:SendEmail allowed: {mails})"
        );
    }
}

#[test]
fn each_function_may_write_only_its_own_counters() {
    let t = yaml("template.yaml");
    let (email, ip) = ("ann@example.com", "192.0.2.1");
    // The keys each function's code writes, from the code.
    // A verification state is written by the three flows of DESIGN 3.10 (register and login
    // start one, verify-email checks and ends it), and recovery clears the email's login
    // counter (3.9): keys several functions share, checked apart from the others below.
    let state = "verify#state#s-1".to_owned();
    let resends = lockout::verify_resend_key("m-1");
    let shared_keys = [
        (state.clone(), vec!["login", "register", "verify-email"]),
        (resends.clone(), vec!["login", "verify-email"]),
        (
            lockout::email_key("login", email),
            vec!["login", "recovery"],
        ),
    ];
    let own: [(&str, Vec<String>); 6] = [
        (
            "login",
            vec![
                lockout::email_key("login", email),
                lockout::ip_key("login", ip),
                lockout::device_key("d-1"),
                lockout::verifications_key(email),
                state.clone(),
                resends.clone(),
            ],
        ),
        (
            "register",
            vec![lockout::ip_key("register", ip), state.clone()],
        ),
        ("change-password", vec![lockout::member_key("chpw", "m-1")]),
        ("session-cleanup", vec![CURSOR_KEY.to_owned()]),
        (
            "recovery",
            vec![
                lockout::email_key("recovery", email),
                lockout::ip_key("recovery", ip),
                shared::recovery::ticket_key(email),
            ],
        ),
        ("verify-email", vec![state.clone(), resends.clone()]),
    ];
    let erases = ["admin"];
    let params = params(&t, &[]);
    for (binary, f) in functions(&t) {
        let on_counters: Vec<Value> = stack::statements(&t, &params, &f)
            .into_iter()
            .filter(|st| stack::resources_of(&t, &params, st).contains(&"CountersTable.Arn".into()))
            .collect();
        let keys: &[String] = match own.iter().find(|(b, _)| *b == binary) {
            Some((_, keys)) => keys,
            // The erasing functions' statements are checked in the loop below.
            None if erases.contains(&binary.as_str()) => &[],
            None => {
                assert!(on_counters.is_empty(), "{binary} may touch the counters");
                continue;
            }
        };
        assert!(
            !on_counters.is_empty(),
            "{binary} may not write its counters"
        );
        for st in on_counters {
            let acts = actions(&st);
            // session-cleanup deletes whichever counter has gone stale, whoever wrote it.
            if binary == "session-cleanup" && acts == ["dynamodb:DeleteItem"] {
                continue;
            }
            // admin erases a member's counters (DESIGN 3.12): exactly those keyed by its email
            // or id, whoever wrote them, and no per-IP or per-device counter, nor the cursor.
            if binary == "admin" {
                assert_eq!(
                    acts,
                    ["dynamodb:DeleteItem"],
                    "admin may only erase counters"
                );
                let scope = stack::leading_keys(&st).expect("admin may erase any counter");
                for k in lockout::member_counter_keys(email, "m-1") {
                    assert!(scope.admits(&k), "admin may not erase {k}");
                }
                for k in [
                    lockout::ip_key("login", ip),
                    lockout::ip_key("register", ip),
                    lockout::device_key("d-1"),
                    CURSOR_KEY.to_owned(),
                ] {
                    assert!(!scope.admits(&k), "admin may erase {k}");
                }
                continue;
            }
            let scope = stack::leading_keys(&st)
                .unwrap_or_else(|| panic!("{binary} may {acts:?} any counter"));
            // Recovery's statement for the login counter it clears: that key alone, deleted.
            if binary == "recovery" && scope.admits(&lockout::email_key("login", email)) {
                assert_eq!(
                    acts,
                    ["dynamodb:DeleteItem"],
                    "recovery may only clear a lock"
                );
                continue;
            }
            let sharers = |k: &String| {
                shared_keys
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, who)| who.contains(&binary.as_str()))
            };
            for (other, theirs) in &own {
                for k in theirs.iter().filter(|_| *other != binary) {
                    if sharers(k) == Some(true) {
                        continue;
                    }
                    assert!(!scope.admits(k), "{binary} may write {other}'s counter {k}");
                }
            }
            let _ = keys;
        }
    }
}

#[test]
fn sign_on_behind_the_iam_authorizer_starts_only_with_a_list_of_allowed_principals() {
    let t = yaml("template.yaml");
    let f = function(&t, "sign-on");
    for (_, e) in f["Properties"]["Events"].as_mapping().unwrap() {
        assert_eq!(e["Properties"]["Auth"]["Authorizer"], "AWS_IAM");
    }
    let empty = [("SignOnAllowedPrincipals", "")];
    assert!(stack::accepts(&t, &deployed(&empty)).is_err());
    // Should the list be emptied anyway (a stack updated around the rule), the function
    // refuses to start rather than admit every principal of the account.
    let env = stack::environment(&t, &params(&t, &empty), &f);
    let e = Config::from_source(&env).unwrap_err();
    assert_eq!(e.var, "SIGN_ON_ALLOWED_PRINCIPALS", "{e}");
    let c = Config::from_source(&stack::environment(&t, &params(&t, &[]), &f)).unwrap();
    assert!(c.sign_on.iam_authorizer);
    assert_eq!(c.sign_on.allowed_principals, [SIGN_ON_ROLE]);
}

#[test]
fn the_admin_routes_are_behind_the_iam_authorizer_and_admit_nobody_until_configured() {
    let t = yaml("template.yaml");
    let f = function(&t, "admin");
    let events = f["Properties"]["Events"].as_mapping().unwrap();
    assert_eq!(events.len(), 7);
    for (_, e) in events {
        assert_eq!(e["Properties"]["Auth"]["Authorizer"], "AWS_IAM", "{e:?}");
    }
    // Left as deployed by default: it starts, and admits no principal and no key.
    let c = Config::from_source(&stack::environment(&t, &params(&t, &[]), &f)).unwrap();
    assert!(c.admin.allowed_principals.is_empty() && c.admin.api_key_hashes.is_empty());
    let c = Config::from_source(&stack::environment(
        &t,
        &params(&t, &[("AdminAllowedPrincipals", SIGN_ON_ROLE)]),
        &f,
    ))
    .unwrap();
    assert_eq!(c.admin.allowed_principals, [SIGN_ON_ROLE]);
}

#[test]
fn the_admin_function_can_read_every_attribute_of_a_member_but_its_password_hash() {
    let t = yaml("template.yaml");
    let params = params(&t, &[]);
    let f = function(&t, "admin");
    let on_members: Vec<Value> = stack::statements(&t, &params, &f)
        .into_iter()
        .filter(|st| stack::resources_of(&t, &params, st) == ["MembersTable.Arn"])
        .collect();
    assert!(!on_members.is_empty());
    let attrs = |st: &Value| -> BTreeSet<String> {
        st["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
            .as_sequence()
            .unwrap_or_else(|| panic!("admin may touch any attribute: {st:?}"))
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    };
    for st in &on_members {
        let acts = actions(st);
        assert!(!attrs(st).contains("passwordHash"), "{acts:?}");
        if acts.contains(&"dynamodb:GetItem") {
            assert_eq!(acts, ["dynamodb:GetItem"]);
            let identity: BTreeSet<String> = shared::member::operator::IDENTITY_ATTRIBUTES
                .iter()
                .map(|a| a.to_string())
                .collect();
            assert_eq!(attrs(st), identity, "the identity the code reads");
            assert_eq!(
                st["Condition"]["StringEqualsIfExists"]["dynamodb:Select"],
                "SPECIFIC_ATTRIBUTES"
            );
        } else {
            for a in shared::member::operator::STATUS_ATTRIBUTES {
                assert!(attrs(st).contains(*a), "{a}");
            }
            let returns = &st["Condition"]["StringEqualsIfExists"]["dynamodb:ReturnValues"];
            let returns: Vec<&str> = returns
                .as_sequence()
                .expect("admin's writes may return the whole item")
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(returns, ["NONE", "UPDATED_NEW"]);
        }
    }
    assert!(
        !on_members
            .iter()
            .any(|st| actions(st).contains(&"dynamodb:Scan"))
    );
}

/// The settings a function reads that the others do not, so it alone is given them.
const OWN_SETTINGS: [(&str, &[&str]); 8] = [
    (
        "login",
        &[
            "CAPTCHA_PROVIDER",
            "CAPTCHA_SECRET_ARN",
            "CAPTCHA_EXPECTED_HOSTNAMES",
            "CAPTCHA_MIN_SCORE",
            "DEVICE_COOKIE_KEY_SECRET_ARN",
            "DEVICE_COOKIE_TTL_SECONDS",
            "LOGIN_DEVICE_LOCK_AFTER_FAILURES",
            "LOGIN_MAX_VERIFICATIONS_PER_HOUR",
            "MAX_SESSIONS_PER_MEMBER",
            "EMAIL_FROM",
            "VERIFY_CODE_TTL_SECONDS",
            "VERIFY_RESEND_MAX_PER_HOUR",
        ],
    ),
    (
        "register",
        &[
            "CAPTCHA_PROVIDER",
            "CAPTCHA_SECRET_ARN",
            "CAPTCHA_EXPECTED_HOSTNAMES",
            "CAPTCHA_MIN_SCORE",
            "REGISTER_REQUIRES_CAPTCHA",
            "MAX_SESSIONS_PER_MEMBER",
            "EMAIL_FROM",
            "REGISTER_REQUIRES_EMAIL_VERIFICATION",
            "VERIFY_CODE_TTL_SECONDS",
        ],
    ),
    (
        "sign-on",
        &[
            "SIGN_ON_IAM_AUTHORIZER",
            "SIGN_ON_ALLOWED_PRINCIPALS",
            "SIGN_ON_API_KEY_HASHES",
            "SIGN_ON_ALLOWED_EMAIL_DOMAINS",
            "SIGN_ON_REQUIRED_PROFILE_FIELDS",
            "MAX_SESSIONS_PER_MEMBER",
        ],
    ),
    ("sessions", &["SESSION_TOUCH_INTERVAL_SECONDS"]),
    ("change-password", &["SESSION_TOUCH_INTERVAL_SECONDS"]),
    (
        "admin",
        &["ADMIN_ALLOWED_PRINCIPALS", "ADMIN_API_KEY_HASHES"],
    ),
    (
        "recovery",
        &[
            "EMAIL_FROM",
            "RECOVERY_PAGE_URL",
            "RECOVERY_REDIRECT_ALLOWLIST",
            "RECOVERY_TOKEN_TTL_SECONDS",
            "RECOVERY_EMAIL_MAX_PER_HOUR",
            "RECOVERY_IP_MAX_PER_HOUR",
            "REGISTER_REQUIRES_OWNER_APPROVAL",
        ],
    ),
    (
        "verify-email",
        &[
            "EMAIL_FROM",
            "REGISTER_REQUIRES_OWNER_APPROVAL",
            "VERIFY_CODE_TTL_SECONDS",
            "VERIFY_MAX_ATTEMPTS",
            "VERIFY_RESEND_MAX_PER_HOUR",
        ],
    ),
];

fn tables_only() -> HashMap<String, String> {
    [
        ("MEMBERS_TABLE", "m"),
        ("SESSIONS_TABLE", "s"),
        ("COUNTERS_TABLE", "c"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[test]
fn each_function_alone_gets_the_settings_it_reads_defaulting_as_the_code_does() {
    let t = yaml("template.yaml");
    let code_defaults = format!("{:?}", Config::from_source(&tables_only()).unwrap());
    let mut given_to: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (binary, names) in OWN_SETTINGS {
        let vars = &function(&t, binary)["Properties"]["Environment"]["Variables"];
        for name in names {
            given_to.entry(*name).or_default().insert(binary.to_owned());
            let v = &vars[*name];
            assert!(!v.is_null(), "{binary} is not given {name}");
            // A deployer who leaves the parameter alone gets what the code would choose.
            let Some(knob) = stack::ref_name(v) else {
                continue;
            };
            let default = &t["Parameters"][knob]["Default"];
            if default.is_null() {
                continue;
            }
            let default = stack::scalar(&t, &Params::new(), default).unwrap();
            let mut env = tables_only();
            env.insert((*name).to_owned(), default.clone());
            let with_default = format!("{:?}", Config::from_source(&env).unwrap());
            assert_eq!(
                with_default, code_defaults,
                "{knob} defaults to {default:?}"
            );
        }
    }
    let globals = own_variables(&t["Globals"]["Function"]);
    for (name, expected) in given_to {
        assert!(!globals.contains(name), "{name} is given to every function");
        let given: BTreeSet<String> = functions(&t)
            .into_iter()
            .filter(|(_, f)| own_variables(&f["Properties"]).contains(name))
            .map(|(b, _)| b)
            .collect();
        assert_eq!(given, expected, "the functions given {name}");
    }
}

#[tokio::test]
async fn every_function_starts_on_the_environment_the_template_gives_it() {
    let t = yaml("template.yaml");
    let params = params(
        &t,
        &[
            ("CaptchaProvider", "turnstile"),
            ("CaptchaSecretArn", CAPTCHA_ARN),
        ],
    );
    for (binary, f) in functions(&t) {
        let env = stack::environment(&t, &params, &f);
        let source = resolve_secrets_with(&env, async |_, arn| {
            Ok(format!("the secret stored at {arn}"))
        })
        .await
        .unwrap();
        let config =
            Config::from_source(&source).unwrap_or_else(|e| panic!("{binary} does not start: {e}"));
        let uses_captcha = ["login", "register"].contains(&binary.as_str());
        assert_eq!(
            config.captcha.provider != shared::config::CaptchaProvider::None,
            uses_captcha,
            "{binary} verifies CAPTCHAs"
        );
        assert_eq!(
            config.device_cookie.key.is_some(),
            binary == "login",
            "{binary} signs device cookies"
        );
        if env.contains_key("SIGNING_KEY_SECRET_ARN") {
            shared::token::TokenConfig::from_source(&env)
                .unwrap_or_else(|e| panic!("{binary}'s token settings: {e}"));
        }
    }
}

// ------------------------------------------------------------------ operating it (issue 17)

/// Every table can be restored to a point in time, and none can be deleted by a stack update
/// or a stray `delete-table` (README, Runbook).
#[test]
fn every_table_has_deletion_protection_and_point_in_time_recovery() {
    let t = yaml("template.yaml");
    let tables: Vec<(String, Value)> = resources(&t)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::DynamoDB::Table")
        .collect();
    assert_eq!(tables.len(), ALL.len());
    for (name, r) in tables {
        let p = &r["Properties"];
        assert_eq!(p["DeletionProtectionEnabled"], true, "{name}");
        assert_eq!(
            p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
            "{name}"
        );
    }
}

#[test]
fn every_function_is_traced_by_x_ray() {
    let t = yaml("template.yaml");
    assert_eq!(t["Globals"]["Function"]["Tracing"], "Active");
    for (binary, f) in functions(&t) {
        let own = &f["Properties"]["Tracing"];
        assert!(
            own.is_null() || own == "Active",
            "{binary} turns tracing off"
        );
    }
}

/// A property as a function gets it: its own, else Globals'.
fn effective<'a>(t: &'a Value, f: &'a Value, key: &str) -> &'a Value {
    match &f["Properties"][key] {
        Value::Null => &t["Globals"]["Function"][key],
        own => own,
    }
}

fn is_http(f: &Value) -> bool {
    f["Properties"]["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
        .any(|(_, e)| e["Type"] == "HttpApi")
}

/// The alarm resources: (logical id, resource).
fn alarms(t: &Value) -> Vec<(String, Value)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .collect()
}

/// Where a metric comes from, as an alarm or the dashboard names it.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// The functions' own metrics: the namespace is the `MetricsNamespace` parameter.
    Own,
    Aws(String),
}

#[derive(Debug, Clone)]
struct MetricRef {
    source: Source,
    name: String,
    /// Dimension name → the value: a literal, or `Ref:<logical id>` for a resource.
    dims: BTreeMap<String, String>,
}

/// The metric contract (issue 17): the operational metrics and their one dimension set.
const OPERATIONAL_METRICS: [&str; 5] = [
    "http_5xx",
    "http_503",
    "dynamodb_throttled",
    "cleanup_deleted",
    "cleanup_remaining",
];

fn namespace_of(ns: &Value) -> Source {
    if stack::ref_name(ns) == Some("MetricsNamespace") {
        return Source::Own;
    }
    let ns = ns.as_str().unwrap_or_else(|| panic!("namespace {ns:?}"));
    assert!(
        ns.starts_with("AWS/"),
        "the namespace {ns:?} is spelled out: it must be the MetricsNamespace parameter"
    );
    Source::Aws(ns.to_owned())
}

fn dimensions(dims: &Value) -> BTreeMap<String, String> {
    dims.as_sequence()
        .into_iter()
        .flatten()
        .map(|d| {
            let value = match stack::ref_name(&d["Value"]) {
                Some(r) => format!("Ref:{r}"),
                None => d["Value"].as_str().unwrap().to_owned(),
            };
            (d["Name"].as_str().unwrap().to_owned(), value)
        })
        .collect()
}

/// Every metric an alarm reads: its own (`MetricName`), those of its metric-math queries, and
/// the one of a Metrics Insights query (the one form the template uses).
fn alarm_metrics(t: &Value, alarm: &Value) -> Vec<MetricRef> {
    let p = &alarm["Properties"];
    if !p["MetricName"].is_null() {
        return vec![MetricRef {
            source: namespace_of(&p["Namespace"]),
            name: p["MetricName"].as_str().unwrap().to_owned(),
            dims: dimensions(&p["Dimensions"]),
        }];
    }
    let mut found = vec![];
    for q in p["Metrics"].as_sequence().expect("an alarm on no metric") {
        let m = &q["MetricStat"]["Metric"];
        if !m.is_null() {
            found.push(MetricRef {
                source: namespace_of(&m["Namespace"]),
                name: m["MetricName"].as_str().unwrap().to_owned(),
                dims: dimensions(&m["Dimensions"]),
            });
            continue;
        }
        let expr = stack::scalar(t, &params(t, &[]), &q["Expression"]).unwrap();
        if let Some(rest) = expr.strip_prefix("SELECT SUM(") {
            let (name, from) = rest.split_once(')').unwrap();
            assert_eq!(
                from, " FROM SCHEMA(\"${MetricsNamespace}\", function)",
                "a Metrics Insights query of another form: {expr}"
            );
            found.push(MetricRef {
                source: Source::Own,
                name: name.to_owned(),
                dims: [("function".to_owned(), "*".to_owned())].into(),
            });
        }
    }
    found
}

/// Holds a metric to what exists: the contract's metrics of a function this template deploys
/// (a decision metric's event and outcome spelled in that function's code), or an AWS metric
/// of one of the template's functions or tables.
fn check_metric(t: &Value, m: &MetricRef, at: &str) {
    let binaries: BTreeSet<String> = functions(t).into_iter().map(|(b, _)| b).collect();
    match &m.source {
        Source::Own => {
            let function = &m.dims["function"];
            assert!(
                function == "*" || binaries.contains(function),
                "{at}: no function {function}"
            );
            if OPERATIONAL_METRICS.contains(&m.name.as_str()) {
                assert_eq!(
                    m.dims.len(),
                    1,
                    "{at}: {} has the function dimension only",
                    m.name
                );
                return;
            }
            // A decision metric: the audit event, by function or by function and outcome.
            assert_ne!(function, "*", "{at}");
            let keys: Vec<&str> = m.dims.keys().map(String::as_str).collect();
            assert!(
                keys == ["function"] || keys == ["function", "outcome"],
                "{at}: {} by {keys:?}",
                m.name
            );
            let code = function_source(function);
            for word in std::iter::once(&m.name).chain(m.dims.get("outcome")) {
                assert!(
                    code.contains(&format!("\"{word}\"")),
                    "{at}: functions/{function} never says {word:?}: no such metric"
                );
            }
        }
        Source::Aws(ns) => {
            let (dim, kind, names): (&str, &str, &[&str]) = match ns.as_str() {
                "AWS/Lambda" => (
                    "FunctionName",
                    "AWS::Serverless::Function",
                    &["Invocations", "Errors", "Duration"],
                ),
                "AWS/DynamoDB" => (
                    "TableName",
                    "AWS::DynamoDB::Table",
                    &["ReadThrottleEvents", "WriteThrottleEvents"],
                ),
                other => panic!("{at}: namespace {other}"),
            };
            assert!(names.contains(&m.name.as_str()), "{at}: {ns} {}", m.name);
            assert_eq!(m.dims.len(), 1, "{at}: {:?}", m.dims);
            let target = m.dims[dim].strip_prefix("Ref:").unwrap();
            assert_eq!(t["Resources"][target]["Type"], kind, "{at}: {target}");
        }
    }
}

/// The Rust source of `functions/<binary>`.
fn function_source(binary: &str) -> String {
    let dir = root().join("functions").join(binary).join("src");
    let mut text = String::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "rs") {
            text.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    text
}

#[test]
fn every_alarm_reads_metrics_that_exist_and_notifies_the_alarm_topic() {
    let t = yaml("template.yaml");
    let alarms = alarms(&t);
    assert!(alarms.len() >= 30, "{} alarms", alarms.len());
    assert_eq!(t["Resources"]["AlarmTopic"]["Type"], "AWS::SNS::Topic");
    for (name, a) in &alarms {
        let p = &a["Properties"];
        for actions in ["AlarmActions", "OKActions"] {
            let to: Vec<Option<&str>> = p[actions]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name} has no {actions}"))
                .iter()
                .map(stack::ref_name)
                .collect();
            assert_eq!(to, [Some("AlarmTopic")], "{name} {actions}");
        }
        // Chosen per alarm, never left to CloudWatch's default.
        let missing = p["TreatMissingData"].as_str();
        assert!(
            matches!(missing, Some("notBreaching" | "breaching")),
            "{name}: TreatMissingData {missing:?}"
        );
        let metrics = alarm_metrics(&t, a);
        assert!(!metrics.is_empty(), "{name}");
        for m in &metrics {
            check_metric(&t, m, name);
        }
        // Metric math: one answer, from queries the alarm has.
        if let Some(queries) = p["Metrics"].as_sequence() {
            let ids: BTreeSet<&str> = queries.iter().map(|q| q["Id"].as_str().unwrap()).collect();
            let answers = queries.iter().filter(|q| q["ReturnData"] == true).count();
            assert_eq!(answers, 1, "{name} returns {answers} series");
            for q in queries.iter().filter(|q| !q["Expression"].is_null()) {
                let expr = stack::scalar(&t, &params(&t, &[]), &q["Expression"]).unwrap();
                if expr.starts_with("SELECT ") {
                    continue;
                }
                for word in expr
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '$')
                    .filter(|w| w.starts_with(|c: char| c.is_ascii_lowercase()))
                {
                    assert!(ids.contains(word), "{name}: {expr} names no query {word}");
                }
            }
        }
        // Every threshold (but cleanup's "1 = work left") is a parameter the deployer sets.
        if stack::ref_name(&p["Threshold"]).is_none() {
            assert_eq!(
                name, "SessionCleanupRemainingAlarm",
                "{name}: a literal threshold"
            );
        }
    }
    // Each alarm parameter is used, and says what it means.
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    for (k, p) in t["Parameters"].as_mapping().unwrap() {
        let k = k.as_str().unwrap();
        if k.starts_with("Alarm") {
            assert!(p["Description"].is_string(), "{k} has no Description");
            assert!(
                text.matches(&format!("Ref: {k}")).count()
                    + text.matches(&format!("${{{k}}}")).count()
                    >= 1,
                "{k} is used by nothing"
            );
        }
    }
}

/// The metrics an alarm reads.
fn watches(t: &Value, alarm: &str) -> Vec<MetricRef> {
    alarm_metrics(t, &t["Resources"][alarm])
}

fn reads(t: &Value, alarm: &str, name: &str, dim: &str, value: &str) -> bool {
    watches(t, alarm)
        .iter()
        .any(|m| m.name == name && m.dims.get(dim).map(String::as_str) == Some(value))
}

#[test]
fn every_http_function_deploys_by_canary_rolled_back_on_its_own_alarms() {
    let t = yaml("template.yaml");
    let mut http = 0;
    for (logical, f) in resources(&t)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
    {
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        // Every function runs behind its alias, so its events invoke a published version.
        assert_eq!(effective(&t, &f, "AutoPublishAlias"), "live", "{binary}");
        if !is_http(&f) {
            continue;
        }
        http += 1;
        let pref = &f["Properties"]["DeploymentPreference"];
        assert_eq!(
            stack::ref_name(&pref["Type"]),
            Some("DeploymentType"),
            "{binary}: a DeploymentPreference of the deployer's type"
        );
        let me = format!("Ref:{logical}");
        for attack_alarms in ["true", "false"] {
            let params = params(&t, &[("RollbackOnAttackAlarms", attack_alarms)]);
            let decided = stack::decide(&t, &params, &pref["Alarms"]).unwrap();
            let on: Vec<String> = decided
                .as_sequence()
                .unwrap_or_else(|| panic!("{binary}: no rollback alarms"))
                .iter()
                .map(|a| stack::ref_name(a).unwrap().to_owned())
                .collect();
            for a in &on {
                assert_eq!(
                    t["Resources"][a.as_str()]["Type"],
                    "AWS::CloudWatch::Alarm",
                    "{binary} rolls back on {a}, which is no alarm of the template"
                );
            }
            let any = |name: &str, dim: &str, value: &str| {
                on.iter().any(|a| reads(&t, a, name, dim, value))
            };
            assert!(any("http_5xx", "function", binary), "{binary}: 5xx");
            assert!(any("http_503", "function", binary), "{binary}: 503");
            assert!(any("Duration", "FunctionName", &me), "{binary}: duration");
            let signal = match binary {
                "login" => Some(("login", "invalid_credentials")),
                "token" => Some(("token_refresh", "replay_session_revoked")),
                _ => None,
            };
            if let Some((event, outcome)) = signal {
                let rolls_back = on.iter().any(|a| reads(&t, a, event, "outcome", outcome));
                assert_eq!(
                    rolls_back,
                    attack_alarms == "true",
                    "{binary}: {event} {outcome} with RollbackOnAttackAlarms={attack_alarms}"
                );
            }
            // Another function's alarm would roll this one back for that one's fault.
            for a in &on {
                for m in watches(&t, a) {
                    if let Some(other) = m.dims.get("function").filter(|b| *b != binary) {
                        panic!("{binary} rolls back on {a}, an alarm of {other}");
                    }
                    if let Some(other) = m.dims.get("FunctionName").filter(|f| **f != me) {
                        panic!("{binary} rolls back on {a}, an alarm of {other}");
                    }
                }
            }
        }
    }
    assert_eq!(http, 10);
}

#[test]
fn each_http_function_has_its_5xx_503_and_duration_alarms_against_its_own_timeout() {
    let t = yaml("template.yaml");
    let all = alarms(&t);
    for (logical, f) in resources(&t)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function" && is_http(r))
    {
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let me = format!("Ref:{logical}");
        let of = |name: &str, dim: &str, value: &str| -> Vec<&(String, Value)> {
            all.iter()
                .filter(|(a, _)| reads(&t, a, name, dim, value))
                .collect()
        };
        // 5xx and 503 as a share of the function's invocations, which Lambda counts.
        for code in ["http_5xx", "http_503"] {
            let found = of(code, "function", binary);
            assert!(!found.is_empty(), "{binary}: no alarm on {code}");
            for (a, _) in found {
                assert!(
                    reads(&t, a, "Invocations", "FunctionName", &me),
                    "{a}: {code} over something else than {binary}'s invocations"
                );
            }
        }
        let timeout_ms = effective(&t, &f, "Timeout").as_u64().unwrap() * 1000;
        let duration = of("Duration", "FunctionName", &me);
        assert_eq!(duration.len(), 1, "{binary}: duration alarms");
        let (a, alarm) = duration[0];
        let percent = alarm["Properties"]["Metrics"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|q| q["ReturnData"] == true)
            .unwrap();
        assert_eq!(
            percent["Expression"].as_str(),
            Some(format!("100 * p99 / {timeout_ms}").as_str()),
            "{a}: p99 as a share of {binary}'s {timeout_ms} ms timeout"
        );
        assert_eq!(
            stack::ref_name(&alarm["Properties"]["Threshold"]),
            Some("AlarmP99DurationPercentOfTimeout")
        );
    }
}

/// One cleanup run per alarm period: the defaults agree (rate(1 hour), 3600 s).
#[test]
fn the_cleanup_alarm_counts_runs_of_the_cleanup_schedule() {
    let t = yaml("template.yaml");
    let a = &t["Resources"]["SessionCleanupRemainingAlarm"]["Properties"];
    assert_eq!(a["MetricName"], "cleanup_remaining");
    assert_eq!(
        a["TreatMissingData"], "breaching",
        "a run that never answered left its work"
    );
    let period = stack::ref_name(&a["Period"]).unwrap();
    let period = t["Parameters"][period]["Default"].as_u64().unwrap();
    let schedule = t["Parameters"]["SessionCleanupSchedule"]["Default"]
        .as_str()
        .unwrap();
    let (n, unit) = schedule
        .strip_prefix("rate(")
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|s| s.split_once(' '))
        .unwrap();
    let unit: u64 = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86400,
        other => panic!("{other}"),
    };
    assert_eq!(n.parse::<u64>().unwrap() * unit, period, "{schedule}");
    for k in ["EvaluationPeriods", "DatapointsToAlarm"] {
        assert_eq!(
            stack::ref_name(&a[k]),
            Some("AlarmCleanupRemainingRuns"),
            "{k}"
        );
    }
}

/// The functions emit into the namespace the alarms read. And a deploy of parameters alone
/// publishes no version (SAM hashes `Ref`s as written), so the revision that forces one must
/// be a literal.
#[test]
fn every_function_emits_metrics_where_the_alarms_read_them() {
    let t = yaml("template.yaml");
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        stack::ref_name(&env["METRICS_NAMESPACE"]),
        Some("MetricsNamespace")
    );
    assert_eq!(t["Parameters"]["MetricsNamespace"]["Default"], "MemberAuth");
    assert!(
        env["CONFIG_REVISION"].is_string(),
        "CONFIG_REVISION must be a literal, or bumping it publishes nothing"
    );
    for (binary, f) in functions(&t) {
        let vars = own_variables(&f["Properties"]);
        assert!(!vars.contains("METRICS_NAMESPACE"), "{binary} overrides it");
        assert!(!vars.contains("CONFIG_REVISION"), "{binary} overrides it");
    }
}

#[test]
fn the_dashboard_shows_only_metrics_that_exist_and_every_alarm() {
    let t = yaml("template.yaml");
    let body = t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("DashboardBody is one Fn::Sub");
    // `${Name}` / `${Name.Arn}` become the names they stand for, as CloudFormation would.
    let mut text = String::new();
    let mut rest = body;
    let mut subs = BTreeSet::new();
    while let Some(i) = rest.find("${") {
        text.push_str(&rest[..i]);
        let j = rest[i..].find('}').unwrap() + i;
        let name = &rest[i + 2..j];
        subs.insert(name.to_owned());
        text.push_str(&format!("SUB:{name}"));
        rest = &rest[j + 1..];
    }
    text.push_str(rest);
    for s in &subs {
        let (res, _) = s.split_once('.').unwrap_or((s, ""));
        assert!(
            res.starts_with("AWS::")
                || !t["Parameters"][res].is_null()
                || !t["Resources"][res].is_null(),
            "the dashboard names {s}, which the template has not"
        );
    }
    let board: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut shown = 0;
    let mut on_board = BTreeSet::new();
    for w in board["widgets"].as_array().unwrap() {
        if w["type"] == "alarm" {
            for a in w["properties"]["alarms"].as_array().unwrap() {
                let a = a.as_str().unwrap();
                let id = a
                    .strip_prefix("SUB:")
                    .unwrap()
                    .strip_suffix(".Arn")
                    .unwrap();
                on_board.insert(id.to_owned());
            }
            continue;
        }
        for m in w["properties"]["metrics"].as_array().unwrap() {
            let parts: Vec<&str> = m
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            let source = match parts[0] {
                "SUB:MetricsNamespace" => Source::Own,
                ns if ns.starts_with("AWS/") => Source::Aws(ns.to_owned()),
                ns => panic!("the dashboard spells out the namespace {ns}"),
            };
            let dims = parts[2..]
                .chunks(2)
                .map(|kv| {
                    let v = kv[1]
                        .strip_prefix("SUB:")
                        .map_or(kv[1].to_owned(), |r| format!("Ref:{r}"));
                    (kv[0].to_owned(), v)
                })
                .collect();
            let metric = MetricRef {
                source,
                name: parts[1].to_owned(),
                dims,
            };
            check_metric(&t, &metric, "Dashboard");
            shown += 1;
        }
    }
    assert!(shown > 0);
    let every: BTreeSet<String> = alarms(&t).into_iter().map(|(a, _)| a).collect();
    assert_eq!(on_board, every, "the dashboard's alarm widget");
}

/// The README documents every configuration variable (its "Configuration" table): each one
/// the template gives a function is a row there.
#[test]
fn every_setting_the_template_gives_is_in_the_readme_configuration_table() {
    let t = yaml("template.yaml");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table = readme
        .split("\n## Configuration\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a Configuration section");
    let documented: BTreeSet<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" | ").next())
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .collect();
    let mut given = own_variables(&t["Globals"]["Function"]);
    for (_, f) in functions(&t) {
        given.extend(own_variables(&f["Properties"]));
    }
    for name in &given {
        assert!(
            documented.contains(name.as_str()),
            "{name} is given by template.yaml but not in README's Configuration table"
        );
    }
}

/// The template as CloudFormation evaluates it for one deployment: parameter values checked
/// against their constraints, `Rules` asserted, `Conditions` decided, `Fn::If` taken and
/// `AWS::NoValue` dropped. Only the intrinsics the template uses are known; any other fails
/// the test rather than being guessed at.
mod stack {
    use std::collections::{BTreeSet, HashMap};

    use serde_yaml_ng::Value;

    pub type Params = HashMap<String, String>;

    /// Every parameter's value: the given one, else its default.
    pub fn parameters(t: &Value, given: &[(&str, &str)]) -> Result<Params, String> {
        let declared = t["Parameters"].as_mapping().unwrap();
        let mut values = Params::new();
        for (name, p) in declared {
            let name = name.as_str().unwrap();
            if let Some((_, v)) = given.iter().find(|(k, _)| *k == name) {
                values.insert(name.to_owned(), (*v).to_owned());
            } else if !p["Default"].is_null() {
                values.insert(
                    name.to_owned(),
                    scalar(t, &Params::new(), &p["Default"]).unwrap(),
                );
            } else {
                return Err(format!("{name} is required"));
            }
        }
        for (k, _) in given {
            if !values.contains_key(*k) {
                return Err(format!("the template has no parameter {k}"));
            }
        }
        Ok(values)
    }

    /// Whether CloudFormation would create the stack with these parameters.
    pub fn accepts(t: &Value, given: &[(&str, &str)]) -> Result<(), String> {
        let values = parameters(t, given)?;
        for (name, p) in t["Parameters"].as_mapping().unwrap() {
            let name = name.as_str().unwrap();
            let value = &values[name];
            let items: Vec<&str> = if p["Type"] == "CommaDelimitedList" {
                value.split(',').collect()
            } else {
                vec![value.as_str()]
            };
            if let Some(allowed) = p["AllowedValues"].as_sequence() {
                let allowed: Vec<String> = allowed
                    .iter()
                    .map(|a| scalar(t, &Params::new(), a).unwrap())
                    .collect();
                if !allowed.contains(value) {
                    return Err(format!("{name}={value:?} is not among {allowed:?}"));
                }
            }
            if let Some(pattern) = p["AllowedPattern"].as_str()
                && let Some(bad) = items.iter().find(|v| !super::pattern::matches(pattern, v))
            {
                return Err(format!("{name}: {bad:?} does not match {pattern}"));
            }
            if p["Type"] == "Number" {
                let n: f64 = value
                    .parse()
                    .map_err(|_| format!("{name}={value:?} is not a number"))?;
                let bound = |b: &str| p[b].as_f64().or_else(|| p[b].as_str()?.parse().ok());
                if bound("MinValue").is_some_and(|min| n < min)
                    || bound("MaxValue").is_some_and(|max| n > max)
                {
                    return Err(format!("{name}={value} is out of bounds"));
                }
            }
        }
        for (name, rule) in t["Rules"].as_mapping().into_iter().flatten() {
            if !rule["RuleCondition"].is_null() && !truth(t, &values, &rule["RuleCondition"]) {
                continue;
            }
            for a in rule["Assertions"].as_sequence().unwrap() {
                if !truth(t, &values, &a["Assert"]) {
                    return Err(format!("rule {name:?}: {:?}", a["AssertDescription"]));
                }
            }
        }
        Ok(())
    }

    /// The parameter a value is a `Ref` to (or the resource, or pseudo parameter).
    pub fn ref_name(v: &Value) -> Option<&str> {
        v.as_mapping().filter(|m| m.len() == 1)?;
        v["Ref"].as_str()
    }

    /// Every parameter a value refers to.
    pub fn parameter_refs(t: &Value, v: &Value) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        match v {
            Value::Mapping(m) => {
                if let Some(name) = ref_name(v).filter(|n| !t["Parameters"][*n].is_null()) {
                    found.insert(name.to_owned());
                }
                for (_, inner) in m {
                    found.extend(parameter_refs(t, inner));
                }
            }
            Value::Sequence(s) => s.iter().for_each(|i| found.extend(parameter_refs(t, i))),
            _ => {}
        }
        found
    }

    /// `v` with every `Fn::If` decided and every `AWS::NoValue` gone (`None` if `v` is one).
    pub fn decide(t: &Value, params: &Params, v: &Value) -> Option<Value> {
        if ref_name(v) == Some("AWS::NoValue") {
            return None;
        }
        if let Some([cond, yes, no]) = v["Fn::If"].as_sequence().map(Vec::as_slice) {
            let c = &t["Conditions"][cond.as_str().unwrap()];
            assert!(!c.is_null(), "no condition {cond:?}");
            return decide(t, params, if truth(t, params, c) { yes } else { no });
        }
        Some(match v {
            Value::Sequence(s) => {
                Value::Sequence(s.iter().filter_map(|i| decide(t, params, i)).collect())
            }
            Value::Mapping(m) => Value::Mapping(
                m.iter()
                    .filter_map(|(k, i)| Some((k.clone(), decide(t, params, i)?)))
                    .collect(),
            ),
            other => other.clone(),
        })
    }

    /// A scalar property as deployed: a parameter's value, a resource's logical id,
    /// `Logical.Attribute` for `Fn::GetAtt`, the text of a `Fn::Sub`; `None` for no value.
    pub fn scalar(t: &Value, params: &Params, v: &Value) -> Option<String> {
        let v = decide(t, params, v)?;
        Some(match &v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => return None,
            _ => {
                if let Some(name) = ref_name(&v) {
                    match params.get(name) {
                        Some(value) => value.clone(),
                        None if !t["Resources"][name].is_null() => name.to_owned(),
                        None => panic!("Ref to unknown {name}"),
                    }
                } else if let Some([res, attr]) = v["Fn::GetAtt"].as_sequence().map(Vec::as_slice) {
                    format!("{}.{}", res.as_str().unwrap(), attr.as_str().unwrap())
                } else if let Some(text) = v["Fn::Sub"].as_str() {
                    text.to_owned()
                } else {
                    panic!("not a scalar: {v:?}")
                }
            }
        })
    }

    /// The environment a function runs with: Globals' variables and its own, as deployed.
    pub fn environment(t: &Value, params: &Params, f: &Value) -> HashMap<String, String> {
        let mut env = HashMap::new();
        for vars in [
            &t["Globals"]["Function"]["Environment"]["Variables"],
            &f["Properties"]["Environment"]["Variables"],
        ] {
            for (k, v) in vars.as_mapping().into_iter().flatten() {
                if let Some(value) = scalar(t, params, v) {
                    env.insert(k.as_str().unwrap().to_owned(), value);
                }
            }
        }
        env
    }

    /// What a statement grants on, as deployed (`Resource`, one or a list).
    pub fn resources_of(t: &Value, params: &Params, st: &Value) -> Vec<String> {
        match &st["Resource"] {
            Value::Sequence(rs) => rs.iter().filter_map(|r| scalar(t, params, r)).collect(),
            r => scalar(t, params, r).into_iter().collect(),
        }
    }

    /// Every statement of a function's inline policies, as deployed.
    pub fn statements(t: &Value, params: &Params, f: &Value) -> Vec<Value> {
        let Some(policies) = decide(t, params, &f["Properties"]["Policies"]) else {
            return vec![];
        };
        policies
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
            .collect()
    }

    /// The item keys a statement's `dynamodb:LeadingKeys` condition admits.
    pub struct Scope {
        like: bool,
        keys: Vec<String>,
    }

    impl Scope {
        pub fn admits(&self, key: &str) -> bool {
            self.keys
                .iter()
                .any(|k| if self.like { glob(k, key) } else { k == key })
        }
    }

    pub fn leading_keys(st: &Value) -> Option<Scope> {
        let (op, test) = st["Condition"].as_mapping()?.iter().next()?;
        let like = match op.as_str()? {
            "ForAllValues:StringLike" => true,
            "ForAllValues:StringEquals" => false,
            other => panic!("unknown condition operator {other}"),
        };
        let keys = match &test["dynamodb:LeadingKeys"] {
            Value::String(k) => vec![k.clone()],
            Value::Sequence(ks) => ks.iter().map(|k| k.as_str().unwrap().to_owned()).collect(),
            _ => return None,
        };
        Some(Scope { like, keys })
    }

    /// IAM's `StringLike`: `*` any run of characters, `?` any one.
    fn glob(pattern: &str, s: &str) -> bool {
        match pattern.chars().next() {
            None => s.is_empty(),
            Some('*') => (0..=s.len())
                .filter(|i| s.is_char_boundary(*i))
                .any(|i| glob(&pattern[1..], &s[i..])),
            Some(c) => {
                let mut rest = s.chars();
                rest.next().is_some_and(|d| c == '?' || c == d)
                    && glob(&pattern[c.len_utf8()..], rest.as_str())
            }
        }
    }

    #[derive(Debug, PartialEq)]
    enum Val {
        Text(String),
        List(Vec<String>),
        Bool(bool),
    }

    fn truth(t: &Value, params: &Params, e: &Value) -> bool {
        match eval(t, params, e) {
            Val::Bool(b) => b,
            other => panic!("{e:?} is {other:?}, not a condition"),
        }
    }

    /// The condition functions of `Rules` and `Conditions`.
    fn eval(t: &Value, params: &Params, e: &Value) -> Val {
        let args = |f: &str| e[f].as_sequence().unwrap().clone();
        let Some((f, arg)) = e.as_mapping().and_then(|m| m.iter().next()) else {
            return Val::Text(scalar(t, params, e).unwrap());
        };
        match f.as_str().unwrap() {
            "Ref" => {
                let name = arg.as_str().unwrap();
                let value = params[name].clone();
                if t["Parameters"][name]["Type"] == "CommaDelimitedList" {
                    Val::List(value.split(',').map(str::to_owned).collect())
                } else {
                    Val::Text(value)
                }
            }
            "Condition" => truth(t, params, &t["Conditions"][arg.as_str().unwrap()]).into(),
            "Fn::Equals" => {
                let a = args("Fn::Equals");
                (eval(t, params, &a[0]) == eval(t, params, &a[1])).into()
            }
            "Fn::Not" => (!truth(t, params, &args("Fn::Not")[0])).into(),
            "Fn::And" => args("Fn::And").iter().all(|c| truth(t, params, c)).into(),
            "Fn::Or" => args("Fn::Or").iter().any(|c| truth(t, params, c)).into(),
            "Fn::Contains" => {
                let a = args("Fn::Contains");
                match (eval(t, params, &a[0]), eval(t, params, &a[1])) {
                    (Val::List(list), Val::Text(x)) => list.contains(&x).into(),
                    other => panic!("Fn::Contains of {other:?}"),
                }
            }
            other => panic!("{other} is not evaluated here"),
        }
    }

    impl From<bool> for Val {
        fn from(b: bool) -> Self {
            Val::Bool(b)
        }
    }
}

/// `AllowedPattern`s (Java regular expressions, matched against the whole value) in the subset
/// the template uses: literals, `.`, escapes (`\s`, `\d`, `\w`, or an escaped literal), classes
/// (`[a-z0-9-]`, `[^*/\s]`), groups with `|`, and `?`, `*`, `+`, `{n}`, `{n,m}`. Anything else
/// panics, so a new pattern is never silently misread.
mod pattern {
    enum Node {
        Class(Class),
        Group(Vec<Vec<Node>>),
        Repeat(Box<Node>, usize, Option<usize>),
    }

    struct Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    }

    impl Class {
        fn has(&self, c: char) -> bool {
            self.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != self.negated
        }
    }

    const SPACE: [(char, char); 2] = [(' ', ' '), ('\t', '\r')];
    const DIGIT: [(char, char); 1] = [('0', '9')];
    const WORD: [(char, char); 4] = [('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];

    pub fn matches(pattern: &str, s: &str) -> bool {
        let p = pattern.strip_prefix('^').unwrap_or(pattern);
        let p = p.strip_suffix('$').unwrap_or(p);
        let mut parser = Parser {
            chars: p.chars().collect(),
            at: 0,
        };
        let alternatives = parser.alternatives();
        assert_eq!(
            parser.at,
            parser.chars.len(),
            "unsupported pattern {pattern}"
        );
        let s: Vec<char> = s.chars().collect();
        let whole = Node::Group(alternatives);
        node(&whole, &s, 0, &mut |end| end == s.len())
    }

    struct Parser {
        chars: Vec<char>,
        at: usize,
    }

    impl Parser {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.at).copied()
        }

        fn next(&mut self) -> char {
            let c = self.peek().expect("pattern ends early");
            self.at += 1;
            c
        }

        fn alternatives(&mut self) -> Vec<Vec<Node>> {
            let mut alts = vec![self.sequence()];
            while self.peek() == Some('|') {
                self.at += 1;
                alts.push(self.sequence());
            }
            alts
        }

        fn sequence(&mut self) -> Vec<Node> {
            let mut seq = vec![];
            while let Some(c) = self.peek().filter(|c| *c != '|' && *c != ')') {
                self.at += 1;
                let atom = match c {
                    '(' => {
                        let g = Node::Group(self.alternatives());
                        assert_eq!(self.next(), ')');
                        g
                    }
                    '[' => Node::Class(self.class()),
                    '\\' => Node::Class(escape(self.next())),
                    '.' => Node::Class(Class {
                        negated: true,
                        ranges: vec![],
                    }),
                    '^' | '$' | '{' | '}' | '?' | '*' | '+' => panic!("unsupported {c}"),
                    c => Node::Class(Class {
                        negated: false,
                        ranges: vec![(c, c)],
                    }),
                };
                seq.push(self.quantified(atom));
            }
            seq
        }

        fn quantified(&mut self, atom: Node) -> Node {
            let (min, max) = match self.peek() {
                Some('?') => (0, Some(1)),
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('{') => {
                    self.at += 1;
                    let mut text = String::new();
                    while self.peek() != Some('}') {
                        text.push(self.next());
                    }
                    let (lo, hi) = match text.split_once(',') {
                        Some((lo, hi)) => (lo.parse().unwrap(), hi.parse().ok()),
                        None => (text.parse().unwrap(), text.parse().ok()),
                    };
                    (lo, hi)
                }
                _ => return atom,
            };
            self.at += 1;
            Node::Repeat(Box::new(atom), min, max)
        }

        fn class(&mut self) -> Class {
            let negated = self.peek() == Some('^');
            if negated {
                self.at += 1;
            }
            let mut ranges = vec![];
            loop {
                let c = self.next();
                match c {
                    ']' => break,
                    '\\' => ranges.extend(escape(self.next()).ranges),
                    c if self.peek() == Some('-') && self.chars.get(self.at + 1) != Some(&']') => {
                        self.at += 1;
                        ranges.push((c, self.next()));
                    }
                    c => ranges.push((c, c)),
                }
            }
            Class { negated, ranges }
        }
    }

    fn escape(c: char) -> Class {
        let ranges = match c {
            's' => SPACE.to_vec(),
            'd' => DIGIT.to_vec(),
            'w' => WORD.to_vec(),
            c if c.is_ascii_alphanumeric() => panic!("unsupported escape \\{c}"),
            c => vec![(c, c)],
        };
        Class {
            negated: false,
            ranges,
        }
    }

    /// Matches `n` at `s[i..]`, calling `k` with each place it could end until `k` accepts.
    fn node(n: &Node, s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        match n {
            Node::Class(c) => i < s.len() && c.has(s[i]) && k(i + 1),
            Node::Group(alts) => alts.iter().any(|alt| sequence(alt, s, i, k)),
            Node::Repeat(inner, min, max) => repeat(inner, *min, *max, s, i, k),
        }
    }

    fn sequence(seq: &[Node], s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
        match seq.split_first() {
            None => k(i),
            Some((first, rest)) => node(first, s, i, &mut |j| sequence(rest, s, j, k)),
        }
    }

    /// Greedy: one more repetition first (one that consumes something), then stopping here.
    fn repeat(
        n: &Node,
        min: usize,
        max: Option<usize>,
        s: &[char],
        i: usize,
        k: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        let more = max.is_none_or(|m| m > 0)
            && node(n, s, i, &mut |j| {
                j > i && repeat(n, min.saturating_sub(1), max.map(|m| m - 1), s, j, k)
            });
        more || (min == 0 && k(i))
    }

    #[test]
    fn the_subset_reads_as_java_would() {
        for (pattern, s, expected) in [
            ("^https?://[^*/\\s]+$", "https://app.example.com", true),
            ("^https?://[^*/\\s]+$", "http://localhost:3000", true),
            ("^https?://[^*/\\s]+$", "https://*.example.com", false),
            ("^https?://[^*/\\s]+$", " https://app.example.com", false),
            ("^https?://[^*/\\s]+$", "https://a.example.com/", false),
            ("^https?://[^*/\\s]+$", "ftp://a", false),
            ("^(ab|c)?[0-9]{2}$", "", false),
            ("^(ab|c)?[0-9]{2}$", "12", true),
            ("^(ab|c)?[0-9]{2}$", "ab12", true),
            ("^(ab|c)?[0-9]{2}$", "c123", false),
            ("^(x[a-z-]+)?$", "", true),
            ("^(x[a-z-]+)?$", "x-y", true),
            ("^(x[a-z-]+)?$", "x", false),
        ] {
            assert_eq!(matches(pattern, s), expected, "{pattern} on {s:?}");
        }
    }
}
