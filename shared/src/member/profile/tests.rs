//! `parse` alone: each rule a profile can break, named under its field, with no DynamoDB.

use super::*;

fn today() -> time::Date {
    time::macros::date!(2026 - 11 - 28)
}

#[test]
fn given_fields_become_a_patch_and_absent_ones_stay_unset() {
    let p = parse(
        Some(&json!({
            "firstName": "  Ann ",
            "picture": "https://cdn.example.com/a.png",
            "language": "pt-BR",
            "birthdate": "2000-02-29",
            "phonesV2": [{"countryCode": "US", "phone": "+1 (555) 010-0000", "tag": "MOBILE"}],
            "customFields": [{"name": "tier", "value": {"stringValue": "gold"}}],
            "lastName": null,
            "emails": ["ignored@example.com"],
        })),
        &[],
        today(),
    )
    .unwrap();
    assert_eq!(p.first_name.as_deref(), Some("Ann"));
    assert_eq!(p.last_name, None);
    assert_eq!(p.birthdate.as_deref(), Some("2000-02-29"));
    assert_eq!(p.phones_v2.unwrap()[0].tag.as_deref(), Some("MOBILE"));
    assert_eq!(p.custom_fields.unwrap()[0].name, "tier");
    assert!(parse(None, &[], today()).unwrap().is_empty());
    let cleared = parse(Some(&json!({"phonesV2": []})), &[], today()).unwrap();
    assert_eq!(cleared.phones_v2, Some(vec![]));
}

#[test]
fn every_problem_is_reported_at_once() {
    let v = parse(
        Some(&json!({"firstName": 5, "picture": "http://x.example", "birthdate": "2023-02-29"})),
        &["lastName"],
        today(),
    )
    .unwrap_err();
    let rules: Vec<(&str, &str)> = v
        .iter()
        .map(|x| (x.field.as_str(), x.violated_rule))
        .collect();
    assert_eq!(
        rules,
        [
            ("profile.lastName", "REQUIRED_FIELD_MISSING"),
            ("profile.firstName", "INVALID_FORMAT"),
            ("profile.picture", "INVALID_FORMAT"),
            ("profile.birthdate", "INVALID_FORMAT"),
        ]
    );
}

/// Every (field, violatedRule) `profile` breaks when `firstName` is required.
fn violations(profile: &Value) -> Vec<(String, &'static str)> {
    match parse(Some(profile), &["firstName"], today()) {
        Ok(_) => vec![],
        Err(v) => v.into_iter().map(|x| (x.field, x.violated_rule)).collect(),
    }
}

/// The rule named at each case's field (the first violation there), case by case.
fn assert_rules(cases: &[(Value, &str, &str)]) {
    for (profile, field, rule) in cases {
        let found = violations(profile);
        let at = found.iter().find(|(f, _)| f == field).map(|(_, r)| *r);
        assert_eq!(at, Some(*rule), "{profile:.120}: {found:?}");
    }
}

/// For each (field, value, rule): a valid profile whose top-level field (the path's first
/// part: `phonesV2` of `phonesV2[0].tag`) is set to `value` breaks `rule` at `profile.<field>`.
fn assert_field_rules(cases: &[(&str, Value, &str)]) {
    for (field, value, rule) in cases {
        let top = field.split(['[', '.']).next().unwrap();
        let profile = with(json!({ top: value }));
        assert_rules(&[(profile, &format!("profile.{field}"), rule)]);
    }
}

