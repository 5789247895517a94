//! template.yaml, the tables defined in code, the `cargo lambda watch` router, openapi.yaml and
//! the function crates must describe one service. A drift between them fails here.

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml_ng::Value;
use shared::tables::{ALL, Scalar};

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
            assert_eq!(g["Projection"]["ProjectionType"], "KEYS_ONLY");
        }
        assert_eq!(
            p["TimeToLiveSpecification"]["AttributeName"],
            shared::tables::TTL_ATTRIBUTE
        );
        assert_eq!(p["TimeToLiveSpecification"]["Enabled"], true);
        let pitr = p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] == true;
        assert_eq!(
            pitr, spec.point_in_time_recovery,
            "{} point-in-time recovery",
            spec.logical_id
        );
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
    for (name, r) in resources(&t) {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        for policy in r["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for st in policy["Statement"].as_sequence().into_iter().flatten() {
                assert_ne!(st["Resource"], "*", "{name} grants on every resource");
                for a in st["Action"].as_sequence().into_iter().flatten() {
                    assert!(
                        !a.as_str().unwrap().ends_with('*'),
                        "{name} grants a wildcard action"
                    );
                }
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
    assert_eq!(
        t["Parameters"]["CaptchaSecret"]["NoEcho"], true,
        "the CAPTCHA secret is a NoEcho parameter"
    );
}
