//! Prints a new introspection API key and the SHA-256 to configure for it.
//!
//! `cargo run -p token --bin mint-introspection-key`. Give the key to the resource server that
//! introspects (its secret store); add the hash to `INTROSPECTION_API_KEY_HASHES`
//! (comma-separated, one per resource server, so each can be revoked alone). The key is printed
//! once and stored nowhere.

fn main() {
    let (key, hash) = shared::auth::trusted::mint_key("ik_");
    eprintln!("API key (give it to the resource server; it is shown only this once):");
    println!("{key}");
    eprintln!("Its hash (add it to INTROSPECTION_API_KEY_HASHES, comma-separated):");
    println!("{hash}");
}
