//! Reward ladders, and awarding them exactly once (also under concurrent wins).

use chrono::Utc;
use domain::rewards::service::{award_tiers, progress};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, TransactionTrait};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, code, field};

async fn set_tiers(app: &TestApp, token: Option<&str>, group: &str, tiers: Value) -> Value {
    app.op(
        token,
        "SetRewardTiers",
        json!({ "groupId": group, "tiers": tiers }),
    )
    .await
}

const TIERS: &str = "query($g: ID!) { rewardTiers(groupId: $g) { threshold reward } }";

db_test!(setting_the_ladder, |app: TestApp| async move {
    let c = app.chapter(&["Mia"]).await;
    let mia = &c.members[0];
    let (_, hugo) = app.other_leader(&c.admin).await;

    let resp = set_tiers(
        &app,
        Some(&c.leader.token),
        &c.group,
        json!([
            { "threshold": 3, "reward": "Premium upgrade" },
            { "threshold": 1, "reward": " Thank-you gift " },
            { "threshold": 2, "reward": "Larger credit" },
        ]),
    )
    .await;
    let ladder = json!([
        { "threshold": 1, "reward": "Thank-you gift" },
        { "threshold": 2, "reward": "Larger credit" },
        { "threshold": 3, "reward": "Premium upgrade" },
    ]);
    assert_eq!(resp["data"]["setRewardTiers"], ladder, "{resp:#}");
    let resp = app
        .gql(Some(&mia.token), TIERS, json!({ "g": c.group }))
        .await;
    assert_eq!(resp["data"]["rewardTiers"], ladder, "{resp:#}");

    // Refused: nothing changes, the ladder included.
    let before = app.snapshot().await;
    let one = json!([{ "threshold": 1, "reward": "Gift" }]);
    let unknown = uuid::Uuid::new_v4().to_string();
    for (token, group, expected) in [
        (None, c.group.as_str(), "UNAUTHENTICATED"),
        (Some(mia.token.as_str()), &c.group, "FORBIDDEN"),
        (Some(hugo.token.as_str()), &c.group, "FORBIDDEN"),
        (Some(c.leader.token.as_str()), &unknown, "NOT_FOUND"),
    ] {
        let resp = set_tiers(&app, token, group, one.clone()).await;
        assert_eq!(code(&resp), expected, "{resp:#}");
    }
    let resp = set_tiers(&app, Some(&c.leader.token), "nope", one.clone()).await;
    assert_eq!((code(&resp), field(&resp)), ("BAD_USER_INPUT", "groupId"));
    let fifty_one: Vec<Value> = (1..=51)
        .map(|n| json!({ "threshold": n, "reward": format!("Reward {n}") }))
        .collect();
    for (tiers, expected_field) in [
        (
            json!([{ "threshold": 0, "reward": "Gift" }]),
            "tiers.0.threshold",
        ),
        (
            json!([{ "threshold": 1, "reward": "Gift" }, { "threshold": -2, "reward": "Gift" }]),
            "tiers.1.threshold",
        ),
        (
            json!([{ "threshold": 2, "reward": "Gift" }, { "threshold": 2, "reward": "Credit" }]),
            "tiers.1.threshold",
        ),
        (
            json!([{ "threshold": 1, "reward": "Gift" }, { "threshold": 2, "reward": "  " }]),
            "tiers.1.reward",
        ),
        (
            json!([{ "threshold": 1, "reward": "r".repeat(501) }]),
            "tiers.0.reward",
        ),
        (json!(fifty_one), "tiers"),
    ] {
        let resp = set_tiers(&app, Some(&c.leader.token), &c.group, tiers.clone()).await;
        assert_eq!(
            (code(&resp), field(&resp)),
            ("BAD_USER_INPUT", expected_field),
            "{tiers}: {resp:#}"
        );
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "refused mutations wrote nothing"
    );
    let resp = app
        .gql(Some(&mia.token), TIERS, json!({ "g": c.group }))
        .await;
    assert_eq!(resp["data"]["rewardTiers"], ladder);

    // Replacing swaps the whole ladder; 50 tiers is the most; empty clears it.
    let resp = set_tiers(
        &app,
        Some(&c.admin),
        &c.group,
        json!([{ "threshold": 5, "reward": "Dinner" }]),
    )
    .await;
    assert_eq!(
        resp["data"]["setRewardTiers"],
        json!([{ "threshold": 5, "reward": "Dinner" }])
    );
    assert_eq!(app.count("reward_tiers").await, 1);
    let fifty: Vec<Value> = (1..=50)
        .map(|n| json!({ "threshold": n, "reward": format!("Reward {n}") }))
        .collect();
    let resp = set_tiers(&app, Some(&c.leader.token), &c.group, json!(fifty)).await;
    assert_eq!(
        resp["data"]["setRewardTiers"].as_array().map(Vec::len),
        Some(50),
        "{resp:#}"
    );
    let resp = set_tiers(&app, Some(&c.leader.token), &c.group, json!([])).await;
    assert_eq!(resp["data"]["setRewardTiers"], json!([]), "{resp:#}");
    assert_eq!(app.count("reward_tiers").await, 0);

    // Reading: members of the group and admins.
    let resp = app
        .gql(Some(&c.admin), TIERS, json!({ "g": c.group }))
        .await;
    assert_eq!(resp["data"]["rewardTiers"], json!([]), "{resp:#}");
    for (token, group, expected) in [
        (None, c.group.as_str(), "UNAUTHENTICATED"),
        (Some(hugo.token.as_str()), &c.group, "FORBIDDEN"),
        (Some(mia.token.as_str()), &unknown, "NOT_FOUND"),
    ] {
        let resp = app.gql(token, TIERS, json!({ "g": group })).await;
        assert_eq!(code(&resp), expected, "{resp:#}");
    }
});

