//! A member's profile (Wix's `IdentityProfile`): its types, the checks every way of setting
//! it applies (register and sign-on accept the same profiles), and the merge that sets only
//! the fields given.
//!
//! `parse` checks a request's `profile` field by field into a `ProfilePatch` before anything
//! is written. Each failure is its own fieldViolation naming the field
//! (`profile.phonesV2[1].tag`) and a stable rule, so a caller can fix every problem at once.
//!
//! Limits (what a person's profile plausibly needs, and small enough that a member item stays
//! far below DynamoDB's 400 KB): names, nickname, company and position ≤ 100 characters;
//! `picture` an https URL ≤ 2048; `language` a BCP 47-shaped tag ≤ 35; `birthdate` a real,
//! past YYYY-MM-DD date; ≤ 10 phones of ≤ 30 characters with a digit, `tag` one of Wix's;
//! ≤ 20 custom fields with unique names ≤ 100 and JSON values ≤ 1024 bytes, nested ≤ 4 deep,
//! numbers within DynamoDB's range.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Member, Members, Status, decode};
use crate::clock::Millis;
use crate::dynamo::{Conditional, n, s, written};
use crate::error::{FieldViolation, StoreError, rule};

pub const TEXT_MAX: usize = 100;
pub const PICTURE_MAX: usize = 2048;
pub const LANGUAGE_MAX: usize = 35;
pub const PHONES_MAX: usize = 10;
pub const PHONE_MAX: usize = 30;
pub const COUNTRY_CODE_MAX: usize = 8;
pub const CUSTOM_FIELDS_MAX: usize = 20;
pub const CUSTOM_VALUE_MAX_BYTES: usize = 1024;
pub const CUSTOM_VALUE_MAX_DEPTH: usize = 4;
/// Wix's phone tags.
pub const PHONE_TAGS: &[&str] = &["UNTAGGED", "MAIN", "HOME", "MOBILE", "WORK", "FAX"];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phone {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomField {
    pub name: String,
    pub value: Value,
}

/// The member's profile, with Wix's field names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones_v2: Vec<Phone>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<CustomField>,
}

/// Every IdentityProfile field, by its wire name.
pub const PROFILE_FIELDS: &[&str] = &[
    "firstName",
    "lastName",
    "nickname",
    "picture",
    "language",
    "company",
    "position",
    "birthdate",
    "phonesV2",
    "customFields",
];

/// Profile fields to set on a member: `Some` sets the field (an empty list removes it),
/// `None` leaves it as it is. Values are validated by the flow that builds the patch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfilePatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub language: Option<String>,
    pub company: Option<String>,
    pub position: Option<String>,
    pub birthdate: Option<String>,
    pub phones_v2: Option<Vec<Phone>>,
    pub custom_fields: Option<Vec<CustomField>>,
}

impl ProfilePatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Applies the patch to a profile in memory (a new member's, before it is stored).
    pub fn apply_to(&self, p: &mut IdentityProfile) {
        let texts = [
            (&self.first_name, &mut p.first_name),
            (&self.last_name, &mut p.last_name),
            (&self.nickname, &mut p.nickname),
            (&self.picture, &mut p.picture),
            (&self.language, &mut p.language),
            (&self.company, &mut p.company),
            (&self.position, &mut p.position),
            (&self.birthdate, &mut p.birthdate),
        ];
        for (given, field) in texts {
            if given.is_some() {
                field.clone_from(given);
            }
        }
        if let Some(phones) = &self.phones_v2 {
            p.phones_v2.clone_from(phones);
        }
        if let Some(fields) = &self.custom_fields {
            p.custom_fields.clone_from(fields);
        }
    }

    /// (wire name, value) of each given field; `None` for a list given empty (removed).
    fn assignments(&self) -> Result<Vec<(&'static str, Option<AttributeValue>)>, StoreError> {
        let mut out = vec![];
        let texts = [
            ("firstName", &self.first_name),
            ("lastName", &self.last_name),
            ("nickname", &self.nickname),
            ("picture", &self.picture),
            ("language", &self.language),
            ("company", &self.company),
            ("position", &self.position),
            ("birthdate", &self.birthdate),
        ];
        for (name, value) in texts {
            if let Some(v) = value {
                out.push((name, Some(s(v))));
            }
        }
        if let Some(phones) = &self.phones_v2 {
            out.push(("phonesV2", encode_list(phones)?));
        }
        if let Some(fields) = &self.custom_fields {
            out.push(("customFields", encode_list(fields)?));
        }
        Ok(out)
    }
}

