//! Many clients at once: lost updates, and balances and reward tiers that
//! still add up after a burst of giving, advancing, withdrawing and winning
//! in parallel (recounted from the referral rows themselves).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use entities::enums::{EventKind, ReferralStatus};
use entities::{referral, referral_event, reward_award};
use futures_util::future::join_all;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::db_test;
use crate::fixtures::{chapter, give, give_vars};
use crate::helpers::{TestApp, code};
use crate::partners::{firm, submit_vars, token};

db_test!(
    twenty_writers_on_one_referral_one_wins,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        let id = give(&app, giver, &receiver.id).await;
        // Twenty clients move it from version 1 at once, to either of the
        // two moves SUBMITTED allows.
        let tries = (0..20).map(|i| {
            let status = if i % 2 == 0 { "ACCEPTED" } else { "DECLINED" };
            app.op(
                Some(&receiver.token),
                "AdvanceReferral",
                json!({ "input": { "referralId": id, "status": status, "expectedVersion": 1 } }),
            )
        });
        let answers = join_all(tries).await;
        let won: Vec<&Value> = answers
            .iter()
            .filter(|r| r.get("errors").is_none())
            .collect();
        assert_eq!(won.len(), 1, "{answers:#?}");
        for lost in answers.iter().filter(|r| r.get("errors").is_some()) {
            assert_eq!(code(lost), "CONFLICT", "{lost:#}");
            assert!(lost["data"].is_null() || lost["data"]["advanceReferral"].is_null());
        }
        let winner = won[0]["data"]["advanceReferral"]["status"]
            .as_str()
            .unwrap()
            .to_string();
        let row = referral::Entity::find_by_id(id.clone())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.version, 2);
        assert_eq!(status_name(row.status), winner);
        let moves: Vec<_> = events_of(&app, &id)
            .await
            .into_iter()
            .filter(|e| e.kind == EventKind::StatusChanged)
            .collect();
        assert_eq!(moves.len(), 1, "one entry per accepted move");
        assert_eq!(moves[0].to_status.map(status_name), Some(winner));
    }
);

async fn events_of(app: &TestApp, referral_id: &str) -> Vec<referral_event::Model> {
    use sea_orm::{ColumnTrait, QueryFilter};
    referral_event::Entity::find()
        .filter(referral_event::Column::ReferralId.eq(referral_id))
        .all(&app.db)
        .await
        .unwrap()
}

fn status_name(status: ReferralStatus) -> String {
    sea_orm::ActiveEnum::to_value(&status)
}

/// Money as the API prints it, from stored ten-thousandths (whole units here).
fn money(e4: i64) -> String {
    assert_eq!(e4 % 10_000, 0, "the test uses whole amounts");
    format!("{}.00", e4 / 10_000)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    given: i64,
    received: i64,
    given_value: i64,
    received_value: i64,
}

impl Tally {
    fn json(&self) -> Value {
        json!({
            "given": self.given,
            "received": self.received,
            "givenValue": money(self.given_value),
            "receivedValue": money(self.received_value),
            "net": self.given - self.received,
        })
    }
}

/// One party of a referral, as the recount keys it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Party {
    Member(String),
    Firm(String),
}

fn parties(r: &referral::Model) -> (Party, Party) {
    let giver = match (&r.giver_member_id, &r.giver_firm_id) {
        (Some(m), _) => Party::Member(m.clone()),
        (None, Some(f)) => Party::Firm(f.clone()),
        _ => panic!("the test gives only between members and firms"),
    };
    let receiver = match (&r.receiver_member_id, &r.receiver_firm_id) {
        (Some(m), _) => Party::Member(m.clone()),
        (None, Some(f)) => Party::Firm(f.clone()),
        _ => panic!("the test gives only between members and firms"),
    };
    (giver, receiver)
}

/// What a receiver does with one referral: a path of moves, each tried once.
fn path(i: usize) -> Vec<(&'static str, Option<String>)> {
    let value = Some(format!("{}", 100 * (i + 1)));
    match i % 5 {
        // Declined at once.
        4 => vec![("DECLINED", None)],
        // Accepted, then lost.
        3 => vec![("ACCEPTED", None), ("CONTACTED", None), ("LOST", None)],
        _ => vec![("ACCEPTED", None), ("CONTACTED", None), ("WON", value)],
    }
}

