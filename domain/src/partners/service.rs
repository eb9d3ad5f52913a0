//! Partner-firm rules: firms and their API tokens (leaders of the firm's
//! group and admins), and what a firm's token may do: submit referrals
//! idempotently, list its own referrals, read the group's directory.

use chrono::{DateTime, Utc};
use entities::{api_token, idempotency_key, member, membership, partner_firm, referral};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    SqlErr, TransactionTrait,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::access::{self, require_group_leader};
use crate::auth::api_tokens;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};
use crate::paging::Page;
use crate::referrals::{
    Draft, Giver, ProspectInputData, Receiver, create_in, notify_received, validate_passed,
};
use crate::validation::{id, new_id, optional_email, optional_text, required_text};
use entities::ApiScope;
use entities::Channel;

pub const IDEMPOTENCY_KEY_MAX: usize = 255;

pub async fn find_firm(
    db: &impl ConnectionTrait,
    firm_id: &str,
) -> DomainResult<partner_firm::Model> {
    partner_firm::Entity::find_by_id(firm_id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("partner firm"))
}

/// A firm named in the input: `NOT_FOUND` with `extensions.field` if unknown.
pub async fn find_named_firm(
    db: &impl ConnectionTrait,
    field: &str,
    firm_id: &str,
) -> DomainResult<partner_firm::Model> {
    find_firm(db, firm_id).await.map_err(|e| match e {
        DomainError::NotFound(_) => DomainError::not_found_at(field, "partner firm"),
        other => other,
    })
}

pub struct NewFirm {
    pub group_id: String,
    pub name: String,
    pub contact_email: Option<String>,
}

pub async fn create_firm(
    state: &Ctx,
    caller: &Caller,
    input: NewFirm,
) -> DomainResult<partner_firm::Model> {
    caller.member()?;
    let group_id = id("input.groupId", &input.group_id)?;
    let name = required_text("input.name", &input.name, 200)?;
    let contact_email = optional_email("input.contactEmail", input.contact_email.as_deref())?;
    let group = crate::groups::service::find_group(&state.db, &group_id)
        .await
        .map_err(|e| match e {
            DomainError::NotFound(_) => DomainError::not_found_at("input.groupId", "group"),
            other => other,
        })?;
    require_group_leader(&state.db, caller, &group.id).await?;
    let firm = partner_firm::ActiveModel {
        id: Set(new_id()),
        group_id: Set(group.id),
        name: Set(name),
        contact_email: Set(contact_email.map(|e| e.as_str().to_string())),
        created_at: Set(Utc::now()),
    }
    .insert(&state.db)
    .await?;
    tracing::info!(firm_id = %firm.id, group_id = %firm.group_id, "partner firm created");
    Ok(firm)
}

/// Firms of a group, by name (access checked by the caller).
pub async fn firms_of_group(
    db: &impl ConnectionTrait,
    group_id: &str,
) -> DomainResult<Vec<partner_firm::Model>> {
    Ok(partner_firm::Entity::find()
        .filter(partner_firm::Column::GroupId.eq(group_id))
        .order_by_asc(partner_firm::Column::Name)
        .order_by_asc(partner_firm::Column::Id)
        .all(db)
        .await?)
}

