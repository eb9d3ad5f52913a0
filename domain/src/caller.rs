//! Who is calling: a signed-in member, a partner firm's system with a scoped
//! API token, or nobody. Built once per request from the bearer token (the
//! `api` crate's one extractor calls [`Caller::from_authorization`]) and
//! handed to every domain function, which decides what the caller may do.

use chrono::{Duration, Utc};
use entities::ApiScope;
use entities::{member, refresh_family};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ColumnTrait, DbErr, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QueryResult, QuerySelect, RelationTrait,
};

use crate::auth::api_tokens;
use crate::ctx::Ctx;
use crate::error::{DomainError, DomainResult};

#[derive(Debug, Clone)]
pub struct MemberCaller {
    pub id: String,
    pub is_admin: bool,
    /// Refresh-token family of the session that issued the access token.
    pub session_id: String,
    /// When the access token this caller presented expires (Unix seconds),
    /// if it came with one.
    pub token_expires_at: Option<i64>,
    /// The member's row (without the password hash) as read when the
    /// session was checked, so `me` costs no second read.
    pub profile: Option<std::sync::Arc<member::Model>>,
}

#[derive(Debug, Clone, Default)]
pub enum Caller {
    #[default]
    Anonymous,
    Member(MemberCaller),
    /// A partner firm's system, with an API token.
    Partner(PartnerCaller),
}

impl Caller {
    /// The signed-in member, or `UNAUTHENTICATED`. An API token is a
    /// credential, but never a member's: `FORBIDDEN`.
    pub fn member(&self) -> DomainResult<&MemberCaller> {
        match self {
            Caller::Member(m) => Ok(m),
            Caller::Anonymous => Err(DomainError::unauthenticated()),
            Caller::Partner(_) => Err(DomainError::Forbidden(
                "API tokens cannot use member operations".into(),
            )),
        }
    }

    /// The partner firm's token, or `UNAUTHENTICATED` / `FORBIDDEN`.
    pub fn partner(&self) -> DomainResult<&PartnerCaller> {
        match self {
            Caller::Partner(p) => Ok(p),
            Caller::Anonymous => Err(DomainError::Unauthenticated(
                "send 'Authorization: Bearer rx_…' with a partner API token".into(),
            )),
            Caller::Member(_) => Err(DomainError::Forbidden(
                "only a partner firm's API token may do this".into(),
            )),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::Member(m) if m.is_admin)
    }
}

/// How often `last_seen_at` is written: at most once per this interval, so a
/// busy portal does not turn every read into a write.
const LAST_SEEN_GRANULARITY_MINUTES: i64 = 5;

impl Caller {
    /// Resolves an `Authorization` value. None is anonymous; a value that is
    /// present but wrong (malformed, expired, forged, revoked session) is
    /// `UNAUTHENTICATED` for the whole request rather than silently anonymous.
    pub async fn from_authorization(
        state: &Ctx,
        authorization: Option<&str>,
    ) -> DomainResult<Caller> {
        let Some(header) = authorization else {
            return Ok(Caller::Anonymous);
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                DomainError::Unauthenticated("expected 'Authorization: Bearer <token>'".into())
            })?;
        if token.starts_with(api_tokens::TOKEN_PREFIX) {
            return Ok(Caller::Partner(
                api_tokens::authenticate(state, token).await?,
            ));
        }
        let claims = state.jwt.verify(token)?;
        let mut caller = Caller::of_session(state, &claims.sub, &claims.sid).await?;
        if let Caller::Member(member) = &mut caller {
            member.token_expires_at = Some(claims.exp);
        }
        Ok(caller)
    }

    /// The member behind a signed token, as long as the account exists and
    /// the session it was issued in has not been signed out: no statement
    /// when this server's session view remembers it (`auth::session_view`:
    /// PostgreSQL tells every server of each change, SQLite counts every
    /// commit), otherwise one (the member row joined to its session). A
    /// revocation takes effect on the next request here (and on SQLite
    /// everywhere), and on other PostgreSQL servers once its notice arrives.
    pub async fn of_session(
        state: &Ctx,
        member_id: &str,
        session_id: &str,
    ) -> DomainResult<Caller> {
        if let Some(member) = state.sessions.get(member_id, session_id) {
            return Caller::seen(state, member, session_id).await;
        }
        let read_from = state.sessions.generation(member_id);
        let row = crate::members::rows::find()
            .column_as(refresh_family::Column::RevokedAt, "session_revoked_at")
            .join(JoinType::InnerJoin, member::Relation::RefreshFamily.def())
            .filter(member::Column::Id.eq(member_id))
            .filter(refresh_family::Column::Id.eq(session_id))
            .into_model::<SessionRow>()
            .one(&state.db)
            .await?;
        let member = match row {
            Some(SessionRow {
                member,
                session_revoked_at: None,
            }) => member,
            _ => {
                return Err(DomainError::Unauthenticated(
                    "session has ended; sign in again".into(),
                ));
            }
        };
        let member = std::sync::Arc::new(member);
        // Only what the primary said: a replica (the report page reads
        // through one) may not yet hold a change whose notice was heard.
        if state.db.reads_primary() {
            state
                .sessions
                .remember(read_from, session_id, member.clone());
        }
        Caller::seen(state, member, session_id).await
    }

    /// The caller for a live session of `member`, recording that the member
    /// was seen (at most every few minutes: the write changes the row, so
    /// the view forgets it and the next request reads it again).
    async fn seen(
        state: &Ctx,
        member: std::sync::Arc<member::Model>,
        session_id: &str,
    ) -> DomainResult<Caller> {
        let now = Utc::now();
        let stale = member
            .last_seen_at
            .is_none_or(|seen| now - seen > Duration::minutes(LAST_SEEN_GRANULARITY_MINUTES));
        if stale {
            member::Entity::update_many()
                .col_expr(member::Column::LastSeenAt, Expr::value(now))
                .filter(member::Column::Id.eq(member.id.as_str()))
                .exec(&state.db.writer())
                .await?;
            state.sessions.forget(&member.id);
        }
        Ok(Caller::Member(MemberCaller {
            id: member.id.clone(),
            is_admin: member.is_admin,
            session_id: session_id.to_string(),
            token_expires_at: None,
            profile: Some(member),
        }))
    }
}

/// A member row with the state of the session being checked.
struct SessionRow {
    member: member::Model,
    session_revoked_at: Option<chrono::DateTime<Utc>>,
}

impl FromQueryResult for SessionRow {
    /// By position: the member's columns first, then the session's.
    fn from_query_result(row: &QueryResult, _pre: &str) -> Result<Self, DbErr> {
        Ok(SessionRow {
            member: member::Model::at(row, 0)?,
            session_revoked_at: row.try_get_by_index(member::Model::COLUMNS)?,
        })
    }
}

/// A request made with a valid API token.
#[derive(Debug, Clone)]
pub struct PartnerCaller {
    pub token_id: String,
    pub firm_id: String,
    pub group_id: String,
    pub scopes: Vec<ApiScope>,
}

impl PartnerCaller {
    /// `FORBIDDEN` unless the token carries `scope`.
    pub fn require(&self, scope: ApiScope) -> DomainResult<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "this API token lacks the {} scope",
                scope.to_value()
            )))
        }
    }
}
