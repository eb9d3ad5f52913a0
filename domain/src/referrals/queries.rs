//! Reading referrals: a member's lists (given, received, held as delegate),
//! follow-ups due, and the while-you-were-away inbox.

use chrono::{DateTime, NaiveDate, Utc};
use entities::{AbsenceReason, ReferralStatus, absence, member, referral};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Iterable, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::today;
use crate::error::{DomainError, DomainResult};
use crate::paging::{self, Page};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRole {
    Given,
    Received,
    Delegated,
}

/// Members whose absence in force today names `member_id` as delegate.
/// The same rule as `standing` (the most recently declared covering
/// absence wins), so a replaced delegate loses the lists too.
async fn covered_members(
    db: &impl ConnectionTrait,
    member_id: &str,
    day: NaiveDate,
) -> DomainResult<Vec<String>> {
    let candidates: Vec<String> = absence::Entity::find()
        .select_only()
        .column(absence::Column::MemberId)
        .distinct()
        .filter(absence::Column::DelegateId.eq(member_id))
        .filter(absence::Column::FromOn.lte(day))
        .filter(absence::Column::ToOn.gte(day))
        .into_tuple()
        .all(db)
        .await?;
    let mut covered = Vec::new();
    // One look-up per member covered for: a handful at most.
    for member in candidates {
        if crate::absences::service::is_active_delegate_for(db, member_id, &member, day).await? {
            covered.push(member);
        }
    }
    Ok(covered)
}

/// Referrals the member holds for someone away: routed to them, from a
/// receiver whose absence in force today names them as delegate.
async fn delegated_condition(
    db: &impl ConnectionTrait,
    member_id: &str,
    day: NaiveDate,
) -> DomainResult<Condition> {
    let covered = covered_members(db, member_id, day).await?;
    Ok(Condition::all()
        .add(referral::Column::DelegateId.eq(member_id))
        .add(referral::Column::ReceiverMemberId.is_in(covered)))
}

/// The order every list of referrals is read in: newest first, ties broken
/// by id, so a page's cursor means the same row on every read.
fn in_list_order<Q: QueryOrder>(q: Q) -> Q {
    q.order_by_desc(referral::Column::CreatedAt)
        .order_by_desc(referral::Column::Id)
}

/// One page of the referrals `q` selects, newest first, and how many it
/// selects when the page asks (see [`paging::read`]).
pub async fn newest_first(
    db: &impl ConnectionTrait,
    q: sea_orm::Select<referral::Entity>,
    page: Page,
) -> DomainResult<(Vec<referral::Model>, u64)> {
    paging::read(db, q, in_list_order, page).await
}

/// Follow-ups due on `on` for the receiver, for referrals they hold as
/// delegate, and for those they gave an outside contact (whose outcome the
/// giver records): in-progress ones by next date, parked ones by revisit
/// date; the longest overdue first.
pub async fn due_follow_ups(
    db: &impl ConnectionTrait,
    member_id: &str,
    on: NaiveDate,
    page: Page,
) -> DomainResult<(Vec<referral::Model>, u64)> {
    let mine = Condition::any()
        .add(referral::Column::ReceiverMemberId.eq(member_id))
        .add(
            Condition::all()
                .add(referral::Column::GiverMemberId.eq(member_id))
                .add(referral::Column::ReceiverContactId.is_not_null()),
        )
        .add(delegated_condition(db, member_id, today()).await?);
    let due = Condition::any()
        .add(
            Condition::all()
                .add(referral::Column::Status.is_in([
                    ReferralStatus::Accepted,
                    ReferralStatus::Contacted,
                    ReferralStatus::MeetingSet,
                ]))
                .add(referral::Column::NextFollowUpOn.lte(on)),
        )
        .add(
            Condition::all()
                .add(referral::Column::Status.eq(ReferralStatus::Parked))
                .add(referral::Column::RevisitOn.lte(on)),
        );
    let q = referral::Entity::find().filter(mine).filter(due);
    let longest_overdue_first = |q: sea_orm::Select<referral::Entity>| {
        q.order_by_asc(Expr::cust("COALESCE(next_follow_up_on, revisit_on)"))
            .order_by_asc(referral::Column::CreatedAt)
            .order_by_asc(referral::Column::Id)
    };
    paging::read(db, q, longest_overdue_first, page).await
}

