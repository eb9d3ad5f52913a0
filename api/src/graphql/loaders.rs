//! Per-request batch loaders, so a page of rows costs one query per kind of
//! related row instead of one per row.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use domain::Db;
use entities::{attendance, contact, group, member, membership, partner_firm, referral_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::ApiError;

pub struct Loaders {
    pub members: DataLoader<MemberLoader>,
    pub groups: DataLoader<GroupLoader>,
    pub memberships: DataLoader<MembershipsOfMemberLoader>,
    /// The same, without the wait, for a member alone at its level (see
    /// [`alone_at_its_level`]): its own fields' look-ups, enqueued in the
    /// same poll, still share one statement.
    pub memberships_alone: DataLoader<MembershipsOfMemberLoader>,
    pub firms: DataLoader<PartnerFirmLoader>,
    pub contacts: DataLoader<ContactLoader>,
    pub events: DataLoader<EventsOfReferralLoader>,
    pub attendance: DataLoader<AttendanceOfMeetingLoader>,
    pub firm_balances: DataLoader<crate::partners::loaders::FirmBalanceLoader>,
    pub firm_tokens: DataLoader<crate::partners::loaders::TokensOfFirmLoader>,
    pub stage_histories: DataLoader<StagesOfPartnershipLoader>,
    pub nps_histories: DataLoader<NpsOfContactLoader>,
    pub request_referrals: DataLoader<ReferralsOfRequestLoader>,
    pub home_currencies: DataLoader<HomeCurrencyLoader>,
}

impl Loaders {
    /// The member a row points at. Foreign keys guarantee it exists, so a
    /// miss is an internal error, not NOT_FOUND.
    pub async fn member(&self, id: &str) -> Result<member::Model, ApiError> {
        self.members.load_one(id.to_string()).await?.ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("member {id} missing behind a foreign key"))
        })
    }

    /// The group a row points at (see `member`).
    pub async fn group(&self, id: &str) -> Result<group::Model, ApiError> {
        self.groups.load_one(id.to_string()).await?.ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("group {id} missing behind a foreign key"))
        })
    }

    pub fn new(db: &Db, delay: Duration) -> Loaders {
        Loaders::build(db, delay)
    }
}

/// Whether the object whose field is being resolved is a root field's own
/// value (`me`, `node(id:)`), not one of a list: no other keys can join
/// its batch, so a loader's wait would only add latency (a portal's `me`
/// with its seats answered `RX_LOADER_DELAY_US` sooner).
pub fn alone_at_its_level(ctx: &async_graphql::Context<'_>) -> bool {
    ctx.path_node
        .and_then(|field| field.parent)
        .is_some_and(|object| object.parent.is_none())
}

/// A batching loader that waits `delay` for more keys before it fetches.
/// async-graphql's default is 1 ms, which costs a millisecond (more with
/// the timer's rounding) on each level of every nested request; the keys
/// of one level are enqueued within microseconds, so `RX_LOADER_DELAY_US`
/// defaults to 200 µs. At 50 µs batches began to split (README, "Benchmarks").
fn loader<T: Loader<String>>(inner: T, delay: Duration) -> DataLoader<T> {
    DataLoader::new(inner, tokio::spawn).delay(delay)
}

impl Loaders {
    fn build(db: &Db, delay: Duration) -> Loaders {
        Loaders {
            members: loader(MemberLoader(db.clone()), delay),
            groups: loader(GroupLoader(db.clone()), delay),
            memberships: loader(MembershipsOfMemberLoader(db.clone()), delay),
            memberships_alone: loader(MembershipsOfMemberLoader(db.clone()), Duration::ZERO),
            firms: loader(PartnerFirmLoader(db.clone()), delay),
            contacts: loader(ContactLoader(db.clone()), delay),
            events: loader(EventsOfReferralLoader(db.clone()), delay),
            attendance: loader(AttendanceOfMeetingLoader(db.clone()), delay),
            firm_balances: loader(
                crate::partners::loaders::FirmBalanceLoader(db.clone()),
                delay,
            ),
            firm_tokens: loader(
                crate::partners::loaders::TokensOfFirmLoader(db.clone()),
                delay,
            ),
            stage_histories: loader(StagesOfPartnershipLoader(db.clone()), delay),
            nps_histories: loader(NpsOfContactLoader(db.clone()), delay),
            request_referrals: loader(ReferralsOfRequestLoader(db.clone()), delay),
            home_currencies: loader(HomeCurrencyLoader(db.clone()), delay),
        }
    }
}

/// Each partnership's stages, oldest first (one query per page).
pub struct StagesOfPartnershipLoader(Db);

impl Loader<String> for StagesOfPartnershipLoader {
    type Value = Vec<entities::partnership_stage::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, ApiError> {
        Ok(domain::partnerships::service::stage_histories(&self.0, keys).await?)
    }
}

