//! Argon2id password hashing with the crate's defaults (m=19456 KiB, t=2, p=1).
//! Hashing is CPU-bound, so it runs on the blocking pool.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::error::{DomainError, DomainResult};

pub const MIN_PASSWORD_LEN: usize = 12;
/// Bounds the work an attacker can make us do per sign-in attempt.
pub const MAX_PASSWORD_LEN: usize = 1024;

pub fn validate_password(field: &str, password: &str) -> DomainResult<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(DomainError::bad_input(
            field,
            format!("password must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(DomainError::bad_input(
            field,
            format!("password must be at most {MAX_PASSWORD_LEN} bytes"),
        ));
    }
    Ok(())
}

pub async fn hash_password(password: String) -> DomainResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::internal(anyhow::anyhow!("hashing password: {e}")))
    })
    .await
    .map_err(DomainError::internal)?
}

/// Verifies `password` against `stored`; with no stored hash it still does the
/// work of one verification so that unknown emails take as long as wrong passwords.
pub async fn verify_password(password: String, stored: Option<String>) -> DomainResult<bool> {
    tokio::task::spawn_blocking(move || {
        let argon = Argon2::default();
        match stored {
            Some(stored) => {
                let parsed = PasswordHash::new(&stored).map_err(|e| {
                    DomainError::internal(anyhow::anyhow!("stored hash unreadable: {e}"))
                })?;
                Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok())
            }
            None => {
                let salt = SaltString::generate(&mut OsRng);
                let _ = argon.hash_password(password.as_bytes(), &salt);
                Ok(false)
            }
        }
    })
    .await
    .map_err(DomainError::internal)?
}
