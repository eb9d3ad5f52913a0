//! The leader's printable report page: what it shows, and the short-lived
//! signed link that opens it in a browser (browsers send no Bearer header
//! on navigation, and an access token must never sit in a URL).
//!
//! The link names one group and one period and is signed for the member
//! and session that asked for it. Opening it checks everything again: the
//! session is still signed in and the member still leads the group, so
//! signing out or stepping down closes every link at once.

use chrono::{DateTime, NaiveDate, Utc};
use entities::{group, referral};
use sea_orm::{ColumnTrait, Condition};

use super::group_report::{self, Report, TenureBand};
use super::network::{MonthFlow, monthly};
use crate::auth::jwt::JwtKeys;
use crate::caller::Caller;
use crate::ctx::Ctx;
use crate::error::DomainResult;
use crate::insights::sources::{self, Scope, SourcesReport};

/// Everything the page shows: one service builds it from the same figures
/// as the GraphQL group report and sources report.
pub struct LeaderPage {
    pub group: group::Model,
    pub report: Report,
    pub tenure_bands: Vec<TenureBand>,
    pub months: Vec<MonthFlow>,
    pub sources: SourcesReport,
}

/// A signed link's path and when it stops working.
pub struct ReportLink {
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

/// A leader (or admin) asks for a link to the page of `group_id` over the
/// period; the same checks as the report itself.
pub async fn issue_link(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<ReportLink> {
    let group = group_report::check(state, caller, group_id, from, to).await?;
    let me = caller.member()?;
    let now = Utc::now();
    let ttl = state.config.report_link_ttl_secs;
    let claims = JwtKeys::report_link_claims(&me.id, &me.session_id, &group.id, from, to, now, ttl);
    let token = state.jwt.issue_report_link(claims)?;
    Ok(ReportLink {
        path: format!(
            "/reports/groups/{}?from={from}&to={to}&link={token}",
            group.id
        ),
        expires_at: now + chrono::Duration::seconds(ttl),
    })
}

/// Opens a link: valid signature and lifetime, the group and period it was
/// made for, a live session, and a caller who still leads the group.
pub async fn open(
    state: &Ctx,
    token: &str,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<LeaderPage> {
    let claims = state.jwt.verify_report_link(token)?;
    if claims.grp != group_id || claims.from != from || claims.to != to {
        return Err(crate::error::DomainError::Unauthenticated(
            "this link is for another report".into(),
        ));
    }
    let caller = Caller::of_session(state, &claims.sub, &claims.sid).await?;
    build(state, &caller, group_id, from, to).await
}

/// The page's figures (see [`LeaderPage`]), after the report's own checks.
pub async fn build(
    state: &Ctx,
    caller: &Caller,
    group_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> DomainResult<LeaderPage> {
    let group = group_report::check(state, caller, group_id, from, to).await?;
    let report =
        group_report::build(&state.db, &group.id, from, to, group_report::Parts::ALL).await?;
    let tenure_bands = group_report::tenure_bands(&report);
    let (months, _) = monthly(
        &state.db,
        Condition::all()
            .add(referral::Column::GroupId.eq(group.id.clone()))
            .add(referral::Column::ReceiverMemberId.is_not_null()),
        from,
        to,
    )
    .await?;
    let sources = sources::build(
        &state.db,
        &Scope::Group {
            id: group.id.clone(),
            currency: group.currency.clone(),
        },
        from,
        to,
    )
    .await?;
    Ok(LeaderPage {
        group,
        report,
        tenure_bands,
        months,
        sources,
    })
}