/// Referrals received since `since`: the while-you-were-away inbox.
pub fn received_since(member_id: &str, since: DateTime<Utc>) -> sea_orm::Select<referral::Entity> {
    referral::Entity::find()
        .filter(referral::Column::ReceiverMemberId.eq(member_id))
        .filter(referral::Column::CreatedAt.gt(since))
}

/// The while-you-were-away inbox's counts: the referrals received since
/// its start, and of those made in absence how many for each reason (in
/// the reasons' declared order; reasons with none left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwayCounts {
    pub total: u64,
    pub by_reason: Vec<(AbsenceReason, i64)>,
}

/// The inbox's counts in one statement: the referrals received since
/// `since`, counted by presence and reason.
pub async fn away_counts(
    db: &impl ConnectionTrait,
    member_id: &str,
    since: DateTime<Utc>,
) -> DomainResult<AwayCounts> {
    let rows: Vec<(bool, Option<AbsenceReason>, i64)> = received_since(member_id, since)
        .select_only()
        .column(referral::Column::MadeInAbsence)
        .column(referral::Column::AbsenceReason)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(referral::Column::MadeInAbsence)
        .group_by(referral::Column::AbsenceReason)
        .into_tuple()
        .all(db)
        .await?;
    let total = rows.iter().map(|(_, _, n)| (*n).max(0) as u64).sum();
    let mut by_reason: Vec<(AbsenceReason, i64)> = rows
        .into_iter()
        .filter_map(|(absent, reason, n)| reason.filter(|_| absent).map(|r| (r, n)))
        .collect();
    by_reason.sort_by_key(|(r, _)| AbsenceReason::iter().position(|x| x == *r));
    Ok(AwayCounts { total, by_reason })
}

/// One page of the referrals received since `since`, newest first, with
/// their givers and their count when the page asks (see
/// [`newest_first_with_parties`]).
pub async fn away_page(
    db: &impl ConnectionTrait,
    member_id: &str,
    since: DateTime<Utc>,
    page: Page,
    columns: PageColumns,
) -> DomainResult<(Vec<ReferralWithParties>, u64)> {
    newest_first_with_parties(db, received_since(member_id, since), page, columns).await
}

/// Where the while-you-were-away inbox starts by default: the member's
/// previous sign-in, or their registration if they never signed in again.
pub async fn default_since(
    db: &impl ConnectionTrait,
    member_id: &str,
) -> DomainResult<DateTime<Utc>> {
    let m = crate::members::rows::find()
        .filter(member::Column::Id.eq(member_id))
        .one(db)
        .await?
        .ok_or_else(DomainError::unauthenticated)?;
    Ok(m.previous_sign_in_at.unwrap_or(m.created_at))
}

/// A referral's giver or receiver, read with it.
#[derive(Debug, Clone)]
pub enum PartyRow {
    Member(member::Model),
    Firm(entities::partner_firm::Model),
    Contact(entities::contact::Model),
}

/// A referral with its giver and receiver (and, when asked, how many rows
/// the list's filter selects in all), from one statement.
#[derive(Debug, Clone)]
pub struct ReferralWithParties {
    pub referral: referral::Model,
    pub giver: Option<PartyRow>,
    pub receiver: Option<PartyRow>,
    total: Option<i64>,
}

impl ReferralWithParties {
    /// A referral with parties its caller already holds (no count).
    pub fn new(
        referral: referral::Model,
        giver: Option<PartyRow>,
        receiver: Option<PartyRow>,
    ) -> ReferralWithParties {
        ReferralWithParties {
            referral,
            giver,
            receiver,
            total: None,
        }
    }
}

/// Column prefixes of the six possible parties (three kinds on each side).
const PARTY_JOINS: [(&str, PartyKind, referral::Column); 6] = [
    ("gm_", PartyKind::Member, referral::Column::GiverMemberId),
    ("gf_", PartyKind::Firm, referral::Column::GiverFirmId),
    ("gc_", PartyKind::Contact, referral::Column::GiverContactId),
    ("rm_", PartyKind::Member, referral::Column::ReceiverMemberId),
    ("rf_", PartyKind::Firm, referral::Column::ReceiverFirmId),
    (
        "rc_",
        PartyKind::Contact,
        referral::Column::ReceiverContactId,
    ),
];

#[derive(Clone, Copy)]
enum PartyKind {
    Member,
    Firm,
    Contact,
}

