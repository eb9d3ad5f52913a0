use async_graphql::{Context, ID, Object};

use super::types::{
    Attendance, AttendanceInput, Meeting, MeetingConnection, OneToOne, OneToOneInput, Visitor,
    VisitorInput,
};
use crate::error::ApiResult;
use crate::graphql::connection::IntoConnection;
use crate::graphql::connection::page_of;
use crate::graphql::context::{caller, state};
use crate::graphql::scalars::Date;
use domain::meetings::service::{self, AttendanceEntry, NewOneToOne};

#[derive(Default)]
pub struct MeetingsQuery;

#[Object]
impl MeetingsQuery {
    /// A group's meetings, latest first (e.g. to pick the meeting a referral
    /// was passed at). Members of the group and admins.
    async fn meetings(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<MeetingConnection> {
        let page = page_of(ctx, first, after.as_deref())?;
        let (rows, total) =
            service::group_meetings(state(ctx)?, caller(ctx), &group_id, page).await?;
        Ok(page.connection(rows.into_iter().map(Meeting).collect(), total))
    }
}

#[derive(Default)]
pub struct MeetingsMutation;

#[Object]
impl MeetingsMutation {
    /// Leaders of the group and admins; one meeting per group and day.
    async fn schedule_meeting(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        held_on: Date,
    ) -> ApiResult<Meeting> {
        Ok(Meeting(
            service::schedule_meeting(state(ctx)?, caller(ctx), &group_id, held_on.0).await?,
        ))
    }

    /// Leaders of the meeting's group and admins. Re-recording a member
    /// replaces their entry for that meeting.
    async fn record_attendance(
        &self,
        ctx: &Context<'_>,
        meeting_id: ID,
        entries: Vec<AttendanceInput>,
    ) -> ApiResult<Vec<Attendance>> {
        let entries = entries
            .into_iter()
            .map(|e| AttendanceEntry {
                member_id: e.member_id.0,
                status: e.status.into(),
                substitute_name: e.substitute_name,
            })
            .collect();
        let rows =
            service::record_attendance(state(ctx)?, caller(ctx), &meeting_id, entries).await?;
        Ok(rows.into_iter().map(Attendance).collect())
    }

    /// Leaders of the meeting's group and admins: a visitor invited by a member.
    async fn record_visitor(&self, ctx: &Context<'_>, input: VisitorInput) -> ApiResult<Visitor> {
        let new = service::NewVisitor {
            meeting_id: input.meeting_id.0,
            invited_by_id: input.invited_by_id.0,
            name: input.name,
            email: input.email,
        };
        Ok(Visitor(
            service::record_visitor(state(ctx)?, caller(ctx), new).await?,
        ))
    }

    /// The caller met a member of a group they share.
    async fn record_one_to_one(
        &self,
        ctx: &Context<'_>,
        input: OneToOneInput,
    ) -> ApiResult<OneToOne> {
        let new = NewOneToOne {
            with_member_id: input.with_member_id.0,
            held_on: input.held_on.0,
            note: input.note,
        };
        Ok(OneToOne(
            service::record_one_to_one(state(ctx)?, caller(ctx), new).await?,
        ))
    }
}