/// A list attribute, or `None` for an empty list (removed rather than stored empty).
fn encode_list<T: Serialize>(items: &[T]) -> Result<Option<AttributeValue>, StoreError> {
    if items.is_empty() {
        return Ok(None);
    }
    serde_dynamo::to_attribute_value(items)
        .map(Some)
        .map_err(|e| StoreError::new("encode profile", e))
}

type Violations = Vec<FieldViolation>;

fn violation(
    field: &str,
    violated: &'static str,
    description: impl Into<String>,
) -> FieldViolation {
    FieldViolation::new(field, violated, description)
}

fn too_long(field: &str, max: usize) -> FieldViolation {
    violation(
        field,
        rule::TOO_LONG,
        format!("{field} has at most {max} characters."),
    )
    .with_data(json!({ "max": max }))
}

/// Whether a value counts as not given (absent, null, blank text, empty list).
fn is_missing(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// Characters no name should hold: controls and the bidirectional overrides that make text
/// display as something else.
fn is_hostile_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Checks `profile` (absent or null = nothing to change) against the limits above and the
/// fields configuration requires; `today` bounds `birthdate`.
pub fn parse(
    profile: Option<&Value>,
    required: &[&str],
    today: time::Date,
) -> Result<ProfilePatch, Violations> {
    let empty = Map::new();
    let fields = match profile {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(vec![violation(
                "profile",
                rule::INVALID_FORMAT,
                "profile must be an object.",
            )]);
        }
    };
    let mut v = Violations::new();
    let mut missing = vec![];
    for name in required {
        if is_missing(fields.get(*name)) {
            v.push(violation(
                &format!("profile.{name}"),
                rule::REQUIRED_FIELD_MISSING,
                format!("profile.{name} is required."),
            ));
            missing.push(*name);
        }
    }
    let given = |name: &str| fields.get(name).filter(|_| !missing.contains(&name));

    let mut text = |name: &'static str,
                    max: usize,
                    check: Option<fn(&str, &str) -> Option<FieldViolation>>| {
        let field = format!("profile.{name}");
        match given(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(raw)) => {
                // The limits hold for the text as sent, as openapi.yaml states them; what is
                // stored is the text trimmed.
                let s = raw.trim();
                let problem = if s.is_empty() {
                    Some(
                        violation(
                            &field,
                            rule::TOO_SHORT,
                            format!("{field} must not be blank."),
                        )
                        .with_data(json!({ "min": 1 })),
                    )
                } else if raw.chars().count() > max {
                    Some(too_long(&field, max))
                } else if raw.chars().any(is_hostile_char) {
                    Some(violation(
                        &field,
                        rule::INVALID_FORMAT,
                        format!("{field} holds control characters."),
                    ))
                } else {
                    check.and_then(|c| c(&field, s))
                };
                match problem {
                    Some(p) => {
                        v.push(p);
                        None
                    }
                    None => Some(s.to_owned()),
                }
            }
            Some(_) => {
                v.push(violation(
                    &field,
                    rule::INVALID_FORMAT,
                    format!("{field} must be a string."),
                ));
                None
            }
        }
    };
    let mut patch = ProfilePatch {
        first_name: text("firstName", TEXT_MAX, None),
        last_name: text("lastName", TEXT_MAX, None),
        nickname: text("nickname", TEXT_MAX, None),
        picture: text("picture", PICTURE_MAX, Some(check_picture)),
        language: text("language", LANGUAGE_MAX, Some(check_language)),
        company: text("company", TEXT_MAX, None),
        position: text("position", TEXT_MAX, None),
        birthdate: None,
        phones_v2: None,
        custom_fields: None,
    };
    let birthdate = text("birthdate", 64, None);
    if let Some(b) = birthdate {
        match check_birthdate(&b, today) {
            Ok(()) => patch.birthdate = Some(b),
            Err(p) => v.push(p),
        }
    }
    patch.phones_v2 = list(
        given("phonesV2"),
        "profile.phonesV2",
        PHONES_MAX,
        &mut v,
        phone,
    );
    patch.custom_fields = list(
        given("customFields"),
        "profile.customFields",
        CUSTOM_FIELDS_MAX,
        &mut v,
        custom_field,
    );
    if let Some(fields) = &patch.custom_fields {
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].iter().any(|earlier| earlier.name == f.name) {
                v.push(violation(
                    &format!("profile.customFields[{i}].name"),
                    rule::DUPLICATE_NAME,
                    format!("Another custom field is named {:?}.", f.name),
                ));
            }
        }
    }
    if v.is_empty() { Ok(patch) } else { Err(v) }
}