/// Which columns of the giver and receiver a page of referrals reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyColumns {
    /// Each party's whole row (a member's without the password hash).
    All,
    /// What a list shows of a party: its id and name, and a contact's kind.
    /// The rest of each party's row is left empty, so this is for answers
    /// that read nothing else of the parties (the API decides by looking
    /// ahead at the selection).
    Names,
}

/// Which of a referral's own columns a page reads: every one, or those the
/// answer's fields need (the API decides by looking ahead at the
/// selection) together with those the page itself uses: the id, the
/// creation time (the list's order) and the six party columns (the
/// parties' look-ups, and the parties of a referral whose party row is
/// gone). A field whose column is not read is left empty (see
/// [`unread`]), so a narrowed page is for answers that read nothing else.
/// A bench member's `MyReferrals` reads 12 of the 35.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReferralColumns(u64);

impl ReferralColumns {
    pub const ALL: ReferralColumns = ReferralColumns(u64::MAX);

    /// The columns the page reads whatever the answer asks.
    const ALWAYS: [referral::Column; 8] = [
        referral::Column::Id,
        referral::Column::CreatedAt,
        referral::Column::GiverMemberId,
        referral::Column::GiverFirmId,
        referral::Column::GiverContactId,
        referral::Column::ReceiverMemberId,
        referral::Column::ReceiverFirmId,
        referral::Column::ReceiverContactId,
    ];

    /// `columns` and the ones every page reads.
    pub fn only(columns: impl IntoIterator<Item = referral::Column>) -> ReferralColumns {
        ReferralColumns(
            Self::ALWAYS
                .into_iter()
                .chain(columns)
                .fold(0, |read, column| read | column_bit(column)),
        )
    }

    /// These and `columns` (`ALL` stays `ALL`).
    pub fn and(self, columns: impl IntoIterator<Item = referral::Column>) -> ReferralColumns {
        ReferralColumns(
            columns
                .into_iter()
                .fold(self.0, |read, column| read | column_bit(column)),
        )
    }

    /// The columns read, in the order `referral::Entity::find()` selects
    /// them (the order `referral::Model::at_only` reads them in).
    fn selected(self) -> impl Iterator<Item = referral::Column> {
        referral::Column::iter().filter(move |c| self.0 & column_bit(*c) != 0)
    }
}

/// A column's bit for `referral::Model::at_only`: its place among the
/// model's fields, which is its place in the `Column` enum (the entity's
/// test checks the fields' order against `Column::iter()`).
fn column_bit(column: referral::Column) -> u64 {
    1 << (column as u32)
}

/// What a narrowed page leaves in the fields it does not read.
fn unread() -> referral::Model {
    let never = DateTime::<Utc>::UNIX_EPOCH;
    referral::Model {
        id: String::new(),
        group_id: None,
        giver_member_id: None,
        giver_firm_id: None,
        giver_contact_id: None,
        receiver_member_id: None,
        receiver_firm_id: None,
        receiver_contact_id: None,
        prospect_name: String::new(),
        prospect_email: None,
        prospect_phone: None,
        prospect_company: None,
        prospect_need: None,
        temperature: 0,
        channel: entities::Channel::Portal,
        meeting_id: None,
        ask_id: None,
        request_id: None,
        note: None,
        made_in_absence: false,
        absence_reason: None,
        inside_group: false,
        delegate_id: None,
        status: ReferralStatus::Submitted,
        closed_value_e4: None,
        business_kind: None,
        version: 0,
        follow_up_count: 0,
        unanswered_follow_ups: 0,
        next_follow_up_on: None,
        revisit_on: None,
        thanked_at: None,
        won_at: None,
        created_at: never,
        updated_at: never,
    }
}

/// The referrals `q` selects, reading only `columns` (every other field
/// left as [`unread`] leaves it): for answers that read nothing else. A
/// referral's row is 35 columns, and a list of them shown by id and one
/// field or two reads about a third of that.
pub async fn all_reading(
    db: &impl ConnectionTrait,
    q: sea_orm::Select<referral::Entity>,
    columns: ReferralColumns,
) -> DomainResult<Vec<referral::Model>> {
    use sea_orm::QueryTrait;
    if columns == ReferralColumns::ALL {
        return Ok(q.all(db).await?);
    }
    let statement = q
        .select_only()
        .columns(columns.selected())
        .build(db.get_database_backend());
    let rows = db.query_all_raw(statement).await?;
    let read = |row: &sea_orm::QueryResult| referral::Model::at_only(row, 0, columns.0, unread());
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

/// The columns a page of referrals reads, of the referrals and of their parties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageColumns {
    pub referral: ReferralColumns,
    pub parties: PartyColumns,
}

