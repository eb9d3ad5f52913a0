//! Partner firms' API tokens: `rx_` + 32 random base62 characters + a
//! 6-character base62 CRC32 of the random part. The checksum lets a typo or
//! a made-up token be refused before any database lookup; the database only
//! ever holds the SHA-256 of the whole token (the secret is shown once).

use chrono::{DateTime, Duration, Utc};
use entities::{ApiScope, api_token, partner_firm};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::{random_token, sha256_hex};
use crate::caller::PartnerCaller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};

pub const TOKEN_PREFIX: &str = "rx_";
/// Random characters in a new token (≈190 bits).
const RANDOM_LEN: usize = 32;
/// Base62 digits of the CRC32 (62^6 > 2^32), zero-padded to a fixed length.
const CHECKSUM_LEN: usize = 6;
/// Random characters kept in the displayed `prefix`, to tell tokens apart.
const SHOWN_RANDOM: usize = 6;
/// Anything longer is not one of ours, whatever it ends with.
const MAX_RANDOM_LEN: usize = 128;
/// `lastUsedAt` is written at most once per this interval per token, so a
/// busy integration does not turn every request into a write.
pub const LAST_USED_GRANULARITY_SECS: i64 = 60;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn checksum(random: &str) -> String {
    let mut n = crc32fast::hash(random.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// A new token secret. Only its hash is stored.
pub fn generate() -> String {
    let random = random_token(RANDOM_LEN);
    let check = checksum(&random);
    format!("{TOKEN_PREFIX}{random}{check}")
}

/// Shape and checksum; no database involved.
pub fn well_formed(token: &str) -> bool {
    let Some(body) = token.strip_prefix(TOKEN_PREFIX) else {
        return false;
    };
    if !body.bytes().all(|b| b.is_ascii_alphanumeric())
        || body.len() < RANDOM_LEN + CHECKSUM_LEN
        || body.len() > MAX_RANDOM_LEN + CHECKSUM_LEN
    {
        return false;
    }
    let (random, check) = body.split_at(body.len() - CHECKSUM_LEN);
    checksum(random) == check
}

/// The part of a token shown in listings (`rx_` and a few characters).
pub fn display_prefix(token: &str) -> String {
    token
        .chars()
        .take(TOKEN_PREFIX.len() + SHOWN_RANDOM)
        .collect()
}

pub fn hash(token: &str) -> String {
    sha256_hex(token)
}

/// Resolves a presented token. Malformed, unknown, revoked and expired are
/// all `UNAUTHENTICATED`; revocation and expiry are read on every request,
/// so they take effect immediately.
pub async fn authenticate(state: &Ctx, token: &str) -> DomainResult<PartnerCaller> {
    if !well_formed(token) {
        return Err(DomainError::Unauthenticated(
            "malformed API token (check for a typo)".into(),
        ));
    }
    let found = api_token::Entity::find()
        .filter(api_token::Column::SecretHash.eq(hash(token)))
        .find_also_related(partner_firm::Entity)
        .one(&state.db)
        .await?;
    let Some((token, Some(firm))) = found else {
        return Err(DomainError::Unauthenticated("unknown API token".into()));
    };
    let now = Utc::now();
    if token.revoked_at.is_some() {
        return Err(DomainError::Unauthenticated(
            "this API token has been revoked".into(),
        ));
    }
    if token.expires_at.is_some_and(|at| at <= now) {
        return Err(DomainError::Unauthenticated(
            "this API token has expired".into(),
        ));
    }
    // Best effort: a failed bookkeeping write must not refuse a valid token.
    if let Err(e) = touch(state, &token, now).await {
        tracing::warn!(token_id = %token.id, error = ?e, "could not record lastUsedAt");
    }
    Ok(PartnerCaller {
        scopes: ApiScope::parse_list(&token.scopes)?,
        token_id: token.id,
        firm_id: firm.id,
        group_id: firm.group_id,
    })
}

/// Records use at most once per granularity interval. The condition is in
/// the UPDATE, so concurrent requests do not all write.
async fn touch(state: &Ctx, token: &api_token::Model, now: DateTime<Utc>) -> DomainResult<()> {
    let stale_before = now - Duration::seconds(LAST_USED_GRANULARITY_SECS);
    if token.last_used_at.is_some_and(|at| at > stale_before) {
        return Ok(());
    }
    api_token::Entity::update_many()
        .col_expr(api_token::Column::LastUsedAt, Expr::value(Some(now)))
        .filter(api_token::Column::Id.eq(token.id.clone()))
        .filter(
            Condition::any()
                .add(api_token::Column::LastUsedAt.is_null())
                .add(api_token::Column::LastUsedAt.lte(stale_before)),
        )
        .exec(&state.db.writer())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(a.starts_with("rx_"));
        assert_eq!(a.len(), 3 + RANDOM_LEN + CHECKSUM_LEN);
        assert!(well_formed(&a) && well_formed(&b));
        assert_eq!(display_prefix(&a).len(), 9);
    }

    #[test]
    fn any_changed_character_breaks_the_checksum() {
        let token = generate();
        for i in 3..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(!well_formed(&changed), "{changed} accepted");
        }
        for bad in ["", "rx_", "rx_short", "xx_0123456789", &format!("{token}!")] {
            assert!(!well_formed(bad), "{bad} accepted");
        }
    }

    #[test]
    fn checksum_is_fixed_length() {
        assert_eq!(checksum(""), "000000");
        assert_eq!(checksum("abc").len(), CHECKSUM_LEN);
    }

    #[test]
    fn scopes_round_trip_sorted() {
        let stored = ApiScope::format_list(&[
            ApiScope::DirectoryRead,
            ApiScope::ReferralsWrite,
            ApiScope::DirectoryRead,
        ]);
        assert_eq!(stored, "REFERRALS_WRITE,DIRECTORY_READ");
        assert_eq!(
            ApiScope::parse_list(&stored).unwrap(),
            vec![ApiScope::ReferralsWrite, ApiScope::DirectoryRead]
        );
    }
}
