//! Passwords: the `Password` secret type and argon2id hashing.
//!
//! A password is NFKC-normalized once, at parse time, so that every form of the same text hashes
//! alike; it is never printable. Hashing and verification run on the blocking pool, in working
//! memory the hasher keeps and reuses (`Scratch`). The hasher counts its verifications so tests
//! can show that each login costs exactly one, and that refused requests cost none.

#[cfg(feature = "testing")]
use std::sync::atomic::AtomicU64;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

use crate::config::Argon2Cost;
use crate::error::{FieldViolation, HashError, rule};

pub mod policy;

/// A password as received, NFKC-normalized. Neither `Debug` nor any log line shows it.
#[derive(Clone)]
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// Normalizes and checks presence and the maximum length (in code points, after NFKC).
    pub fn parse(raw: &str, field: &str, max_len: usize) -> Result<Self, FieldViolation> {
        if raw.is_empty() {
            return Err(FieldViolation::new(
                field,
                rule::REQUIRED_FIELD_MISSING,
                "A password is required.",
            ));
        }
        // Refuse absurd input before normalizing it: NFKC grows a string at most 18-fold.
        let too_long = || {
            FieldViolation::too_long(
                field,
                max_len,
                format!("A password has at most {max_len} characters."),
            )
        };
        if raw.chars().count() > max_len * 4 {
            return Err(too_long());
        }
        let normalized: String = raw.nfkc().collect();
        if normalized.chars().count() > max_len {
            return Err(too_long());
        }
        Ok(Self(SecretString::from(normalized)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn code_points(&self) -> usize {
        self.expose().chars().count()
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash was made under other parameters and should be replaced.
    pub needs_rehash: bool,
}

/// What the hasher has done, for tests and benchmarks (feature `testing`); in a production
/// build it records nothing and has nothing to read.
#[derive(Clone, Debug, Default)]
struct Meter {
    #[cfg(feature = "testing")]
    work: Arc<Work>,
}

#[cfg(feature = "testing")]
#[derive(Debug, Default)]
struct Work {
    verifications: AtomicU64,
    verify_nanos: AtomicU64,
    hash_nanos: AtomicU64,
}

impl Meter {
    #[cfg_attr(not(feature = "testing"), allow(unused_variables))]
    fn verified(&self, took: Duration) {
        #[cfg(feature = "testing")]
        {
            self.work.verifications.fetch_add(1, Ordering::SeqCst);
            self.work
                .verify_nanos
                .fetch_add(took.as_nanos() as u64, Ordering::SeqCst);
        }
    }

    #[cfg_attr(not(feature = "testing"), allow(unused_variables))]
    fn hashed(&self, took: Duration) {
        #[cfg(feature = "testing")]
        self.work
            .hash_nanos
            .fetch_add(took.as_nanos() as u64, Ordering::SeqCst);
    }
}

/// argon2's working memory — 19 MiB at the default cost — kept between hashes.
///
/// argon2 allocated and freed it on every call, on whichever blocking-pool thread ran it, and
/// glibc (whose mmap threshold grows to the size of the first large block freed) kept each
/// thread's copy in that thread's arena: a function that hashed on three threads held three
/// copies, 161 MB of peak RSS for change password (issue 13). Here a hash takes a buffer from
/// the pool, or makes one when all are in use, and gives it back; sequential requests — one per
/// Lambda sandbox — reuse one buffer, concurrent ones (tests) get one each. A stored hash of a
/// costlier cost than the configured one (an older setting) gets a one-off buffer, so the
/// pool never holds more than the configured cost needs. The blocks are overwritten by the next hash; like argon2's own
/// allocation they are not zeroed, as no secret outlives the request in a form cheaper to use
/// than the password hash itself.
#[derive(Debug, Default)]
struct Scratch {
    free: Mutex<Vec<Vec<Block>>>,
    made: AtomicUsize,
}

impl Scratch {
    /// Runs `f` on `blocks` blocks: a pooled buffer when `blocks` is at most `keep` (what the
    /// configured cost needs), else a one-off one.
    fn with<R>(&self, blocks: usize, keep: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
        if blocks > keep {
            self.made.fetch_add(1, Ordering::Relaxed);
            return f(&mut vec![Block::default(); blocks]);
        }
        let taken = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut buf = taken.unwrap_or_else(|| {
            self.made.fetch_add(1, Ordering::Relaxed);
            Vec::new()
        });
        if buf.len() < blocks {
            buf.resize(blocks, Block::default());
        }
        let out = f(&mut buf[..blocks]);
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buf);
        out
    }
}

/// argon2id with the configured cost, plus a dummy hash of the same cost for unknown members.
#[derive(Clone, Debug)]
pub struct Hasher {
    cost: Argon2Cost,
    dummy: Arc<str>,
    scratch: Arc<Scratch>,
    meter: Meter,
}

fn argon2(cost: Argon2Cost) -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

impl Hasher {
    /// Builds the hasher without hashing anything: the dummy hash that unknown members are
    /// verified against is a PHC string of exactly the configured cost, with a random salt and
    /// a random output. Verifying against it runs one full argon2id of that cost (the output
    /// is compared only after it is computed), and no password has that output, so it never
    /// matches. It is made from 48 random bytes, not by hashing a password at init, which
    /// cost every cold start one argon2 run and its memory (DESIGN §7.2, issue 13).
    pub fn new(cost: Argon2Cost) -> Result<Self, argon2::Error> {
        let params = argon2(cost)?.params().clone();
        let b64 = |n| {
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD_NO_PAD,
                crate::secret::random_bytes(n),
            )
        };
        let dummy = format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            b64(16),
            b64(params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)),
        );
        // The verifier must read it exactly as it reads a stored hash.
        PasswordHash::new(&dummy).map_err(|_| argon2::Error::OutputTooShort)?;
        Ok(Self {
            cost,
            dummy: dummy.into(),
            scratch: Arc::default(),
            meter: Meter::default(),
        })
    }

    /// How many argon2 working buffers this hasher has allocated: one for any number of
    /// hashes in sequence.
    #[cfg(feature = "testing")]
    pub fn buffers_made(&self) -> usize {
        self.scratch.made.load(Ordering::Relaxed)
    }

    /// Runs argon2 of `params` into `out`, in a buffer of the scratch pool.
    fn fill(
        &self,
        argon: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let keep = Params::new(
            self.cost.memory_kib,
            self.cost.iterations,
            self.cost.parallelism,
            None,
        )
        .map_or(0, |p| p.block_count());
        self.scratch
            .with(argon.params().block_count(), keep, |blocks| {
                argon.hash_password_into_with_memory(password, salt, out, blocks)
            })
    }

    /// Hashes `password` under the configured cost into a PHC string (16-byte random salt,
    /// 32-byte output, standard base64 without padding, as argon2's own encoder writes it).
    fn hash_blocking(&self, password: &Password) -> Option<String> {
        let argon = argon2(self.cost).ok()?;
        let params = argon.params();
        let salt = crate::secret::random_bytes(16);
        let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
        self.fill(&argon, password.expose().as_bytes(), &salt, &mut out)
            .ok()?;
        let b64 =
            |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, b);
        Some(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            b64(&salt),
            b64(&out),
        ))
    }

    /// Whether `password` matches the PHC string `stored` (any argon2 variant, version and
    /// cost it names); the outputs are compared in constant time. `Err` when `stored` is not
    /// a readable argon2 PHC string.
    fn verify_blocking(&self, password: &Password, stored: &str) -> Result<bool, ()> {
        let parsed = PasswordHash::new(stored).map_err(drop)?;
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(drop)?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).map_err(drop)?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).map_err(drop)?;
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return Err(());
        };
        let argon = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        self.fill(&argon, password.expose().as_bytes(), salt, &mut out)
            .map_err(drop)?;
        Ok(bool::from(out.ct_eq(expected.as_bytes())))
    }

    /// How many argon2 verifications this hasher has run.
    #[cfg(feature = "testing")]
    pub fn verifications(&self) -> u64 {
        self.meter.work.verifications.load(Ordering::SeqCst)
    }

    /// Total time spent in argon2 verification.
    #[cfg(feature = "testing")]
    pub fn verify_time(&self) -> Duration {
        Duration::from_nanos(self.meter.work.verify_nanos.load(Ordering::SeqCst))
    }

    /// Total time spent in argon2 hashing of new passwords.
    #[cfg(feature = "testing")]
    pub fn hash_time(&self) -> Duration {
        Duration::from_nanos(self.meter.work.hash_nanos.load(Ordering::SeqCst))
    }

    /// Hashes a new password into an argon2id PHC string.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let hasher = self.clone();
        let pw = password.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let hash = hasher.hash_blocking(&pw);
            hasher.meter.hashed(started.elapsed());
            hash
        })
        .await
        .ok()
        .flatten()
        .ok_or(HashError)
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is none,
    /// so that a missing member or password costs exactly what a wrong password costs.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Verified {
        let real = stored.is_some();
        let target: Arc<str> = match stored {
            Some(s) => Arc::from(s),
            None => self.dummy.clone(),
        };
        let hasher = self.clone();
        let pw = password.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let outcome = match hasher.verify_blocking(&pw, &target) {
                Ok(matches) => {
                    let stale = PasswordHash::new(&target).is_ok_and(|p| stale(&p, hasher.cost));
                    (matches, stale)
                }
                Err(()) => {
                    tracing::error!(event = "stored_hash_unreadable");
                    (false, false)
                }
            };
            hasher.meter.verified(started.elapsed());
            outcome
        })
        .await
        .unwrap_or((false, false));
        Verified {
            matches: real && outcome.0,
            needs_rehash: real && outcome.0 && outcome.1,
        }
    }
}