impl PageColumns {
    pub const ALL: PageColumns = PageColumns {
        referral: ReferralColumns::ALL,
        parties: PartyColumns::All,
    };
}

/// Left-joins `entity` under `alias` on `from` = its id, selecting each of
/// its columns as `alias` + column name (the password hash as '').
///
/// On PostgreSQL the join is a lateral lookup by id (`LIMIT 1` keeps the
/// planner from folding it back into a plain join). A plain join let it
/// hash a small table whole on every page: with 750 partner firms, the two
/// firm joins cost more than the rest of the statement. SQLite always looks
/// rows up by index.
fn join_party<E>(
    mut q: sea_orm::Select<referral::Entity>,
    backend: sea_orm::DbBackend,
    alias: &str,
    from: referral::Column,
    entity: E,
    id: E::Column,
) -> sea_orm::Select<referral::Entity>
where
    E: EntityTrait,
{
    use sea_orm::IdenStatic;
    use sea_orm::sea_query::{Alias, Asterisk, ExprTrait, Query};
    use sea_orm::{DbBackend, JoinType, QueryTrait, RelationDef};
    let table = Alias::new(alias.trim_end_matches('_'));
    if backend == DbBackend::Postgres {
        let lookup = Query::select()
            .column(Asterisk)
            .from(entity)
            .and_where(Expr::col((entity, id)).equals((referral::Entity, from)))
            .limit(1)
            .to_owned();
        QueryTrait::query(&mut q).join_lateral(
            JoinType::LeftJoin,
            lookup,
            table.clone(),
            Expr::cust("TRUE"),
        );
    } else {
        let rel: RelationDef = referral::Entity::belongs_to(entity)
            .from(from)
            .to(id)
            .into();
        q = q.join_as(JoinType::LeftJoin, rel, table.clone());
    }
    for column in E::Column::iter() {
        let name = column.as_str();
        q = if name == "password_hash" {
            q.column_as(Expr::val(""), format!("{alias}{name}"))
        } else {
            q.column_as(Expr::col((table.clone(), column)), format!("{alias}{name}"))
        };
    }
    q
}

/// For `PartyColumns::Names`: the party `from` names, as columns `alias` +
/// "id" (`from` itself), + "name" and, for a contact, + "kind", each looked
/// up by a scalar subquery that runs only when `from` is set. A referral
/// has one party of three kinds on each side, so a row runs two look-ups
/// (three with a contact, for its kind), not six joins: PostgreSQL spends about a fifth less CPU on a bench
/// member's `MyReferrals` (paired runs on the bench data); SQLite, whose
/// joins on a NULL key cost little, about the same.
fn party_names(
    q: sea_orm::Select<referral::Entity>,
    alias: &str,
    kind: PartyKind,
    from: referral::Column,
) -> sea_orm::Select<referral::Entity> {
    use entities::{contact, partner_firm};
    use sea_orm::sea_query::{Alias, ExprTrait, Query};
    use sea_orm::{EntityName, IdenStatic};
    // The typed columns' names, so a renamed column fails to compile here.
    let (table, id, name, contact_kind) = match kind {
        PartyKind::Member => (
            member::Entity.table_name(),
            member::Column::Id.as_str(),
            member::Column::Name.as_str(),
            None,
        ),
        PartyKind::Firm => (
            partner_firm::Entity.table_name(),
            partner_firm::Column::Id.as_str(),
            partner_firm::Column::Name.as_str(),
            None,
        ),
        PartyKind::Contact => (
            contact::Entity.table_name(),
            contact::Column::Id.as_str(),
            contact::Column::Name.as_str(),
            Some(contact::Column::Kind.as_str()),
        ),
    };
    let table = Alias::new(table);
    let set = Expr::col((referral::Entity, from));
    let look_up = |column: &str| -> Expr {
        let lookup = Query::select()
            .column((table.clone(), Alias::new(column)))
            .from(table.clone())
            .and_where(Expr::col((table.clone(), Alias::new(id))).equals((referral::Entity, from)))
            .to_owned();
        Expr::case(
            set.clone().is_not_null(),
            Expr::SubQuery(None, Box::new(lookup.into())),
        )
        .into()
    };
    let mut q = q
        .column_as(set.clone(), format!("{alias}id"))
        .column_as(look_up(name), format!("{alias}name"));
    if let Some(kind) = contact_kind {
        q = q.column_as(look_up(kind), format!("{alias}kind"));
    }
    q
}

