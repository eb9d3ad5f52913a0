//! Whom a member should ask for referrals next. Candidates are the member's
//! active partners (members and contacts) and their CLIENT and PROFESSIONAL
//! contacts. Never suggested: a contact whose latest NPS is below 5, anyone
//! asked within the re-ask delay, a member who joined the shared group
//! under 30 days ago (or who no longer shares one). Promoters and partners
//! the member has given to in the last year come first; within that, a score from NPS,
//! reciprocity, tenure and earlier answers. Each suggestion says why.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, Utc};
use entities::{
    ContactKind, RequestResponse, contact, group, membership, partnership, referral_request,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::reciprocity::{Exchange, Party, WINDOW_DAYS, exchanges, first_arg};
use crate::caller::Caller;
use crate::contacts::service::NpsClass;
use crate::error::DomainResult;
use crate::groups::settings::DEFAULT_REASK_DAYS;
use crate::requests::service::{Asked, too_unhappy_to_ask};

/// A member is asked only after this many days in the shared group.
pub const NEW_MEMBER_DAYS: i64 = 30;

#[derive(Debug, Clone)]
pub struct Suggestion {
    pub partner: Asked,
    pub reason: String,
}

/// What is known about one candidate.
#[derive(Debug, Default)]
struct Candidate {
    name: String,
    nps: Option<i32>,
    partner_since: Option<NaiveDate>,
    /// Members: the longest-held shared active seat's joining day.
    seated_since: Option<NaiveDate>,
    reask_days: i64,
    exchange: Exchange,
    last_request: Option<referral_request::Model>,
}

impl Candidate {
    fn first_tier(&self) -> bool {
        self.nps
            .is_some_and(|s| NpsClass::of(s) == NpsClass::Promoter)
            || (self.partner_since.is_some() && self.exchange.given_to > 0)
    }

    fn score(&self) -> i64 {
        let nps = match self.nps.map(NpsClass::of) {
            Some(NpsClass::Promoter) => 3,
            Some(NpsClass::Passive) => 1,
            Some(NpsClass::Detractor) => -1,
            None => 0,
        };
        let given = self.exchange.given_to.min(5);
        let tenure = self.partner_since.map_or(0, |s| {
            i64::from((Utc::now().date_naive() - s).num_days() >= 365)
        });
        let answered = match self.last_request.as_ref().and_then(|r| r.response) {
            Some(RequestResponse::Yes) => 2,
            Some(RequestResponse::No) => -2,
            _ => 0,
        };
        nps + given + tenure + answered
    }

    fn reason(&self, today: NaiveDate) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(s) = self.nps {
            parts.push(match NpsClass::of(s) {
                NpsClass::Promoter => format!("a promoter (NPS {s})"),
                NpsClass::Passive => format!("a passive (NPS {s})"),
                NpsClass::Detractor => format!("lukewarm (NPS {s})"),
            });
        }
        let (g, r) = (self.exchange.given_to, self.exchange.received_from);
        match (g, r) {
            (0, 0) => parts.push("no referrals either way in the last year".into()),
            (g, 0) => parts.push(format!(
                "you gave them {} in the last year",
                plural(g, "referral")
            )),
            (0, r) => parts.push(format!(
                "they gave you {} in the last year",
                plural(r, "referral")
            )),
            (g, r) => parts.push(format!(
                "you gave them {} and they gave you {r} in the last year",
                plural(g, "referral")
            )),
        }
        if let Some(since) = self.partner_since {
            parts.push(format!(
                "your partner for {}",
                span((today - since).num_days())
            ));
        } else if let Some(since) = self.seated_since {
            parts.push(format!(
                "in your group for {}",
                span((today - since).num_days())
            ));
        }
        parts.push(match &self.last_request {
            None => "you have not asked them yet".into(),
            Some(r) => match r.response {
                Some(RequestResponse::Yes) => {
                    format!("they said yes when you last asked ({})", r.asked_on)
                }
                Some(RequestResponse::NotNow) => {
                    let on = r.answered_on.unwrap_or(r.asked_on);
                    match r.circle_back_on {
                        Some(back) if back > today => {
                            format!("they said not now on {on}; circle back from {back}")
                        }
                        _ => format!("they said not now on {on}; time to circle back"),
                    }
                }
                Some(RequestResponse::No) => {
                    format!("they said no when you last asked ({})", r.asked_on)
                }
                None => format!("no answer yet to your request of {}", r.asked_on),
            },
        });
        let text = parts.join("; ");
        let mut chars = text.chars();
        match chars.next() {
            Some(c) => c.to_uppercase().chain(chars).collect::<String>() + ".",
            None => text,
        }
    }
}