pub struct NewToken {
    pub partner_firm_id: String,
    pub scopes: Vec<ApiScope>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Issues a token; returns its row and the secret, which is not kept.
pub async fn issue_token(
    state: &Ctx,
    caller: &Caller,
    input: NewToken,
) -> DomainResult<(api_token::Model, String)> {
    let me = caller.member()?;
    let firm_id = id("input.partnerFirmId", &input.partner_firm_id)?;
    if input.scopes.is_empty() {
        return Err(DomainError::bad_input(
            "input.scopes",
            "a token needs at least one scope",
        ));
    }
    let now = Utc::now();
    if input.expires_at.is_some_and(|at| at <= now) {
        return Err(DomainError::bad_input(
            "input.expiresAt",
            "expiresAt must be in the future",
        ));
    }
    let firm = find_named_firm(&state.db, "input.partnerFirmId", &firm_id).await?;
    require_group_leader(&state.db, caller, &firm.group_id).await?;
    let secret = api_tokens::generate();
    let token = api_token::ActiveModel {
        id: Set(new_id()),
        partner_firm_id: Set(firm.id.clone()),
        prefix: Set(api_tokens::display_prefix(&secret)),
        secret_hash: Set(api_tokens::hash(&secret)),
        scopes: Set(ApiScope::format_list(&input.scopes)),
        expires_at: Set(input.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_by_id: Set(Some(me.id.clone())),
        created_at: Set(now),
    }
    .insert(&state.db)
    .await?;
    tracing::info!(token_id = %token.id, firm_id = %firm.id, prefix = %token.prefix, "API token issued");
    Ok((token, secret))
}

/// Revokes a token; revoking it again keeps the first revocation time.
pub async fn revoke_token(
    state: &Ctx,
    caller: &Caller,
    token_id: &str,
) -> DomainResult<api_token::Model> {
    caller.member()?;
    let token_id = id("id", token_id)?;
    let token = api_token::Entity::find_by_id(token_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| DomainError::not_found_at("id", "API token"))?;
    let firm = find_firm(&state.db, &token.partner_firm_id).await?;
    require_group_leader(&state.db, caller, &firm.group_id).await?;
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let mut active: api_token::ActiveModel = token.into();
    active.revoked_at = Set(Some(Utc::now()));
    let token = active.update(&state.db).await?;
    tracing::info!(token_id = %token.id, "API token revoked");
    Ok(token)
}

pub struct SubmitInput {
    pub receiver_id: String,
    pub prospect: ProspectInputData,
    pub temperature: i32,
    pub note: Option<String>,
    pub idempotency_key: String,
}

/// SHA-256 of a canonical form of the input (fixed field order, the key
/// itself left out): what "the same input" means for an idempotency key.
fn request_hash(input: &SubmitInput) -> String {
    // The receiver as a canonical UUID, so spelling variants are the same input.
    let receiver = uuid::Uuid::parse_str(&input.receiver_id)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| input.receiver_id.clone());
    let canonical = json!([
        receiver,
        input.prospect.name,
        input.prospect.email,
        input.prospect.phone,
        input.prospect.company,
        input.prospect.need,
        input.temperature,
        input.note,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn validate_key(key: &str) -> DomainResult<()> {
    let n = key.chars().count();
    if n == 0 || n > IDEMPOTENCY_KEY_MAX || key.chars().any(char::is_control) {
        return Err(DomainError::bad_input(
            "input.idempotencyKey",
            format!(
                "idempotencyKey must be 1 to {IDEMPOTENCY_KEY_MAX} characters without control characters"
            ),
        ));
    }
    Ok(())
}

/// The referral an earlier call with this key created, if the input is the
/// same; `CONFLICT` if it is not.
async fn replay(
    db: &impl ConnectionTrait,
    firm_id: &str,
    key: &str,
    hash: &str,
) -> DomainResult<Option<referral::Model>> {
    let Some(row) = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::PartnerFirmId.eq(firm_id))
        .filter(idempotency_key::Column::Key.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row.request_hash != hash {
        return Err(DomainError::Conflict(
            "this idempotencyKey was already used with different input".into(),
        ));
    }
    let original = referral::Entity::find_by_id(row.referral_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            DomainError::internal(anyhow::anyhow!("idempotency key without its referral"))
        })?;
    Ok(Some(original))
}

/// A partner firm submits a referral to an active member of its group.
/// The idempotency key's row is written in the referral's transaction; its
/// unique (firm, key) index decides between concurrent calls, and the
/// losers roll back and answer with the winner's referral.
pub async fn submit_referral(
    state: &Ctx,
    caller: &Caller,
    input: SubmitInput,
) -> DomainResult<referral::Model> {
    let partner = caller.partner()?;
    partner.require(ApiScope::ReferralsWrite)?;
    validate_key(&input.idempotency_key)?;
    let receiver_id = id("input.receiverId", &input.receiver_id)?;
    let (prospect, temperature, note) =
        validate_passed(&input.prospect, input.temperature, input.note.as_deref())?;
    let hash = request_hash(&input);
    let db = &state.db;
    if let Some(original) = replay(db, &partner.firm_id, &input.idempotency_key, &hash).await? {
        return Ok(original);
    }
    let not_in_group = || {
        DomainError::not_found_at(
            "input.receiverId",
            "receiver (an active member of your group)",
        )
    };
    let receiver = crate::members::rows::find()
        .filter(member::Column::Id.eq(receiver_id))
        .one(db)
        .await?
        .ok_or_else(not_in_group)?;
    if !access::is_active_member(db, &receiver.id, &partner.group_id).await? {
        return Err(not_in_group());
    }
    let draft = Draft {
        giver: Giver::Firm(partner.firm_id.clone()),
        receiver: Receiver::Member(Box::new(receiver)),
        group_id: Some(partner.group_id.clone()),
        prospect,
        temperature,
        channel: Channel::PartnerApi,
        meeting_id: None,
        ask_id: None,
        note,
        inside_group: false,
        actor_member: None,
        actor_firm: Some(partner.firm_id.clone()),
    };
    let txn = db.begin().await?;
    let created = create_in(&txn, draft, None).await?;
    let claimed = idempotency_key::ActiveModel {
        id: Set(new_id()),
        partner_firm_id: Set(partner.firm_id.clone()),
        key: Set(input.idempotency_key.clone()),
        request_hash: Set(hash.clone()),
        referral_id: Set(created.id.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await;
    match claimed {
        Ok(_) => {
            let staged = notify_received(&txn, &created).await?;
            txn.commit().await?;
            staged.after_commit(&state.notifier);
            tracing::info!(referral_id = %created.id, firm_id = %partner.firm_id, "partner referral submitted");
            Ok(created)
        }
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // Another call with this key committed first: ours never happened.
            txn.rollback().await?;
            replay(db, &partner.firm_id, &input.idempotency_key, &hash)
                .await?
                .ok_or_else(|| {
                    DomainError::internal(anyhow::anyhow!(
                        "idempotency key vanished after a conflict"
                    ))
                })
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Given,
    Received,
}

/// The firm's referrals in one direction, newest first.
pub async fn referrals_of_firm(
    db: &impl ConnectionTrait,
    firm_id: &str,
    direction: Direction,
    page: Page,
) -> DomainResult<(Vec<referral::Model>, u64)> {
    let q = referral::Entity::find().filter(match direction {
        Direction::Given => referral::Column::GiverFirmId.eq(firm_id),
        Direction::Received => referral::Column::ReceiverFirmId.eq(firm_id),
    });
    crate::referrals::newest_first(db, q, page).await
}

/// Active members of the token's group, by name, optionally of one
/// profession (compared case-insensitively).
pub async fn directory(
    state: &Ctx,
    caller: &Caller,
    profession: Option<&str>,
    page: Page,
) -> DomainResult<(Vec<member::Model>, u64)> {
    let partner = caller.partner()?;
    partner.require(ApiScope::DirectoryRead)?;
    let profession = optional_text("profession", profession, 120)?;
    let seated = Query::select()
        .column(membership::Column::MemberId)
        .from(membership::Entity)
        .and_where(membership::Column::GroupId.eq(partner.group_id.clone()))
        .and_where(membership::Column::LeftOn.is_null())
        .to_owned();
    let mut q = crate::members::rows::find().filter(member::Column::Id.in_subquery(seated));
    if let Some(p) = profession {
        q = q.filter(
            Expr::expr(Func::lower(Expr::col(member::Column::Profession)))
                .eq(Expr::val(p.to_lowercase())),
        );
    }
    let by_name = |q: sea_orm::Select<member::Entity>| {
        q.order_by_asc(member::Column::Name)
            .order_by_asc(member::Column::Id)
    };
    crate::paging::read(&state.db, q, by_name, page).await
}

/// The firm behind a partner token with REFERRALS_READ.
pub async fn own_firm(state: &Ctx, caller: &Caller) -> DomainResult<partner_firm::Model> {
    let partner = caller.partner()?;
    partner.require(ApiScope::ReferralsRead)?;
    find_firm(&state.db, &partner.firm_id).await
}