/// The giver (`side` "g") or receiver ("r") of a row: the first of the
/// side's look-ups that found a row, decoded whole or, for
/// `PartyColumns::Names`, as its id and name (and a contact's kind) with
/// every other field empty.
fn party_of(
    row: &sea_orm::QueryResult,
    side: &str,
    columns: PartyColumns,
) -> Result<Option<PartyRow>, sea_orm::DbErr> {
    use entities::{contact, partner_firm};
    use sea_orm::FromQueryResult;
    for (prefix, kind, _) in PARTY_JOINS.iter().filter(|(p, _, _)| p.starts_with(side)) {
        // No party of this kind: a join that found nothing, or (names
        // only) a referral whose column for this kind is unset.
        let Some(id): Option<String> = row.try_get(prefix, "id")? else {
            continue;
        };
        if columns == PartyColumns::All {
            return Ok(Some(match kind {
                PartyKind::Member => {
                    PartyRow::Member(member::Model::from_query_result(row, prefix)?)
                }
                PartyKind::Firm => {
                    PartyRow::Firm(partner_firm::Model::from_query_result(row, prefix)?)
                }
                PartyKind::Contact => {
                    PartyRow::Contact(contact::Model::from_query_result(row, prefix)?)
                }
            }));
        }
        // The look-up found no row (the party is gone): no party.
        let Some(name): Option<String> = row.try_get(prefix, "name")? else {
            continue;
        };
        let never = DateTime::<Utc>::UNIX_EPOCH;
        return Ok(Some(match kind {
            PartyKind::Member => PartyRow::Member(crate::members::rows::named(id, name)),
            PartyKind::Firm => PartyRow::Firm(partner_firm::Model {
                id,
                name,
                group_id: String::new(),
                contact_email: None,
                created_at: never,
            }),
            PartyKind::Contact => PartyRow::Contact(contact::Model {
                id,
                name,
                kind: row.try_get(prefix, "kind")?,
                owner_id: String::new(),
                email: None,
                phone: None,
                company: None,
                nps_score: None,
                nps_on: None,
                created_at: never,
            }),
        }));
    }
    Ok(None)
}

impl ReferralWithParties {
    /// The referral's columns first, by position (the page's statement
    /// selects them first); the parties' under their look-ups' prefixes.
    fn read(row: &sea_orm::QueryResult, columns: PageColumns) -> Result<Self, sea_orm::DbErr> {
        let referral = if columns.referral == ReferralColumns::ALL {
            referral::Model::at(row, 0)?
        } else {
            referral::Model::at_only(row, 0, columns.referral.0, unread())?
        };
        Ok(ReferralWithParties {
            referral,
            giver: party_of(row, "g", columns.parties)?,
            receiver: party_of(row, "r", columns.parties)?,
            total: row.try_get::<Option<i64>>("", paging::TOTAL).ok().flatten(),
        })
    }
}