/// A valid profile (`firstName` given) with `extra` fields set over it.
fn with(extra: Value) -> Value {
    let mut p = json!({"firstName": "Ann"});
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

#[test]
fn a_profile_that_is_not_an_object_is_refused_whole() {
    assert_rules(&[(json!("Ann"), "profile", "INVALID_FORMAT")]);
}

#[test]
fn a_required_field_absent_blank_or_null_is_missing() {
    assert_rules(&[
        (json!({}), "profile.firstName", "REQUIRED_FIELD_MISSING"),
        (
            json!({"firstName": "  "}),
            "profile.firstName",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            json!({"firstName": null}),
            "profile.firstName",
            "REQUIRED_FIELD_MISSING",
        ),
    ]);
    assert!(
        violations(&with(json!({}))).is_empty(),
        "the base profile is valid"
    );
}

#[test]
fn text_fields_are_short_printable_strings_and_a_picture_an_https_url() {
    let long_picture = format!("https://cdn.example.com/{}", "a".repeat(2048));
    assert_field_rules(&[
        ("firstName", json!("x".repeat(101)), "TOO_LONG"),
        ("lastName", json!("x".repeat(101)), "TOO_LONG"),
        ("nickname", json!(7), "INVALID_FORMAT"),
        ("company", json!(""), "TOO_SHORT"),
        ("position", json!("Boss\u{0}"), "INVALID_FORMAT"),
        // The limits hold for the text as sent (as openapi.yaml states them), not as trimmed.
        ("nickname", json!("\tAnn"), "INVALID_FORMAT"),
        (
            "nickname",
            json!(format!(" {} ", "x".repeat(99))),
            "TOO_LONG",
        ),
        ("lastName", json!("evil\u{202e}gnp.exe"), "INVALID_FORMAT"),
        (
            "picture",
            json!("http://cdn.example.com/a.png"),
            "INVALID_FORMAT",
        ),
        ("picture", json!("javascript:alert(1)"), "INVALID_FORMAT"),
        (
            "picture",
            json!("https://user:pw@cdn.example.com/a.png"),
            "INVALID_FORMAT",
        ),
        ("picture", json!("not a url"), "INVALID_FORMAT"),
        ("picture", json!(long_picture), "TOO_LONG"),
        ("language", json!("english please"), "INVALID_FORMAT"),
    ]);
}

#[test]
fn a_birthdate_is_a_real_past_date_written_yyyy_mm_dd() {
    assert_field_rules(&[
        ("birthdate", json!("2023-02-29"), "INVALID_FORMAT"),
        ("birthdate", json!("1990-1-5"), "INVALID_FORMAT"),
        ("birthdate", json!("05/01/1990"), "INVALID_FORMAT"),
        ("birthdate", json!("+1990-01-05"), "INVALID_FORMAT"),
        ("birthdate", json!("2999-01-01"), "OUT_OF_RANGE"),
    ]);
}

#[test]
fn phones_are_a_short_list_of_numbers_with_known_tags() {
    let many_phones: Vec<Value> = (0..11)
        .map(|i| json!({"phone": format!("555 01{i:02}")}))
        .collect();
    assert_field_rules(&[
        ("phonesV2", json!("555"), "INVALID_FORMAT"),
        ("phonesV2", json!(many_phones), "TOO_MANY"),
        (
            "phonesV2[0].phone",
            json!([{"tag": "HOME"}]),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            "phonesV2[0].phone",
            json!([{"phone": "call me maybe"}]),
            "INVALID_FORMAT",
        ),
        (
            "phonesV2[0].phone",
            json!([{"phone": "5".repeat(31)}]),
            "TOO_LONG",
        ),
        (
            "phonesV2[0].tag",
            json!([{"phone": "555", "tag": "PAGER"}]),
            "INVALID_FORMAT",
        ),
        (
            "phonesV2[0].countryCode",
            json!([{"phone": "555", "countryCode": "<script>"}]),
            "INVALID_FORMAT",
        ),
        ("phonesV2[0]", json!([5]), "INVALID_FORMAT"),
    ]);
}

#[test]
fn custom_fields_are_a_short_list_of_uniquely_named_small_values() {
    let many_fields: Vec<Value> = (0..21)
        .map(|i| json!({"name": format!("f{i}"), "value": 1}))
        .collect();
    assert_field_rules(&[
        ("customFields", json!(many_fields), "TOO_MANY"),
        (
            "customFields[0].name",
            json!([{"value": 1}]),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            "customFields[0].value",
            json!([{"name": "a"}]),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            "customFields[1].name",
            json!([{"name": "a", "value": 1}, {"name": "a", "value": 2}]),
            "DUPLICATE_NAME",
        ),
        (
            "customFields[0].name",
            json!([{"name": "n".repeat(101), "value": 1}]),
            "TOO_LONG",
        ),
        (
            "customFields[0].value",
            json!([{"name": "a", "value": "v".repeat(1100)}]),
            "TOO_LONG",
        ),
        (
            "customFields[0].value",
            json!([{"name": "a", "value": [[[[[1]]]]]}]),
            "INVALID_FORMAT",
        ),
        (
            "customFields[0].value",
            json!([{"name": "a", "value": 1e300}]),
            "INVALID_FORMAT",
        ),
        (
            "customFields[0].value",
            json!([{"name": "a", "value": {"ok": {"": 1}}}]),
            "INVALID_FORMAT",
        ),
        (
            "customFields[0].value",
            serde_json::from_str("[{\"name\": \"a\", \"value\": [9.999999999999999e-131]}]")
                .unwrap(),
            "INVALID_FORMAT",
        ),
    ]);
    // The bound itself, parsed from the JSON text a client sends, is storable.
    let at_the_bound: Value = serde_json::from_str(
        "{\"customFields\": [{\"name\": \"a\", \"value\": [1e-130, -9.8e125]}]}",
    )
    .unwrap();
    assert!(parse(Some(&at_the_bound), &[], today()).is_ok());
}
