//! GraphQL shapes of meetings, attendance (the PALMS codes) and one-to-ones.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entities::{attendance, meeting, one_to_one};

use crate::error::{ApiError, ApiResult};
use crate::graphql::context::{caller, loaders};
use crate::graphql::guards;
use crate::graphql::scalars::Date;
use crate::groups::types::Group;
use crate::members::types::Member;

/// A member's presence at a meeting, stored as the enum item's name.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::AttendanceStatus")]
pub enum AttendanceStatus {
    Present,
    Absent,
    Late,
    Medical,
    Substitute,
}

#[derive(InputObject)]
pub struct AttendanceInput {
    pub member_id: ID,
    pub status: AttendanceStatus,
    pub substitute_name: Option<String>,
}

#[derive(InputObject)]
pub struct OneToOneInput {
    pub with_member_id: ID,
    pub held_on: Date,
    pub note: Option<String>,
}

#[derive(Clone)]
pub struct Meeting(pub meeting::Model);

#[Object]
impl Meeting {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn held_on(&self) -> Date {
        Date(self.0.held_on)
    }

    async fn group(&self, ctx: &Context<'_>) -> ApiResult<Group> {
        Ok(Group(loaders(ctx)?.group(&self.0.group_id).await?))
    }

    /// Recorded attendance, by member name. Leaders of the group and admins only.
    async fn attendance(&self, ctx: &Context<'_>) -> ApiResult<Vec<Attendance>> {
        // Batched: a page of meetings costs one seat look-up and one
        // attendance query, not two per meeting.
        let me = caller(ctx).member()?;
        if !guards::leads_group(ctx, me, &self.0.group_id).await? {
            return Err(ApiError::forbidden(
                "only a leader of this group may do this",
            ));
        }
        let loaders = loaders(ctx)?;
        let rows = loaders
            .attendance
            .load_one(self.0.id.clone())
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Attendance).collect())
    }
}

crate::connection_type!(MeetingConnection, MeetingEdge, Meeting);

#[derive(Clone)]
pub struct Attendance(pub attendance::Model);

#[Object]
impl Attendance {
    async fn member(&self, ctx: &Context<'_>) -> ApiResult<Member> {
        Ok(Member::from(loaders(ctx)?.member(&self.0.member_id).await?))
    }

    async fn status(&self) -> AttendanceStatus {
        AttendanceStatus::from(self.0.status)
    }

    /// Who stood in for the member (SUBSTITUTE only).
    async fn substitute_name(&self) -> Option<&str> {
        self.0.substitute_name.as_deref()
    }

    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
}

#[derive(Clone)]
pub struct OneToOne(pub one_to_one::Model);

#[Object]
impl OneToOne {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn held_on(&self) -> Date {
        Date(self.0.held_on)
    }

    /// The other member (the one the recorder met).
    async fn with(&self, ctx: &Context<'_>) -> ApiResult<Member> {
        Ok(Member::from(
            loaders(ctx)?.member(&self.0.with_member_id).await?,
        ))
    }

    /// The member who recorded it.
    async fn recorded_by(&self, ctx: &Context<'_>) -> ApiResult<Member> {
        Ok(Member::from(loaders(ctx)?.member(&self.0.member_id).await?))
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

#[derive(InputObject)]
pub struct VisitorInput {
    pub meeting_id: ID,
    pub invited_by_id: ID,
    pub name: String,
    pub email: Option<String>,
}

pub struct Visitor(pub entities::visitor::Model);

#[Object]
impl Visitor {
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Leaders only reach visitors, so the email is shown.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    async fn invited_by(&self, ctx: &Context<'_>) -> ApiResult<Member> {
        Ok(Member::from(
            loaders(ctx)?.member(&self.0.invited_by_id).await?,
        ))
    }

    async fn meeting(&self, ctx: &Context<'_>) -> ApiResult<Meeting> {
        let db = &crate::graphql::context::state(ctx)?.db;
        domain::meetings::service::find_meeting(db, &self.0.meeting_id)
            .await?
            .map(Meeting)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("visitor without its meeting")))
    }
}