/// [`newest_first`] with each referral's giver and receiver joined in, and
/// the total counted in the same statement (a scalar subquery) only when
/// the page asks for it: a portal's page of referrals is one statement. Without
/// it the count returned is exact only up to the page: one row past it is
/// read, so the count tells whether there is a next page (see
/// [`Page::seen`]).
pub async fn newest_first_with_parties(
    db: &impl ConnectionTrait,
    q: sea_orm::Select<referral::Entity>,
    page: Page,
    columns: PageColumns,
) -> DomainResult<(Vec<ReferralWithParties>, u64)> {
    use entities::{contact, partner_firm};
    use sea_orm::sea_query::Alias;
    use sea_orm::{EntityName, QueryTrait};
    let with_total = page.with_total;
    // `first: 0`: a client asking for the count alone.
    if page.limit == 0 && with_total {
        return Ok((Vec::new(), q.count(db).await?));
    }
    let backend = db.get_database_backend();
    // The page is cut before the parties are looked up, so their look-ups
    // run for the page's rows only, not for every row the filter selects: a
    // page of 20 from a list of 800 looks up the parties of 20 rows, not of
    // 800 (EXPLAIN ANALYZE on the bench data: 3.1 ms to 0.6 ms on
    // PostgreSQL). The outer statement reads the page under the table's own
    // name, so the look-ups read it as they would the table.
    let narrowed = |q: sea_orm::Select<referral::Entity>| {
        if columns.referral == ReferralColumns::ALL {
            q
        } else {
            q.select_only().columns(columns.referral.selected())
        }
    };
    let page_rows = in_list_order(narrowed(q.clone()))
        .offset(page.offset)
        .limit(if with_total {
            page.limit
        } else {
            page.limit + 1
        })
        .into_query();
    let mut joined = narrowed(referral::Entity::find());
    QueryTrait::query(&mut joined)
        .from_clear()
        .from_subquery(page_rows, Alias::new(referral::Entity.table_name()));
    for (prefix, kind, from) in PARTY_JOINS {
        joined = match (columns.parties, kind) {
            (PartyColumns::Names, _) => party_names(joined, prefix, kind, from),
            (PartyColumns::All, PartyKind::Member) => join_party(
                joined,
                backend,
                prefix,
                from,
                member::Entity,
                member::Column::Id,
            ),
            (PartyColumns::All, PartyKind::Firm) => join_party(
                joined,
                backend,
                prefix,
                from,
                partner_firm::Entity,
                partner_firm::Column::Id,
            ),
            (PartyColumns::All, PartyKind::Contact) => join_party(
                joined,
                backend,
                prefix,
                from,
                contact::Entity,
                contact::Column::Id,
            ),
        };
    }
    if with_total {
        // The list's count as a scalar subquery (see `paging::count_of`): a
        // list of 780 on the bench data, 945 → 191 buffers and 2.1 → 1.0 ms
        // on PostgreSQL, 3.9 → 0.25 ms on SQLite, against a window count.
        joined = joined.column_as(paging::count_of(&q), paging::TOTAL);
    }
    // The outer statement keeps no order of its own: the page's order again.
    let ordered = in_list_order(joined);
    let mut rows = db
        .query_all_raw(ordered.build(backend))
        .await?
        .iter()
        .map(|row| ReferralWithParties::read(row, columns))
        .collect::<Result<Vec<_>, _>>()?;
    let total = match (with_total, rows.first()) {
        (false, _) => page.seen(&mut rows),
        (true, Some(first)) => first.total.unwrap_or(0).max(0) as u64,
        // Past the end (or nothing at all): no row came back to carry the count.
        (true, None) if page.offset == 0 => 0,
        (true, None) => q.count(db).await?,
    };
    Ok((rows, total))
}

/// One page of a member's referrals in one role (given, received, held as
/// delegate), optionally by status, newest first, with their parties
/// joined in (see [`newest_first_with_parties`]).
pub async fn list_for_member_with_parties(
    db: &impl ConnectionTrait,
    member_id: &str,
    role: ListRole,
    statuses: Option<Vec<ReferralStatus>>,
    page: Page,
    columns: PageColumns,
) -> DomainResult<(Vec<ReferralWithParties>, u64)> {
    let mut q = referral::Entity::find();
    q = match role {
        ListRole::Given => q.filter(referral::Column::GiverMemberId.eq(member_id)),
        ListRole::Received => q.filter(referral::Column::ReceiverMemberId.eq(member_id)),
        ListRole::Delegated => q.filter(delegated_condition(db, member_id, today()).await?),
    };
    if let Some(statuses) = statuses {
        q = q.filter(referral::Column::Status.is_in(statuses.iter().copied()));
    }
    newest_first_with_parties(db, q, page, columns).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::IdenStatic;

    #[test]
    fn a_columns_bit_is_its_place_among_the_models_fields() {
        for (place, column) in referral::Column::iter().enumerate() {
            assert_eq!(column_bit(column), 1 << place, "{column:?}");
        }
        assert_eq!(referral::Column::iter().count(), referral::Model::COLUMNS);
    }

    #[test]
    fn a_narrowed_page_reads_the_columns_asked_and_those_it_needs() {
        let read: Vec<_> =
            ReferralColumns::only([referral::Column::Note, referral::Column::Status])
                .selected()
                .map(|c| c.as_str())
                .collect();
        assert_eq!(
            read,
            [
                "id",
                "giver_member_id",
                "giver_firm_id",
                "giver_contact_id",
                "receiver_member_id",
                "receiver_firm_id",
                "receiver_contact_id",
                "note",
                "status",
                "created_at",
            ]
        );
        assert_eq!(
            ReferralColumns::ALL.selected().count(),
            referral::Model::COLUMNS
        );
    }
}
