use async_graphql::{Context, ID, Object};

use super::types::{GroupReport, NetworkReport, ReportLink};
use crate::error::ApiResult;
use crate::graphql::context::{caller, state};
use crate::graphql::scalars::Date;
use domain::reports::group_report::Parts;

#[derive(Default)]
pub struct ReportsQuery;

#[Object]
impl ReportsQuery {
    /// Leaders of the group and admins. `from` ≤ `to`, both inclusive; every
    /// total equals the sum of the rows.
    async fn group_report(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        from: Date,
        to: Date,
    ) -> ApiResult<GroupReport> {
        let report = domain::reports::group_report::group_report(
            &state(ctx)?.reading().await,
            caller(ctx),
            &group_id,
            from.0,
            to.0,
            parts_asked(ctx),
        )
        .await?;
        Ok(report.into())
    }

    /// The member themself, or a leader of a group they are active in (admins: anyone).
    async fn network_report(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        from: Date,
        to: Date,
    ) -> ApiResult<NetworkReport> {
        let report = domain::reports::network::network_report(
            &state(ctx)?.reading().await,
            caller(ctx),
            &member_id,
            from.0,
            to.0,
        )
        .await?;
        Ok(report.into())
    }
}

/// The parts of the group report the document selects (fragments
/// included): a portal that shows only the referral columns is not charged
/// for attendance, one-way pairs or the lists.
fn parts_asked(ctx: &Context<'_>) -> Parts {
    let report = ctx.look_ahead();
    let rows = report.field("rows");
    let totals = report.field("totals");
    let meeting_figures = [
        "oneToOnes",
        "visitors",
        "attendance",
        "score",
        "scoreParts",
        "trafficLight",
    ]
    .iter()
    .any(|f| rows.field(f).exists())
        || ["oneToOnes", "visitors"]
            .iter()
            .any(|f| totals.field(f).exists());
    // Members shown by name only (in every occurrence, fragments included)
    // need no more than their ids and names.
    let one_way = report.field("oneWayPartnerships");
    let names_only = [
        rows.field("member"),
        one_way.field("from"),
        one_way.field("to"),
    ]
    .iter()
    .flat_map(|m| m.selection_fields())
    .all(|m| crate::graphql::context::selects_only(&m, &["__typename", "id", "name"]));
    // The lists' referrals read only the columns their fields show.
    let lists: Vec<_> = ["unthankedWins", "overdueFollowUps"]
        .iter()
        .flat_map(|list| report.field(list).selection_fields())
        .collect();
    Parts {
        meeting_figures,
        one_way: one_way.exists(),
        lists: report.field("unthankedWins").exists() || report.field("overdueFollowUps").exists(),
        history: rows.field("groupHopping").exists(),
        whole_members: !names_only,
        list_columns: crate::referrals::types::columns_read(&lists),
    }
}

#[derive(Default)]
pub struct ReportsMutation;

#[Object]
impl ReportsMutation {
    /// A short-lived signed link to the group report's printable page
    /// (`GET {path}` on this server), for leaders of the group and admins.
    /// It names the group and period, works only while the caller's session
    /// lasts and they still lead the group, and expires at `expiresAt`
    /// (RX_REPORT_LINK_TTL_SECS, ten minutes by default).
    async fn group_report_link(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        from: Date,
        to: Date,
    ) -> ApiResult<ReportLink> {
        let link = domain::reports::leader_page::issue_link(
            state(ctx)?,
            caller(ctx),
            &group_id,
            from.0,
            to.0,
        )
        .await?;
        Ok(ReportLink {
            path: link.path,
            expires_at: link.expires_at,
        })
    }
}