fn check_picture(field: &str, s: &str) -> Option<FieldViolation> {
    let ok = url::Url::parse(s).is_ok_and(|u| {
        u.scheme() == "https"
            && u.host_str().is_some_and(|h| !h.is_empty())
            && u.username().is_empty()
            && u.password().is_none()
    });
    (!ok).then(|| {
        violation(
            field,
            rule::INVALID_FORMAT,
            format!("{field} must be an https URL without credentials."),
        )
    })
}

/// A BCP 47-shaped tag: a 2–3 letter language, then subtags of 1–8 letters or digits.
fn check_language(field: &str, s: &str) -> Option<FieldViolation> {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or_default();
    let ok = (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    (!ok).then(|| {
        violation(
            field,
            rule::INVALID_FORMAT,
            format!("{field} must be a language tag such as en or pt-BR."),
        )
    })
}

fn check_birthdate(s: &str, today: time::Date) -> Result<(), FieldViolation> {
    let field = "profile.birthdate";
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = shaped
        .then(|| time::Date::parse(s, &format).ok())
        .flatten()
        .ok_or_else(|| {
            violation(
                field,
                rule::INVALID_FORMAT,
                "profile.birthdate must be a real date as YYYY-MM-DD.",
            )
        })?;
    if date > today {
        return Err(violation(
            field,
            rule::OUT_OF_RANGE,
            "profile.birthdate must not be in the future.",
        ));
    }
    Ok(())
}

/// A list field: absent or null → not given; otherwise every item checked by `item`.
fn list<T>(
    value: Option<&Value>,
    field: &str,
    max: usize,
    v: &mut Violations,
    item: fn(&str, &Value, &mut Violations) -> Option<T>,
) -> Option<Vec<T>> {
    let items = match value {
        None | Some(Value::Null) => return None,
        Some(Value::Array(items)) => items,
        Some(_) => {
            v.push(violation(
                field,
                rule::INVALID_FORMAT,
                format!("{field} must be a list."),
            ));
            return None;
        }
    };
    if items.len() > max {
        v.push(
            violation(
                field,
                rule::TOO_MANY,
                format!("{field} has at most {max} items."),
            )
            .with_data(json!({ "max": max })),
        );
        return None;
    }
    let before = v.len();
    let parsed: Vec<T> = items
        .iter()
        .enumerate()
        .filter_map(|(i, x)| item(&format!("{field}[{i}]"), x, v))
        .collect();
    (v.len() == before).then_some(parsed)
}

/// An optional string member of an object item; a wrong type is a violation.
fn member_str<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
    key: &str,
    v: &mut Violations,
) -> Option<&'a str> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim()),
        Some(_) => {
            v.push(violation(
                &format!("{field}.{key}"),
                rule::INVALID_FORMAT,
                format!("{field}.{key} must be a string."),
            ));
            None
        }
    }
}

