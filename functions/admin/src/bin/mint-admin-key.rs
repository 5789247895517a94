//! Prints a new operator (admin) API key and the SHA-256 to configure for it.
//!
//! `cargo run -p admin --bin mint-admin-key`. Give the key to the operator or tool that calls
//! `/v2/admin/...` (its secret store); add the hash to `ADMIN_API_KEY_HASHES` (comma-separated,
//! one per operator, so each can be revoked alone). The key is printed once and stored
//! nowhere.

fn main() {
    let (key, hash) = shared::auth::trusted::mint_key(shared::auth::trusted::ADMIN_KEY_PREFIX);
    eprintln!("API key (give it to the operator; it is shown only this once):");
    println!("{key}");
    eprintln!("Its hash (add it to ADMIN_API_KEY_HASHES, comma-separated):");
    println!("{hash}");
}
