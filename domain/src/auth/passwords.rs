//! Argon2id password hashing with the crate's defaults (m=19456 KiB, t=2, p=1).
//! Hashing is CPU-bound, so it runs on the blocking pool — at most
//! [`hash_concurrency`] at a time: each hash holds 19 MiB, so a burst of
//! sign-ins queues here instead of growing the process by 19 MiB per
//! request (and starving the request workers of CPU).

use std::sync::OnceLock;

use tokio::sync::Semaphore;

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

static HASHING: OnceLock<Semaphore> = OnceLock::new();

/// Default bound on concurrent hashes: one per core.
pub fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Sets how many hashes may run at once (`RX_PASSWORD_HASH_CONCURRENCY`);
/// the first call wins, before any hash runs.
pub fn set_hash_concurrency(n: usize) {
    let _ = HASHING.set(Semaphore::new(n.max(1)));
}

/// How many hashes may run at once.
pub fn hash_concurrency() -> usize {
    hashing().available_permits()
}

fn hashing() -> &'static Semaphore {
    HASHING.get_or_init(|| Semaphore::new(default_hash_concurrency()))
}

/// Runs `work` on the blocking pool once `slots` has room.
async fn bounded<T: Send + 'static>(
    slots: &Semaphore,
    work: impl FnOnce() -> DomainResult<T> + Send + 'static,
) -> DomainResult<T> {
    let _slot = slots.acquire().await.map_err(DomainError::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(DomainError::internal)?
}

pub async fn hash_password(password: String) -> DomainResult<String> {
    bounded(hashing(), move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::internal(anyhow::anyhow!("hashing password: {e}")))
    })
    .await
}

/// Verifies `password` against `stored`; with no stored hash it still does the
/// work of one verification so that unknown emails take as long as wrong passwords.
pub async fn verify_password(password: String, stored: Option<String>) -> DomainResult<bool> {
    bounded(hashing(), move || {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_waits_for_a_free_slot() {
        let slots = Semaphore::new(1);
        let held = slots.acquire().await.unwrap();
        let waiting = bounded(&slots, || Ok(1));
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(200), &mut waiting)
                .await
                .is_err(),
            "ran while the only slot was taken"
        );
        drop(held);
        assert_eq!(waiting.await.unwrap(), 1);
    }
}
