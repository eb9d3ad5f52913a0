//! Reward ladders over the API (awarding them exactly once is checked in
//! domain/tests/queries.rs).

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

db_test!(
    progress_is_for_members_of_the_group,
    |app: TestApp| async move {
        let c = app.chapter(&["Mia"]).await;
        let mia = &c.members[0];
        let (_, hugo) = app.other_leader(&c.admin).await;
        set_tiers(
            &app,
            Some(&c.leader.token),
            &c.group,
            json!([{ "threshold": 1, "reward": "Harbour cruise" }]),
        )
        .await;
        let vars = json!({ "groupId": c.group });
        // Another group's leader learns nothing of this group's ladder.
        let r = app
            .op(Some(&hugo.token), "RewardProgress", vars.clone())
            .await;
        assert_eq!(code(&r), "FORBIDDEN", "{r:#}");
        assert!(!r.to_string().contains("Harbour cruise"));
        // A member sees it, and still does after leaving: the awards stay theirs.
        let seen = app
            .ok(Some(&mia.token), "RewardProgress", vars.clone())
            .await;
        assert_eq!(
            seen["me"]["rewardProgress"]["nextTier"]["reward"],
            "Harbour cruise"
        );
        app.unseat(&c.leader.token, &c.group, &mia.id, &crate::helpers::day(0))
            .await;
        let after = app.ok(Some(&mia.token), "RewardProgress", vars).await;
        assert_eq!(after, seen);
    }
);