/// Runs `moves` in order with `token`, stopping at the first refusal, which
/// must be one a racing client may see.
async fn walk(
    app: &TestApp,
    token: &str,
    operation: &str,
    id: &str,
    moves: &[(&str, Option<String>)],
) {
    for (status, value) in moves {
        let r = app
            .op(
                Some(token),
                operation,
                json!({ "input": { "referralId": id, "status": status, "closedValue": value } }),
            )
            .await;
        if r.get("errors").is_some() {
            assert!(
                ["CONFLICT", "INVALID_TRANSITION"].contains(&code(&r)),
                "{operation} {status} on {id}: {r:#}"
            );
            return;
        }
    }
}

db_test!(
    balances_and_rewards_add_up_after_a_burst,
    |app: TestApp| async move {
        let c = chapter(&app, 5).await;
        let members = &c.members;
        let bank = firm(&app, &c, "Harbour Bank").await;
        let bank_writes = token(&app, &c.leader.token, &bank, &["REFERRALS_WRITE"]).await;
        let bank_reads = token(&app, &c.leader.token, &bank, &["REFERRALS_READ"]).await;
        app.ok(
            Some(&c.leader.token),
            "SetRewardTiers",
            json!({ "groupId": c.group, "tiers": [
                { "threshold": 1, "reward": "Coffee on us" },
                { "threshold": 2, "reward": "Free lunch" },
                { "threshold": 4, "reward": "Premium upgrade" },
            ]}),
        )
        .await;
        for owner in members {
            for other in members.iter().filter(|m| m.id != owner.id) {
                app.ok(
                    Some(&owner.token),
                    "AddPartnership",
                    json!({ "input": { "memberId": other.id } }),
                )
                .await;
            }
        }

        // Phase 1, all at once: each member gives four referrals (to the
        // next members round the table, and one to the bank); the bank
        // submits one to each member.
        let mut gifts = Vec::new();
        for (i, giver) in members.iter().enumerate() {
            for k in 1..=4 {
                let receiver = if k == 4 {
                    bank.clone()
                } else {
                    members[(i + k) % members.len()].id.clone()
                };
                gifts.push((
                    giver.token.clone(),
                    "GiveReferral",
                    give_vars(&receiver, "PORTAL", None),
                ));
            }
        }
        for (i, m) in members.iter().enumerate() {
            gifts.push((
                bank_writes.clone(),
                "SubmitReferral",
                submit_vars(&m.id, &format!("burst-{i}")),
            ));
        }
        let given = join_all(
            gifts
                .iter()
                .map(|(t, op, vars)| app.op(Some(t), op, vars.clone())),
        )
        .await;
        for r in &given {
            assert!(r.get("errors").is_none(), "{r:#}");
        }
        let rows = referral::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(rows.len(), gifts.len());

        // Phase 2, all at once: receivers walk their referrals along a path;
        // every third referral has a second client racing to win it; some
        // givers withdraw, alone or racing the receiver.
        let token_of: HashMap<String, String> = members
            .iter()
            .map(|m| (m.id.clone(), m.token.clone()))
            .collect();
        let mut work = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let (giver, receiver) = parties(r);
            let (receiver_token, op) = match &receiver {
                Party::Member(m) => (token_of[m].clone(), "AdvanceReferral"),
                Party::Firm(_) => (bank_writes.clone(), "PartnerAdvance"),
            };
            let giver_token = match &giver {
                Party::Member(m) => token_of[m].clone(),
                Party::Firm(_) => bank_writes.clone(),
            };
            let giver_op = match &giver {
                Party::Member(_) => "AdvanceReferral",
                Party::Firm(_) => "PartnerAdvance",
            };
            let withdraw = (
                giver_token,
                giver_op,
                r.id.clone(),
                vec![("WITHDRAWN", None)],
            );
            if i % 8 == 1 {
                // The giver thinks better of it before anyone else acts.
                work.push(withdraw);
                continue;
            }
            work.push((receiver_token.clone(), op, r.id.clone(), path(i)));
            if i % 3 == 0 {
                work.push((receiver_token, op, r.id.clone(), path(0)));
            }
            if i % 8 == 5 {
                work.push(withdraw);
            }
        }
        join_all(
            work.iter()
                .map(|(t, op, id, moves)| walk(&app, t, op, id, moves)),
        )
        .await;

        // The recount, from the rows.
        let rows = referral::Entity::find().all(&app.db).await.unwrap();
        let mut per_party: BTreeMap<Party, Tally> = BTreeMap::new();
        let mut per_pair: BTreeMap<(Party, Party), Tally> = BTreeMap::new();
        let mut wins_given: BTreeMap<String, i64> = BTreeMap::new();
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        for r in &rows {
            *statuses.entry(status_name(r.status)).or_default() += 1;
            // Every accepted move left exactly one history entry.
            let moves = events_of(&app, &r.id)
                .await
                .into_iter()
                .filter(|e| e.kind == EventKind::StatusChanged)
                .count();
            assert_eq!(moves as i32, r.version - 1, "history of {}", r.id);
            if r.status == ReferralStatus::Withdrawn {
                continue;
            }
            let value = if r.status == ReferralStatus::Won {
                r.closed_value_e4.expect("a WON referral has a value")
            } else {
                0
            };
            let (giver, receiver) = parties(r);
            let g = per_party.entry(giver.clone()).or_default();
            g.given += 1;
            g.given_value += value;
            let rcv = per_party.entry(receiver.clone()).or_default();
            rcv.received += 1;
            rcv.received_value += value;
            let pair = per_pair
                .entry((giver.clone(), receiver.clone()))
                .or_default();
            pair.given += 1;
            pair.given_value += value;
            let back = per_pair.entry((receiver, giver.clone())).or_default();
            back.received += 1;
            back.received_value += value;
            if let (Party::Member(m), ReferralStatus::Won) = (&giver, r.status) {
                *wins_given.entry(m.clone()).or_default() += 1;
            }
        }
        // The burst really exercised every ending.
        for status in ["WON", "LOST", "DECLINED", "WITHDRAWN"] {
            assert!(statuses.get(status).is_some_and(|n| *n > 0), "{statuses:?}");
        }

        for m in members {
            let me = app.ok(Some(&m.token), "Me", json!({})).await;
            let expected = per_party
                .get(&Party::Member(m.id.clone()))
                .copied()
                .unwrap_or_default();
            assert_eq!(me["me"]["balance"], expected.json(), "member {}", m.id);

            let partnerships = app
                .ok(Some(&m.token), "MyPartnerships", json!({ "first": 10 }))
                .await;
            let edges = partnerships["me"]["partnerships"]["edges"]
                .as_array()
                .unwrap();
            assert_eq!(edges.len(), members.len() - 1);
            for edge in edges {
                let other = edge["node"]["partner"]["id"].as_str().unwrap().to_string();
                let expected = per_pair
                    .get(&(Party::Member(m.id.clone()), Party::Member(other.clone())))
                    .copied()
                    .unwrap_or_default();
                assert_eq!(
                    edge["node"]["balance"],
                    expected.json(),
                    "{} with {other}",
                    m.id
                );
            }
        }
        let bank_expected = per_party[&Party::Firm(bank.clone())].json();
        let firms = app
            .ok(
                Some(&c.leader.token),
                "PartnerFirms",
                json!({ "groupId": c.group }),
            )
            .await;
        let listed = firms["group"]["partnerFirms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == json!(bank))
            .expect("the bank is listed");
        assert_eq!(listed["balance"], bank_expected);
        let own = app
            .ok(Some(&bank_reads), "PartnerReferrals", json!({ "first": 1 }))
            .await;
        assert_eq!(own["partnerFirm"]["balance"], bank_expected);

        // Each tier a giver reached was awarded once, and no other.
        let tiers = [1, 2, 4];
        let awards = reward_award::Entity::find().all(&app.db).await.unwrap();
        let mut seen = BTreeSet::new();
        for a in &awards {
            assert!(
                seen.insert((a.member_id.clone(), a.threshold)),
                "awarded twice: {a:?}"
            );
        }
        let expected: BTreeSet<(String, i32)> = wins_given
            .iter()
            .flat_map(|(m, wins)| {
                tiers
                    .iter()
                    .filter(move |t| i64::from(**t) <= *wins)
                    .map(move |t| (m.clone(), *t))
            })
            .collect();
        assert_eq!(seen, expected);
        assert!(!expected.is_empty(), "some giver reached a tier");
    }
);
