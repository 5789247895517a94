//! Prints a new sign-on API key and the SHA-256 to configure for it.
//!
//! `cargo run -p sign-on --bin mint-api-key`. Give the key to the calling server (its secret
//! store); add the hash to `SIGN_ON_API_KEY_HASHES` (comma-separated, one per caller, so each
//! can be revoked alone). The key is printed once and stored nowhere.

fn main() {
    let (key, hash) = shared::auth::trusted::mint_api_key();
    eprintln!("API key (give it to the calling server; it is shown only this once):");
    println!("{key}");
    eprintln!("Its hash (add it to SIGN_ON_API_KEY_HASHES, comma-separated):");
    println!("{hash}");
}
