//! The password policy (DESIGN §3.6): `Password::parse` and every rule of `PasswordPolicy`
//! (length, the common list, zxcvbn, similarity to the member's facts), at the default and the
//! largest configurable maximum. Parts, cut at NUL: password, email local part, first name,
//! last name.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::password::Password;
use shared::password::policy::{PasswordPolicy, PersonalInfo};

mod common;

fuzz_target!(|data: &[u8]| {
    let p = common::parts(data, 4);
    let personal = PersonalInfo {
        email_local_part: &p[1],
        first_name: Some(&p[2]),
        last_name: (!p[3].is_empty()).then_some(p[3].as_str()),
    };
    for max_length in [128, 1024] {
        let policy = PasswordPolicy {
            min_length: 12,
            max_length,
        };
        match Password::parse(&p[0], "password", max_length) {
            Ok(password) => assert!(password.code_points() <= max_length),
            Err(_) => assert!(policy.parse_new(&p[0], "password", &personal).is_err()),
        }
        if let Ok(password) = policy.parse_new(&p[0], "password", &personal) {
            let n = password.code_points();
            assert!((12..=max_length).contains(&n));
        }
    }
});