fn phone(field: &str, value: &Value, v: &mut Violations) -> Option<Phone> {
    let Value::Object(obj) = value else {
        v.push(violation(
            field,
            rule::INVALID_FORMAT,
            format!("{field} must be an object."),
        ));
        return None;
    };
    let before = v.len();
    let number = member_str(obj, field, "phone", v);
    let country_code = member_str(obj, field, "countryCode", v);
    let tag = member_str(obj, field, "tag", v);
    let phone_field = format!("{field}.phone");
    match number {
        None | Some("") if v.len() == before => v.push(violation(
            &phone_field,
            rule::REQUIRED_FIELD_MISSING,
            format!("{phone_field} is required."),
        )),
        Some(n) if n.chars().count() > PHONE_MAX => v.push(too_long(&phone_field, PHONE_MAX)),
        Some(n)
            if !n.chars().any(|c| c.is_ascii_digit())
                || !n
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c)) =>
        {
            v.push(violation(
                &phone_field,
                rule::INVALID_FORMAT,
                format!("{phone_field} holds digits, spaces and + - ( ) . only."),
            ));
        }
        _ => {}
    }
    if let Some(cc) = country_code
        && (cc.is_empty()
            || cc.len() > COUNTRY_CODE_MAX
            || !cc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+'))
    {
        v.push(violation(
            &format!("{field}.countryCode"),
            rule::INVALID_FORMAT,
            format!("{field}.countryCode must be a country code such as US or +1."),
        ));
    }
    if let Some(t) = tag
        && !PHONE_TAGS.contains(&t)
    {
        v.push(
            violation(
                &format!("{field}.tag"),
                rule::INVALID_FORMAT,
                format!("{field}.tag must be one of {}.", PHONE_TAGS.join(", ")),
            )
            .with_data(json!({ "allowed": PHONE_TAGS })),
        );
    }
    (v.len() == before).then(|| Phone {
        country_code: country_code.map(str::to_owned),
        phone: number.map(str::to_owned),
        tag: tag.map(str::to_owned),
    })
}

fn custom_field(field: &str, value: &Value, v: &mut Violations) -> Option<CustomField> {
    let Value::Object(obj) = value else {
        v.push(violation(
            field,
            rule::INVALID_FORMAT,
            format!("{field} must be an object."),
        ));
        return None;
    };
    let before = v.len();
    let name_field = format!("{field}.name");
    let name = member_str(obj, field, "name", v);
    match name {
        None | Some("") if v.len() == before => v.push(violation(
            &name_field,
            rule::REQUIRED_FIELD_MISSING,
            format!("{name_field} is required."),
        )),
        Some(n) if n.chars().count() > TEXT_MAX => v.push(too_long(&name_field, TEXT_MAX)),
        Some(n) if n.chars().any(is_hostile_char) => v.push(violation(
            &name_field,
            rule::INVALID_FORMAT,
            format!("{name_field} holds control characters."),
        )),
        _ => {}
    }
    let value_field = format!("{field}.value");
    match obj.get("value") {
        None | Some(Value::Null) => v.push(violation(
            &value_field,
            rule::REQUIRED_FIELD_MISSING,
            format!("{value_field} is required."),
        )),
        Some(x) if x.to_string().len() > CUSTOM_VALUE_MAX_BYTES => v.push(
            violation(
                &value_field,
                rule::TOO_LONG,
                format!("{value_field} has at most {CUSTOM_VALUE_MAX_BYTES} bytes of JSON."),
            )
            .with_data(json!({ "max": CUSTOM_VALUE_MAX_BYTES })),
        ),
        Some(x) if depth(x) > CUSTOM_VALUE_MAX_DEPTH => v.push(violation(
            &value_field,
            rule::INVALID_FORMAT,
            format!("{value_field} nests more than {CUSTOM_VALUE_MAX_DEPTH} levels."),
        )),
        Some(x) if !numbers_storable(x) => v.push(violation(
            &value_field,
            rule::INVALID_FORMAT,
            format!("{value_field} holds a number outside the storable range."),
        )),
        // DynamoDB refuses a map with an empty attribute name ("Empty attribute name"): found
        // by the contract run as a 503 from PutItem.
        Some(x) if !keys_named(x) => v.push(violation(
            &value_field,
            rule::INVALID_FORMAT,
            format!("{value_field} holds an object with an empty key."),
        )),
        Some(_) => {}
    }
    (v.len() == before).then(|| CustomField {
        name: name.unwrap_or_default().to_owned(),
        value: obj.get("value").cloned().unwrap_or(Value::Null),
    })
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Every object in `v` has only non-empty keys, as DynamoDB's maps need.
fn keys_named(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().all(keys_named),
        Value::Object(o) => o.iter().all(|(k, x)| !k.is_empty() && keys_named(x)),
        _ => true,
    }
}

