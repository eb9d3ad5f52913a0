//! Who is calling: passwords, access tokens (JWT), refresh-token families,
//! partner firms' API tokens, and the `Viewer` every service checks permissions against.

pub mod api_tokens;
pub mod jwt;
pub mod passwords;
pub mod resolvers;
pub mod service;
pub mod viewer;

use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};

pub use api_tokens::{ApiScope, PartnerViewer};
pub use viewer::{MemberViewer, Viewer};

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