/// Whether a stored hash differs from what we would make today.
fn stale(hash: &PasswordHash, cost: Argon2Cost) -> bool {
    if hash.algorithm.as_str() != "argon2id" || hash.version != Some(0x13) {
        return true;
    }
    match Params::try_from(hash) {
        Ok(p) => {
            p.m_cost() != cost.memory_kib
                || p.t_cost() != cost.iterations
                || p.p_cost() != cost.parallelism
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Cost = Argon2Cost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn length_is_counted_in_code_points_after_nfkc() {
        let emoji = "\u{1F600}".repeat(128);
        assert!(Password::parse(&emoji, "password", 128).is_ok());
        let emoji = "\u{1F600}".repeat(129);
        assert_eq!(
            Password::parse(&emoji, "password", 128)
                .unwrap_err()
                .violated_rule,
            "TOO_LONG"
        );
        // U+FB01 (the "fi" ligature) is two code points after NFKC.
        let lig = "\u{FB01}".repeat(65);
        assert_eq!(
            Password::parse(&lig, "password", 128)
                .unwrap_err()
                .violated_rule,
            "TOO_LONG"
        );
        assert_eq!(
            Password::parse("", "password", 128)
                .unwrap_err()
                .violated_rule,
            "REQUIRED_FIELD_MISSING"
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("correct horse battery", "p", 128).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[tokio::test]
    async fn nfkc_equivalent_passwords_verify() {
        let h = Hasher::new(CHEAP).unwrap();
        let composed = Password::parse("caf\u{e9} \u{FB01}ne day", "p", 128).unwrap();
        let decomposed = Password::parse("cafe\u{301} fine day", "p", 128).unwrap();
        let stored = h.hash(&composed).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(h.verify(&decomposed, Some(&stored)).await.matches);
    }

    #[tokio::test]
    async fn every_verification_is_counted_including_the_dummy() {
        let h = Hasher::new(CHEAP).unwrap();
        let p = Password::parse("a long enough secret", "p", 128).unwrap();
        let stored = h.hash(&p).await.unwrap();
        let wrong = Password::parse("another long secret", "p", 128).unwrap();
        assert!(!h.verify(&wrong, Some(&stored)).await.matches);
        assert!(!h.verify(&p, None).await.matches);
        assert!(h.verify(&p, Some(&stored)).await.matches);
        assert!(!h.verify(&p, Some("not a phc string")).await.matches);
        assert_eq!(h.verifications(), 4);
    }

    #[tokio::test]
    async fn the_dummy_hash_costs_what_a_stored_hash_of_the_configured_cost_costs() {
        let cost = Argon2Cost {
            memory_kib: 256,
            iterations: 3,
            parallelism: 2,
        };
        let h = Hasher::new(cost).unwrap();
        let stored = h
            .hash(&Password::parse("a long enough secret", "p", 128).unwrap())
            .await
            .unwrap();
        // Same algorithm, version, parameters, salt and output lengths as a real hash: the
        // verifier runs the same argon2 for an unknown member as for a wrong password.
        let (dummy, real) = (
            PasswordHash::new(&h.dummy).unwrap(),
            PasswordHash::new(&stored).unwrap(),
        );
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(
            Params::try_from(&dummy).unwrap(),
            Params::try_from(&real).unwrap()
        );
        assert!(!stale(&dummy, cost));
        assert_eq!(dummy.salt.map(|s| s.len()), real.salt.map(|s| s.len()));
        assert_eq!(dummy.hash.map(|o| o.len()), real.hash.map(|o| o.len()));
        // Random, not a constant an attacker could precompute against.
        assert_ne!(Hasher::new(cost).unwrap().dummy, h.dummy);
    }

    #[tokio::test]
    async fn hashes_read_and_written_by_argon2s_own_phc_code_agree_with_ours() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let h = Hasher::new(CHEAP).unwrap();
        let p = Password::parse("a long enough secret", "p", 128).unwrap();
        let wrong = Password::parse("another long secret", "p", 128).unwrap();
        // Theirs, under every variant and version, another cost and output length: ours reads.
        for (alg, version, out_len) in [
            (Algorithm::Argon2id, Version::V0x13, None),
            (Algorithm::Argon2i, Version::V0x13, Some(16)),
            (Algorithm::Argon2d, Version::V0x10, Some(64)),
        ] {
            let params = Params::new(128, 2, 2, out_len).unwrap();
            let theirs = Argon2::new(alg, version, params)
                .hash_password(p.expose().as_bytes())
                .unwrap()
                .to_string();
            assert!(h.verify(&p, Some(&theirs)).await.matches, "{theirs}");
            assert!(!h.verify(&wrong, Some(&theirs)).await.matches, "{theirs}");
        }
        // Ours: theirs reads.
        let ours = h.hash(&p).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(p.expose().as_bytes(), &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(wrong.expose().as_bytes(), &parsed)
                .is_err()
        );
        // A truncated output or a missing salt is unreadable, not a match.
        let cut = &ours[..ours.len() - 4];
        assert!(!h.verify(&p, Some(cut)).await.matches);
        let (head, _) = ours.rsplit_once('$').unwrap();
        assert!(!h.verify(&p, Some(head)).await.matches);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sequential_hashes_reuse_one_working_buffer_and_concurrent_ones_get_their_own() {
        let h = Hasher::new(CHEAP).unwrap();
        let p = Password::parse("a long enough secret", "p", 128).unwrap();
        let stored = h.hash(&p).await.unwrap();
        for _ in 0..8 {
            assert!(h.verify(&p, Some(&stored)).await.matches);
            h.hash(&p).await.unwrap();
        }
        // Seventeen runs of argon2 on whichever blocking threads, one allocation: a Lambda
        // sandbox (one request at a time) holds argon2's memory once, not once per thread.
        assert_eq!(h.buffers_made(), 1);
        let runs = (0..4).map(|_| h.verify(&p, Some(&stored)));
        assert!(
            futures::future::join_all(runs)
                .await
                .iter()
                .all(|v| v.matches)
        );
        let made = h.buffers_made();
        assert!((1..=4).contains(&made), "{made}");
        // A stored hash costlier than the configured cost gets a one-off buffer of its size
        // each time, and the pool keeps only what the configured cost needs.
        let costly = Hasher::new(Argon2Cost {
            memory_kib: 512,
            ..CHEAP
        })
        .unwrap();
        let old = costly.hash(&p).await.unwrap();
        assert!(h.verify(&p, Some(&old)).await.matches);
        assert!(h.verify(&p, Some(&old)).await.matches);
        assert_eq!(h.buffers_made(), made + 2);
        assert!(h.verify(&p, Some(&stored)).await.matches);
        assert_eq!(h.buffers_made(), made + 2);
    }

    #[tokio::test]
    async fn a_hash_under_other_parameters_needs_rehash() {
        let old = Hasher::new(CHEAP).unwrap();
        let new = Hasher::new(Argon2Cost {
            memory_kib: 128,
            ..CHEAP
        })
        .unwrap();
        let p = Password::parse("a long enough secret", "p", 128).unwrap();
        let stored = old.hash(&p).await.unwrap();
        let v = new.verify(&p, Some(&stored)).await;
        assert!(v.matches && v.needs_rehash);
        assert!(!old.verify(&p, Some(&stored)).await.needs_rehash);
    }
}
