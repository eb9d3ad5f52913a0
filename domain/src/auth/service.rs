//! Accounts and sessions: register, sign in, rotate refresh tokens, sign out.
//!
//! A session is a refresh-token *family*. Each refresh rotates the token; a
//! token presented twice means it leaked, so the whole family is revoked.

use chrono::{DateTime, Duration, Utc};
use entities::{member, refresh_family, refresh_token};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    SqlErr, TransactionTrait,
};

use super::passwords::{hash_password, validate_password, verify_password};
use super::{random_token, sha256_hex};
use crate::caller::MemberCaller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::validation::{Email, new_id, optional_phone, optional_text, required_text};

pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub name: String,
    pub profession: String,
    pub business_name: Option<String>,
    pub phone: Option<String>,
}

pub struct IssuedSession {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub member: member::Model,
}

const REFRESH_PREFIX: &str = "rxr_";
const BAD_CREDENTIALS: &str = "wrong email or password";

pub async fn register(state: &Ctx, input: NewAccount) -> DomainResult<IssuedSession> {
    let email = Email::parse("input.email", &input.email)?;
    validate_password("input.password", &input.password)?;
    let name = required_text("input.name", &input.name, 200)?;
    let profession = required_text("input.profession", &input.profession, 120)?;
    let business_name = optional_text("input.businessName", input.business_name.as_deref(), 200)?;
    let phone = optional_phone("input.phone", input.phone.as_deref())?;

    if email_taken(&state.db, &email).await? {
        return Err(email_conflict());
    }
    // No connection is held while the hash waits its turn and runs.
    state.db.release().await;
    let password_hash = hash_password(input.password).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let member = member::ActiveModel {
        id: Set(new_id()),
        email: Set(email.as_str().to_string()),
        email_lower: Set(email.normalized()),
        name: Set(name),
        password_hash: Set(password_hash),
        profession: Set(profession),
        business_name: Set(business_name),
        phone: Set(phone),
        brief_ideal_referral: Set(None),
        brief_target_market: Set(None),
        brief_talking_points: Set(None),
        brief_intro_template: Set(None),
        is_admin: Set(false),
        created_at: Set(now),
        last_seen_at: Set(Some(now)),
        previous_sign_in_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(unique_email)?;
    let session = start_session(state, &txn, member, now).await?;
    txn.commit().await?;
    tracing::info!(member_id = %session.member.id, "member registered");
    Ok(session)
}

/// Creates an administrator, or promotes and re-keys an existing account.
pub async fn create_admin(
    db: &impl ConnectionTrait,
    email: &str,
    name: &str,
    password: String,
) -> DomainResult<member::Model> {
    let email = Email::parse("email", email)?;
    let name = required_text("name", name, 200)?;
    validate_password("password", &password)?;
    let password_hash = hash_password(password).await?;
    let existing = member::Entity::find()
        .filter(member::Column::EmailLower.eq(email.normalized()))
        .one(db)
        .await?;
    let model = match existing {
        Some(m) => {
            let mut active: member::ActiveModel = m.into();
            active.is_admin = Set(true);
            active.password_hash = Set(password_hash);
            active.update(db).await?
        }
        None => {
            member::ActiveModel {
                id: Set(new_id()),
                email: Set(email.as_str().to_string()),
                email_lower: Set(email.normalized()),
                name: Set(name),
                password_hash: Set(password_hash),
                profession: Set("Administrator".into()),
                business_name: Set(None),
                phone: Set(None),
                brief_ideal_referral: Set(None),
                brief_target_market: Set(None),
                brief_talking_points: Set(None),
                brief_intro_template: Set(None),
                is_admin: Set(true),
                created_at: Set(Utc::now()),
                last_seen_at: Set(None),
                previous_sign_in_at: Set(None),
            }
            .insert(db)
            .await?
        }
    };
    Ok(model)
}

pub async fn sign_in(state: &Ctx, email: &str, password: String) -> DomainResult<IssuedSession> {
    let bad = || DomainError::Unauthenticated(BAD_CREDENTIALS.into());
    // A malformed email is just another failed sign-in: no hint about accounts.
    let normalized = email.trim().to_lowercase();
    if password.len() > super::passwords::MAX_PASSWORD_LEN {
        return Err(bad());
    }
    let found = member::Entity::find()
        .filter(member::Column::EmailLower.eq(normalized.clone()))
        .one(&state.db)
        .await?;
    state
        .throttle
        .attempt(found.as_ref().map_or(&normalized, |m| &m.id))?;
    // No connection is held while the hash waits its turn and runs: a
    // crowd of sign-ins must not take the pool from everyone else.
    state.db.release().await;
    let ok = verify_password(password, found.as_ref().map(|m| m.password_hash.clone())).await?;
    let member = match (ok, found) {
        (true, Some(m)) => m,
        _ => return Err(bad()),
    };
    let now = Utc::now();
    let txn = state.db.begin().await?;
    // "While you were away" starts where the member was last seen before now.
    let previous = member.last_seen_at;
    let mut active: member::ActiveModel = member.into();
    active.previous_sign_in_at = Set(previous);
    active.last_seen_at = Set(Some(now));
    let member = active.update(&txn).await?;
    let member_id = member.id.clone();
    let session = start_session(state, &txn, member, now).await?;
    txn.commit().await?;
    // The row changed (the last sign-in): this server's other sessions of
    // the member read it again.
    state.sessions.forget(&member_id);
    Ok(session)
}

pub struct RotatedSession {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn refresh(state: &Ctx, presented: &str) -> DomainResult<RotatedSession> {
    let invalid = || DomainError::Unauthenticated("invalid refresh token".into());
    if !presented.starts_with(REFRESH_PREFIX) || presented.len() > 200 {
        return Err(invalid());
    }
    let now = Utc::now();
    let hash = sha256_hex(presented);
    let Some(token) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&state.db)
        .await?
    else {
        return Err(invalid());
    };
    let family = refresh_family::Entity::find_by_id(token.family_id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(invalid)?;
    if family.revoked_at.is_some() || token.expires_at <= now {
        return Err(invalid());
    }
    if token.used_at.is_some() {
        // Reuse of a rotated token: treat the family as stolen. This write is
        // deliberate even though the call fails.
        revoke_family(&state.db, &family.id, now).await?;
        state.sessions.forget(&family.member_id);
        tracing::warn!(family_id = %family.id, "refresh token reused; session family revoked");
        return Err(invalid());
    }

    let txn = state.db.begin().await?;
    // Conditional on `used_at IS NULL`, so two concurrent refreshes with the
    // same token cannot both rotate it.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(refresh_token::Column::Id.eq(token.id.clone()))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        revoke_family(&state.db, &family.id, now).await?;
        state.sessions.forget(&family.member_id);
        return Err(invalid());
    }
    let refresh_token = insert_refresh_token(state, &txn, &family.id, now).await?;
    let (access_token, expires_at) = state.jwt.issue(&family.member_id, &family.id, now)?;
    txn.commit().await?;
    Ok(RotatedSession {
        access_token,
        refresh_token,
        expires_at,
    })
}

/// Checks the current password (a wrong one is `UNAUTHENTICATED` and spends
/// one of the account's password attempts, as a sign-in does), stores the new
/// one under the registration rules, and revokes every other session of the
/// member; the caller's own session stays signed in.
pub async fn change_password(
    state: &Ctx,
    caller: &MemberCaller,
    current_password: String,
    new_password: String,
) -> DomainResult<bool> {
    if current_password.len() > super::passwords::MAX_PASSWORD_LEN {
        return Err(DomainError::Unauthenticated(
            "the current password is wrong".into(),
        ));
    }
    validate_password("newPassword", &new_password)?;
    state.throttle.attempt(&caller.id)?;
    let member = member::Entity::find_by_id(caller.id.clone())
        .one(&state.db)
        .await?
        .ok_or_else(DomainError::unauthenticated)?;
    // No connection is held while the hashes wait their turn and run.
    state.db.release().await;
    if !verify_password(current_password, Some(member.password_hash.clone())).await? {
        return Err(DomainError::Unauthenticated(
            "the current password is wrong".into(),
        ));
    }
    let password_hash = hash_password(new_password).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let mut active: member::ActiveModel = member.into();
    active.password_hash = Set(password_hash);
    active.update(&txn).await?;
    let revoked = refresh_family::Entity::update_many()
        .col_expr(refresh_family::Column::RevokedAt, Expr::value(Some(now)))
        .filter(refresh_family::Column::MemberId.eq(caller.id.clone()))
        .filter(refresh_family::Column::Id.ne(caller.session_id.clone()))
        .filter(refresh_family::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    state.sessions.forget(&caller.id);
    tracing::info!(
        member_id = %caller.id,
        other_sessions_revoked = revoked.rows_affected,
        "password changed"
    );
    Ok(true)
}

pub async fn sign_out(state: &Ctx, caller: &MemberCaller) -> DomainResult<bool> {
    revoke_family(&state.db, &caller.session_id, Utc::now()).await?;
    // At once on this server; on others when PostgreSQL's notice arrives.
    state.sessions.forget(&caller.id);
    Ok(true)
}

async fn revoke_family(
    db: &impl ConnectionTrait,
    family_id: &str,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    refresh_family::Entity::update_many()
        .col_expr(refresh_family::Column::RevokedAt, Expr::value(Some(now)))
        .filter(refresh_family::Column::Id.eq(family_id))
        .filter(refresh_family::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

async fn start_session(
    state: &Ctx,
    conn: &impl ConnectionTrait,
    member: member::Model,
    now: DateTime<Utc>,
) -> DomainResult<IssuedSession> {
    let family = refresh_family::ActiveModel {
        id: Set(new_id()),
        member_id: Set(member.id.clone()),
        created_at: Set(now),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    let refresh_token = insert_refresh_token(state, conn, &family.id, now).await?;
    let (access_token, expires_at) = state.jwt.issue(&member.id, &family.id, now)?;
    Ok(IssuedSession {
        access_token,
        refresh_token,
        expires_at,
        member,
    })
}

async fn insert_refresh_token(
    state: &Ctx,
    conn: &impl ConnectionTrait,
    family_id: &str,
    now: DateTime<Utc>,
) -> DomainResult<String> {
    let secret = format!("{REFRESH_PREFIX}{}", random_token(43));
    refresh_token::ActiveModel {
        id: Set(new_id()),
        family_id: Set(family_id.to_string()),
        token_hash: Set(sha256_hex(&secret)),
        issued_at: Set(now),
        expires_at: Set(now + Duration::seconds(state.config.refresh_token_ttl_secs)),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(secret)
}

async fn email_taken(db: &impl ConnectionTrait, email: &Email) -> DomainResult<bool> {
    Ok(member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .filter(member::Column::EmailLower.eq(email.normalized()))
        .into_tuple::<String>()
        .one(db)
        .await?
        .is_some())
}

fn email_conflict() -> DomainError {
    DomainError::Conflict("an account with this email already exists".into())
}

/// The unique index is the real guard (two registrations can race past the
/// pre-check); its violation becomes `CONFLICT`.
fn unique_email(err: sea_orm::DbErr) -> DomainError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => email_conflict(),
        _ => err.into(),
    }
}