/// Writes a referral row directly (the referral core is not needed here).
async fn referral(
    db: &impl ConnectionTrait,
    group: &str,
    giver: &str,
    receiver: &str,
    status: &str,
) -> String {
    let now = Utc::now();
    let id = uuid::Uuid::now_v7().to_string();
    entities::referral::ActiveModel {
        id: Set(id.clone()),
        group_id: Set(Some(group.to_string())),
        giver_member_id: Set(Some(giver.to_string())),
        receiver_member_id: Set(Some(receiver.to_string())),
        prospect_name: Set("Pia Prospect".into()),
        temperature: Set(4),
        channel: Set(entities::Channel::Portal),
        made_in_absence: Set(true),
        absence_reason: Set(Some(entities::AbsenceReason::Remote)),
        inside_group: Set(true),
        status: Set(sea_orm::ActiveEnum::try_from_value(&status.to_string()).unwrap()),
        closed_value_e4: Set((status == "WON").then_some(12_500_000)),
        won_at: Set((status == "WON").then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap_or_else(|e| panic!("insert referral: {e}"));
    id
}

db_test!(tiers_are_awarded_exactly_once, |app: TestApp| async move {
    let c = app.chapter(&["Mia", "Max"]).await;
    let (mia, max) = (&c.members[0], &c.members[1]);
    let (other_group, _) = app.other_leader(&c.admin).await;
    let tiers: Vec<Value> = [
        (1, "Gift"),
        (2, "Credit"),
        (3, "Premium"),
        (5, "Dinner"),
        (8, "Trip"),
        (12, "Gold"),
    ]
    .iter()
    .map(|(t, r)| json!({ "threshold": t, "reward": r }))
    .collect();
    set_tiers(&app, Some(&c.leader.token), &c.group, json!(tiers)).await;

    // Two wins by Mia in the group; what does not count: a win elsewhere, a
    // referral not won, and Max's win.
    referral(&app.db, &c.group, &mia.id, &max.id, "WON").await;
    let second = referral(&app.db, &c.group, &mia.id, &max.id, "WON").await;
    referral(&app.db, &other_group, &mia.id, &max.id, "WON").await;
    referral(&app.db, &c.group, &mia.id, &max.id, "ACCEPTED").await;
    referral(&app.db, &c.group, &max.id, &mia.id, "WON").await;

    let none_yet = progress(&app.db, &mia.id, &c.group).await.unwrap();
    assert_eq!(none_yet.won_given, 2);
    assert!(none_yet.awards.is_empty());

    let txn = app.db.begin().await.unwrap();
    let awards = award_tiers(&txn, &mia.id, &c.group, &second, Utc::now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let summary: Vec<(i32, &str, &str, &str, &str)> = awards
        .iter()
        .map(|a| {
            (
                a.threshold,
                a.reward.as_str(),
                a.member_id.as_str(),
                a.group_id.as_str(),
                a.referral_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                1,
                "Gift",
                mia.id.as_str(),
                c.group.as_str(),
                second.as_str()
            ),
            (
                2,
                "Credit",
                mia.id.as_str(),
                c.group.as_str(),
                second.as_str()
            ),
        ]
    );
    // Nothing new the second time; Max's own win reaches his first tier.
    let txn = app.db.begin().await.unwrap();
    assert!(
        award_tiers(&txn, &mia.id, &c.group, &second, Utc::now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        award_tiers(&txn, &max.id, &c.group, &second, Utc::now())
            .await
            .unwrap()
            .len(),
        1
    );
    txn.commit().await.unwrap();
    assert_eq!(app.count("reward_awards").await, 3);

    let p = progress(&app.db, &mia.id, &c.group).await.unwrap();
    assert_eq!(p.won_given, 2);
    assert_eq!(
        p.next_tier.map(|t| (t.threshold, t.reward)),
        Some((3, "Premium".to_string()))
    );
    let reached: Vec<(i32, &str)> = p
        .awards
        .iter()
        .map(|a| (a.tier.threshold, a.tier.reward.as_str()))
        .collect();
    assert_eq!(reached, [(1, "Gift"), (2, "Credit")]);
    assert_eq!(p.awards[0].at, awards[0].awarded_at);

    // Ten wins at once, each recorded and awarded in its own transaction as
    // the referral core does. Each awarder counts the wins committed before
    // it, so every tier up to 12 is reached, and each exactly once.
    let db = app.server_db().await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (db, group, giver, receiver) =
            (db.clone(), c.group.clone(), mia.id.clone(), max.id.clone());
        tasks.push(tokio::spawn(async move {
            let txn = db.begin().await.unwrap();
            let won = referral(&txn, &group, &giver, &receiver, "WON").await;
            let awards = award_tiers(&txn, &giver, &group, &won, Utc::now())
                .await
                .unwrap();
            txn.commit().await.unwrap();
            assert!(
                awards
                    .iter()
                    .all(|a| a.referral_id == won && a.member_id == giver)
            );
            awards.into_iter().map(|a| a.threshold).collect::<Vec<_>>()
        }));
    }
    let mut awarded = Vec::new();
    for task in tasks {
        awarded.extend(task.await.expect("awarding task"));
    }
    awarded.sort();
    assert_eq!(awarded, [3, 5, 8, 12]);

    let p = progress(&app.db, &mia.id, &c.group).await.unwrap();
    assert_eq!(p.won_given, 12);
    assert_eq!(p.next_tier, None);
    // Oldest first is the order the tiers were reached in, although each
    // awarder took its time before queueing for the giver's row.
    let reached: Vec<i32> = p.awards.iter().map(|a| a.tier.threshold).collect();
    assert_eq!(reached, [1, 2, 3, 5, 8, 12]);
    assert!(p.awards.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(app.count("reward_awards").await, 7);
    // Progress is per group.
    let elsewhere = progress(&app.db, &mia.id, &other_group).await.unwrap();
    assert_eq!(
        (
            elsewhere.won_given,
            elsewhere.next_tier,
            elsewhere.awards.len()
        ),
        (1, None, 0)
    );
});
