//! Device cookies (DESIGN §4; OWASP, "Slow down online guessing attacks with device cookies").
//!
//! A successful login sets `__Host-device`: a random device id and an expiry, signed with
//! HMAC-SHA-256 under `DEVICE_COOKIE_KEY` together with the email's key, so a cookie speaks
//! for one browser *and* one email. A later login for that email that presents it is counted
//! on the device's own counter instead of the email's: an attack on the email from elsewhere
//! cannot lock the owner out of a browser they have signed in from. A cookie that is
//! malformed, expired, signed with another key or for another email is ignored — the login is
//! counted as one without a cookie, never refused for it.
//!
//! Wire form: `<device id>.<expiry, unix seconds>.<mac>`, each part base64url or decimal, so
//! the value needs no quoting; nothing in it is secret but the key that signed it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use crate::clock::Millis;

pub const DEVICE_COOKIE: &str = "__Host-device";

/// Random bytes in a device id (128 bits: ids never collide, and cannot be guessed).
const ID_BYTES: usize = 16;
/// The longest value parsed; a real one is about 80 characters.
const MAX_LEN: usize = 200;

/// A device cookie that checked out for the email it was presented with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownDevice {
    pub id: String,
}

/// Issues and checks device cookies under one key.
#[derive(Clone)]
pub struct DeviceCookies {
    key: SecretSlice<u8>,
    ttl_seconds: i64,
}

impl std::fmt::Debug for DeviceCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCookies")
            .field("ttl_seconds", &self.ttl_seconds)
            .finish_non_exhaustive()
    }
}

impl DeviceCookies {
    pub fn new(key: SecretSlice<u8>, ttl_seconds: i64) -> Self {
        Self { key, ttl_seconds }
    }

    fn mac(&self, email_key: &str, id: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret())
            .expect("HMAC takes a key of any length");
        // Unambiguous framing: the parts cannot run into each other.
        for part in [
            b"device-cookie-v1".as_slice(),
            email_key.as_bytes(),
            id.as_bytes(),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(&expires.to_be_bytes());
        mac
    }

    /// A new cookie value for a browser that just signed in as `email_key`.
    pub fn issue(&self, email_key: &str, now: Millis) -> String {
        let id = crate::secret::random_b64(ID_BYTES);
        let expires = now.div_euclid(1000) + self.ttl_seconds;
        let tag = self.mac(email_key, &id, expires).finalize().into_bytes();
        format!("{id}.{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The device a cookie value names, if it is ours, unexpired and bound to `email_key`.
    pub fn check(&self, value: &str, email_key: &str, now: Millis) -> Option<KnownDevice> {
        if value.len() > MAX_LEN {
            return None;
        }
        let mut parts = value.split('.');
        let (id, expires, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || URL_SAFE_NO_PAD.decode(id).ok()?.len() != ID_BYTES
            || !expires.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let expires: i64 = expires.parse().ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // Constant-time comparison of the tags.
        self.mac(email_key, id, expires).verify_slice(&tag).ok()?;
        (expires * 1000 > now).then(|| KnownDevice { id: id.to_owned() })
    }

    /// `Set-Cookie` for a value, with the session cookie's attributes (DESIGN §7.5).
    pub fn set_cookie(&self, value: &str) -> String {
        cookie::Cookie::build((DEVICE_COOKIE, value))
            .path("/")
            .secure(true)
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(self.ttl_seconds))
            .build()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    fn cookies(key: &[u8]) -> DeviceCookies {
        DeviceCookies::new(key.to_vec().into(), 3600)
    }

    #[test]
    fn a_cookie_speaks_for_its_email_until_it_expires() {
        let c = cookies(&[7; 32]);
        let v = c.issue("ann@example.com", NOW);
        let known = c.check(&v, "ann@example.com", NOW).expect("valid");
        assert_eq!(URL_SAFE_NO_PAD.decode(&known.id).unwrap().len(), ID_BYTES);
        assert_eq!(c.check(&v, "ann@example.com", NOW + 3_599_000), Some(known));
        assert_eq!(
            c.check(&v, "ann@example.com", NOW + 3_600_000),
            None,
            "expired"
        );
        assert_eq!(c.check(&v, "bob@example.com", NOW), None, "another email");
        assert_eq!(
            cookies(&[8; 32]).check(&v, "ann@example.com", NOW),
            None,
            "another key"
        );
        assert_ne!(
            c.issue("ann@example.com", NOW),
            v,
            "each login gets a new device id"
        );
    }

    #[test]
    fn anything_but_a_cookie_we_signed_is_ignored() {
        let c = cookies(&[7; 32]);
        let v = c.issue("ann@example.com", NOW);
        let (id, rest) = v.split_once('.').unwrap();
        let (expires, tag) = rest.split_once('.').unwrap();
        let later: i64 = expires.parse::<i64>().unwrap() + 86_400;
        let other_id = crate::secret::random_b64(ID_BYTES);
        for forged in [
            String::new(),
            "garbage".into(),
            format!("{id}.{expires}"),
            format!("{id}.{expires}.{tag}.x"),
            format!("{id}.{later}.{tag}"),
            format!("{other_id}.{expires}.{tag}"),
            format!("{id}.{expires}.{}", &tag[1..]),
            format!("{id}.+{expires}.{tag}"),
            format!("{id}.{expires}.{tag}{}", "A".repeat(MAX_LEN)),
            format!("x{id}.{expires}.{tag}"),
        ] {
            assert_eq!(c.check(&forged, "ann@example.com", NOW), None, "{forged}");
        }
    }

    #[test]
    fn the_cookie_has_the_session_cookie_attributes() {
        let set = cookies(&[7; 32]).set_cookie("v");
        for part in [
            "__Host-device=v",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Max-Age=3600",
        ] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
    }
}