/// Each contact's NPS scores with their days, oldest first (one query per page).
pub struct NpsOfContactLoader(Db);

impl Loader<String> for NpsOfContactLoader {
    type Value = Vec<(i32, chrono::NaiveDate)>;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, ApiError> {
        Ok(domain::contacts::service::nps_histories(&self.0, keys).await?)
    }
}

/// The referrals that answered each referral request, oldest first.
pub struct ReferralsOfRequestLoader(Db);

impl Loader<String> for ReferralsOfRequestLoader {
    type Value = Vec<entities::referral::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, ApiError> {
        Ok(domain::requests::service::answering_referrals(&self.0, keys).await?)
    }
}

/// Each member's home currency (the longest-held active seat's group's).
pub struct HomeCurrencyLoader(Db);

impl Loader<String> for HomeCurrencyLoader {
    type Value = String;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, String>, ApiError> {
        Ok(domain::balances::service::home_currencies(&self.0, keys).await?)
    }
}

/// A seat with its group, read together (`memberships { group { name } }`
/// and the home currency need both).
pub type SeatInGroup = (membership::Model, group::Model);

/// Every seat (active and ended) of each member with its group, oldest
/// first: one statement for any number of members.
pub struct MembershipsOfMemberLoader(Db);

impl Loader<String> for MembershipsOfMemberLoader {
    type Value = Vec<SeatInGroup>;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Vec<SeatInGroup>>, ApiError> {
        let rows = membership::Entity::find()
            .find_also_related(group::Entity)
            .filter(membership::Column::MemberId.is_in(keys.iter().cloned()))
            .order_by_asc(membership::Column::JoinedOn)
            .order_by_asc(membership::Column::CreatedAt)
            .all(&self.0)
            .await?;
        let mut by_member: HashMap<String, Vec<SeatInGroup>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for (seat, group) in rows {
            // The foreign key guarantees the group.
            let group = group.ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("seat {} without its group", seat.id))
            })?;
            by_member
                .entry(seat.member_id.clone())
                .or_default()
                .push((seat, group));
        }
        Ok(by_member)
    }
}

/// Loads rows of one entity by primary key.
macro_rules! by_id_loader {
    ($name:ident, $module:ident) => {
        pub struct $name(Db);

        impl Loader<String> for $name {
            type Value = $module::Model;
            type Error = ApiError;

            async fn load(
                &self,
                keys: &[String],
            ) -> Result<HashMap<String, $module::Model>, ApiError> {
                let rows = $module::Entity::find()
                    .filter($module::Column::Id.is_in(keys.iter().cloned()))
                    .all(&self.0)
                    .await?;
                Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
            }
        }
    };
}

/// Members by id, without password hashes (see `domain::members::rows`).
pub struct MemberLoader(Db);

impl Loader<String> for MemberLoader {
    type Value = member::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, member::Model>, ApiError> {
        let rows = domain::members::rows::find()
            .filter(member::Column::Id.is_in(keys.iter().cloned()))
            .into_model::<domain::members::rows::FirstColumns>()
            .all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|r| (r.0.id.clone(), r.0)).collect())
    }
}

by_id_loader!(GroupLoader, group);
by_id_loader!(PartnerFirmLoader, partner_firm);
by_id_loader!(ContactLoader, contact);

/// The event history of each referral, oldest first.
pub struct EventsOfReferralLoader(Db);

impl Loader<String> for EventsOfReferralLoader {
    type Value = Vec<referral_event::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<referral_event::Model>>, ApiError> {
        let rows = referral_event::Entity::find()
            .filter(referral_event::Column::ReferralId.is_in(keys.iter().cloned()))
            .order_by_asc(referral_event::Column::At)
            .order_by_asc(referral_event::Column::Id)
            .all(&self.0)
            .await?;
        let mut out: HashMap<String, Vec<referral_event::Model>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for row in rows {
            out.entry(row.referral_id.clone()).or_default().push(row);
        }
        Ok(out)
    }
}

/// The attendance recorded at each meeting, by member name.
pub struct AttendanceOfMeetingLoader(Db);

impl Loader<String> for AttendanceOfMeetingLoader {
    type Value = Vec<attendance::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<attendance::Model>>, ApiError> {
        let rows = attendance::Entity::find()
            .inner_join(member::Entity)
            .filter(attendance::Column::MeetingId.is_in(keys.iter().cloned()))
            .order_by_asc(member::Column::Name)
            .order_by_asc(attendance::Column::MemberId)
            .all(&self.0)
            .await?;
        let mut out: HashMap<String, Vec<attendance::Model>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for row in rows {
            out.entry(row.meeting_id.clone()).or_default().push(row);
        }
        Ok(out)
    }
}