/// DynamoDB numbers: magnitude 1e-130 to below 1e126 (or zero). The JSON is parsed with
/// serde_json's `float_roundtrip`, so a number at the bound is the bound exactly.
fn numbers_storable(v: &Value) -> bool {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) => f == 0.0 || (f.abs() >= 1e-130 && f.abs() < 9.9e125),
            None => false,
        },
        Value::Array(a) => a.iter().all(numbers_storable),
        Value::Object(o) => o.values().all(numbers_storable),
        _ => true,
    }
}

/// What became of a profile merge.
#[derive(Debug)]
pub enum Merge {
    /// Merged; the member as stored now.
    Merged(Box<Member>),
    /// Nothing written: the member is not ACTIVE (or, with `activate`, not PENDING for its
    /// email's verification), as it is; or it no longer exists.
    Refused(Option<Box<Member>>),
}

impl Members {
    /// Sets the given profile fields in one conditional `UpdateItem`, advancing `revision` and
    /// `updatedAt`. Applies only while the member exists and is ACTIVE. With `verify_email` it
    /// also marks the email verified and removes the password set before — only while the
    /// email is still unverified; with `activate` as well, a member PENDING for that
    /// verification becomes ACTIVE (DESIGN §3.10), the only status it ever changes. No read
    /// first, so concurrent merges never lose each other's fields.
    pub async fn merge_profile(
        &self,
        email_key: &str,
        patch: &ProfilePatch,
        verify_email: bool,
        activate: bool,
        now: Millis,
    ) -> Result<Merge, StoreError> {
        let mut set = vec![
            "#revision = #revision + :one".to_owned(),
            "#updatedAt = :now".to_owned(),
        ];
        let mut remove = vec![];
        let mut request = self
            .update(email_key)
            .expression_attribute_names("#emailKey", "emailKey")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":active", s(Status::Active.as_str()));
        let assignments = patch.assignments()?;
        if !assignments.is_empty() {
            request = request.expression_attribute_names("#profile", "profile");
        }
        for (i, (name, value)) in assignments.into_iter().enumerate() {
            request = request.expression_attribute_names(format!("#f{i}"), name);
            match value {
                Some(v) => {
                    set.push(format!("#profile.#f{i} = :v{i}"));
                    request = request.expression_attribute_values(format!(":v{i}"), v);
                }
                None => remove.push(format!("#profile.#f{i}")),
            }
        }
        let mut condition = "attribute_exists(#emailKey) AND #status = :active".to_owned();
        if verify_email {
            // The trusted caller proves the mailbox: a password set before that proof is not
            // the owner's to keep (DESIGN §3.3, pre-account-takeover). Only while still
            // unverified, so a password the owner set after verifying is never removed.
            set.push("#emailVerified = :verified".to_owned());
            remove.push("#passwordHash".to_owned());
            if activate {
                // Unverified, so PENDING here can only mean waiting for this very proof.
                set.push("#status = :active".to_owned());
                condition = "attribute_exists(#emailKey) AND #status IN (:active, :pending)".into();
                request =
                    request.expression_attribute_values(":pending", s(Status::Pending.as_str()));
            }
            condition.push_str(" AND #emailVerified = :unverified");
            request = request
                .expression_attribute_names("#emailVerified", "emailVerified")
                .expression_attribute_names("#passwordHash", "passwordHash")
                .expression_attribute_values(":verified", AttributeValue::Bool(true))
                .expression_attribute_values(":unverified", AttributeValue::Bool(false));
        }
        let mut update = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            update.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = request
            .update_expression(update)
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written(result, "UpdateItem member profile")? {
            Conditional::Done(out) => match out.attributes {
                Some(item) => Ok(Merge::Merged(Box::new(decode(item)?))),
                None => Err(StoreError::new(
                    "UpdateItem member profile",
                    "no attributes returned",
                )),
            },
            Conditional::Refused(old) => {
                Ok(Merge::Refused(old.map(decode).transpose()?.map(Box::new)))
            }
        }
    }
}

#[cfg(test)]
mod tests;
