//! Who is calling: passwords, access tokens (JWT), refresh-token families,
//! partner firms' API tokens, and turning a bearer token into a `Caller`.

pub mod api_tokens;
pub mod jwt;
pub mod passwords;
pub mod service;
pub mod session_view;
pub mod throttle;

use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};

/// A random base62 string of `len` characters from the OS-seeded CSPRNG.
pub fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Hex SHA-256: how bearer secrets (refresh tokens, API tokens) are stored.
pub fn sha256_hex(input: &str) -> String {
    hex::encode(Sha256::digest(input.as_bytes()))
}