fn plural(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Days in plain words: days under two months, then months, then years.
fn span(days: i64) -> String {
    match days {
        d if d < 60 => plural(d.max(0), "day"),
        d if d < 730 => plural(d / 30, "month"),
        d => plural(d / 365, "year"),
    }
}

pub async fn who_to_ask(
    db: &impl ConnectionTrait,
    caller: &Caller,
    first: Option<i32>,
) -> DomainResult<Vec<Suggestion>> {
    let me = caller.member()?;
    let first = first_arg(first)? as usize;
    let now = Utc::now();
    let today = now.date_naive();
    let mut candidates: HashMap<Asked, Candidate> = HashMap::new();

    // Active partners.
    let partners = partnership::Entity::find()
        .filter(partnership::Column::MemberId.eq(&me.id))
        .filter(partnership::Column::EndedOn.is_null())
        .all(db)
        .await?;
    for p in partners {
        let key = match (p.partner_member_id, p.partner_contact_id) {
            (Some(m), _) => Asked::Member(m),
            (None, Some(c)) => Asked::Contact(c),
            _ => continue,
        };
        let c = candidates.entry(key).or_default();
        c.partner_since = Some(c.partner_since.map_or(p.since, |s| s.min(p.since)));
    }
    // Contacts: partners among them, and every client and professional.
    let contacts = contact::Entity::find()
        .filter(contact::Column::OwnerId.eq(&me.id))
        .all(db)
        .await?;
    let reask_contacts = crate::requests::service::reask_days_for_contacts(db, &me.id).await?;
    for k in contacts {
        let key = Asked::Contact(k.id.clone());
        let wanted = matches!(k.kind, ContactKind::Client | ContactKind::Professional)
            || candidates.contains_key(&key);
        if !wanted {
            continue;
        }
        if too_unhappy_to_ask(&k) {
            candidates.remove(&key);
            continue;
        }
        let c = candidates.entry(key).or_default();
        c.name = k.name.clone();
        c.nps = k.nps_score;
        c.reask_days = reask_contacts;
    }
    // Members: only through an active group shared for 30 days or more.
    let member_ids: Vec<String> = candidates
        .keys()
        .filter_map(|k| match k {
            Asked::Member(m) => Some(m.clone()),
            Asked::Contact(_) => None,
        })
        .collect();
    if !member_ids.is_empty() {
        let mine: Vec<membership::Model> = membership::Entity::find()
            .filter(membership::Column::MemberId.eq(&me.id))
            .filter(membership::Column::LeftOn.is_null())
            .all(db)
            .await?;
        let my_groups: Vec<String> = mine.iter().map(|s| s.group_id.clone()).collect();
        let reask: HashMap<String, i64> = group::Entity::find()
            .filter(group::Column::Id.is_in(my_groups.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|g| (g.id, i64::from(g.reask_after_days.max(1))))
            .collect();
        let theirs: Vec<membership::Model> = membership::Entity::find()
            .filter(membership::Column::MemberId.is_in(member_ids.clone()))
            .filter(membership::Column::GroupId.is_in(my_groups))
            .filter(membership::Column::LeftOn.is_null())
            .all(db)
            .await?;
        let names: HashMap<String, String> = entities::member::Entity::find()
            .select_only()
            .column(entities::member::Column::Id)
            .column(entities::member::Column::Name)
            .filter(entities::member::Column::Id.is_in(member_ids.clone()))
            .into_tuple::<(String, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        for m in member_ids {
            let seats: Vec<&membership::Model> =
                theirs.iter().filter(|s| s.member_id == m).collect();
            let seasoned = seats
                .iter()
                .map(|s| s.joined_on)
                .min()
                .filter(|j| (today - *j).num_days() >= NEW_MEMBER_DAYS);
            let key = Asked::Member(m.clone());
            let Some(seated_since) = seasoned else {
                candidates.remove(&key);
                continue;
            };
            if let Some(c) = candidates.get_mut(&key) {
                c.seated_since = Some(seated_since);
                c.reask_days = seats
                    .iter()
                    .filter_map(|s| reask.get(&s.group_id).copied())
                    .min()
                    .unwrap_or(i64::from(DEFAULT_REASK_DAYS));
                c.name = names.get(&m).cloned().unwrap_or_default();
            }
        }
    }
    candidates.remove(&Asked::Member(me.id.clone()));
    if candidates.is_empty() {
        return Ok(Vec::new());
    }

    // Earlier requests: the latest to each candidate.
    let requests = referral_request::Entity::find()
        .filter(referral_request::Column::RequesterId.eq(&me.id))
        .order_by_asc(referral_request::Column::CreatedAt)
        .order_by_asc(referral_request::Column::Id)
        .all(db)
        .await?;
    for r in requests {
        if let Some(c) = Asked::of(&r).and_then(|k| candidates.get_mut(&k)) {
            c.last_request = Some(r);
        }
    }
    candidates.retain(|_, c| {
        c.last_request
            .as_ref()
            .is_none_or(|r| today >= r.asked_on + Duration::days(c.reask_days))
    });

    // Reciprocity over the last year.
    let flows = exchanges(db, &me.id, now - Duration::days(WINDOW_DAYS)).await?;
    for (key, c) in candidates.iter_mut() {
        let party = match key {
            Asked::Member(m) => Party::Member(m.clone()),
            Asked::Contact(k) => Party::Contact(k.clone()),
        };
        if let Some(e) = flows.get(&party) {
            c.exchange = e.clone();
        }
    }

    let mut ranked: Vec<(Asked, Candidate)> = candidates.into_iter().collect();
    ranked.sort_by(|(ka, a), (kb, b)| {
        b.first_tier()
            .cmp(&a.first_tier())
            .then(b.score().cmp(&a.score()))
            .then(b.exchange.given_to.cmp(&a.exchange.given_to))
            .then(a.name.cmp(&b.name))
            .then(ka.cmp(kb))
    });
    Ok(ranked
        .into_iter()
        .take(first)
        .map(|(partner, c)| Suggestion {
            reason: c.reason(today),
            partner,
        })
        .collect())
}
