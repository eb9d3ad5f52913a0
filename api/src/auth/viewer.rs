//! The caller of a request, resolved once from the `Authorization` header.

use chrono::{Duration, Utc};
use entities::{member, refresh_family};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use super::api_tokens::{self, PartnerViewer};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct MemberViewer {
    pub id: String,
    pub is_admin: bool,
    /// Refresh-token family of the session that issued the access token.
    pub session_id: String,
}

#[derive(Debug, Clone, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    Member(MemberViewer),
    /// A partner firm's system, with an API token.
    Partner(PartnerViewer),
}

impl Viewer {
    /// The signed-in member, or `UNAUTHENTICATED`. An API token is a
    /// credential, but never a member's: `FORBIDDEN`.
    pub fn member(&self) -> ApiResult<&MemberViewer> {
        match self {
            Viewer::Member(m) => Ok(m),
            Viewer::Anonymous => Err(ApiError::unauthenticated()),
            Viewer::Partner(_) => Err(ApiError::Forbidden(
                "API tokens cannot use member operations".into(),
            )),
        }
    }

    /// The partner firm's token, or `UNAUTHENTICATED` / `FORBIDDEN`.
    pub fn partner(&self) -> ApiResult<&PartnerViewer> {
        match self {
            Viewer::Partner(p) => Ok(p),
            Viewer::Anonymous => Err(ApiError::Unauthenticated(
                "send 'Authorization: Bearer rx_…' with a partner API token".into(),
            )),
            Viewer::Member(_) => Err(ApiError::Forbidden(
                "only a partner firm's API token may do this".into(),
            )),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Viewer::Member(m) if m.is_admin)
    }
}

/// How often `last_seen_at` is written: at most once per this interval, so a
/// busy portal does not turn every read into a write.
const LAST_SEEN_GRANULARITY_MINUTES: i64 = 5;

/// Resolves the `Authorization` header. No header is anonymous; a header that
/// is present but wrong (malformed, expired, forged, revoked session) is
/// `UNAUTHENTICATED` for the whole request rather than silently anonymous.
pub async fn resolve(state: &AppState, authorization: Option<&str>) -> ApiResult<Viewer> {
    let Some(header) = authorization else {
        return Ok(Viewer::Anonymous);
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthenticated("expected 'Authorization: Bearer <token>'".into())
        })?;
    if token.starts_with(api_tokens::TOKEN_PREFIX) {
        return Ok(Viewer::Partner(
            api_tokens::authenticate(state, token).await?,
        ));
    }
    let claims = state.jwt.verify(token)?;
    let member = member::Entity::find_by_id(claims.sub.clone())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("account no longer exists".into()))?;
    let family = refresh_family::Entity::find_by_id(claims.sid.clone())
        .one(&state.db)
        .await?;
    match family {
        Some(f) if f.revoked_at.is_none() && f.member_id == member.id => {}
        _ => {
            return Err(ApiError::Unauthenticated(
                "session has ended; sign in again".into(),
            ));
        }
    }
    let now = Utc::now();
    let stale = member
        .last_seen_at
        .is_none_or(|seen| now - seen > Duration::minutes(LAST_SEEN_GRANULARITY_MINUTES));
    if stale {
        let mut active: member::ActiveModel = member.clone().into();
        active.last_seen_at = Set(Some(now));
        active.update(&state.db).await?;
    }
    Ok(Viewer::Member(MemberViewer {
        id: member.id,
        is_admin: member.is_admin,
        session_id: claims.sid,
    }))
}
