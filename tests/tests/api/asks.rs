//! Asks: requests to a group for introductions.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, code, day, field};

async fn post(app: &TestApp, token: Option<&str>, input: Value) -> Value {
    app.op(token, "PostAsk", json!({ "input": input })).await
}

const ASKS: &str = "query($g: ID!) { asks(groupId: $g) { id text targetProfession expiresOn member { name } group { name } } }";

db_test!(posting_and_reading_asks, |app: TestApp| async move {
    let c = app.chapter(&["Mia", "Max"]).await;
    let (mia, max) = (&c.members[0], &c.members[1]);
    let (_, hugo) = app.other_leader(&c.admin).await;

    let resp = post(
        &app,
        Some(&mia.token),
        json!({ "groupId": c.group, "text": "An introduction to the facilities manager at the harbour office,\nplease.", "targetProfession": " Facilities manager ", "expiresOn": day(30) }),
    )
    .await;
    let ask = &resp["data"]["postAsk"];
    assert_eq!(
        ask,
        &json!({ "id": ask["id"], "text": "An introduction to the facilities manager at the harbour office,\nplease.", "targetProfession": "Facilities manager", "expiresOn": day(30) }),
        "{resp:#}"
    );
    let first = ask["id"].as_str().unwrap().to_string();
    // Open until further notice; and open through its last day.
    let resp = post(
        &app,
        Some(&max.token),
        json!({ "groupId": c.group, "text": "Landlords" }),
    )
    .await;
    assert_eq!(
        resp["data"]["postAsk"]["expiresOn"],
        Value::Null,
        "{resp:#}"
    );
    let second = resp["data"]["postAsk"]["id"].as_str().unwrap().to_string();
    let resp = post(
        &app,
        Some(&c.leader.token),
        json!({ "groupId": c.group, "text": "Caterers", "expiresOn": day(0) }),
    )
    .await;
    let third = resp["data"]["postAsk"]["id"].as_str().unwrap().to_string();
    // An ask that expired yesterday (it can only be written directly).
    entities::ask::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        member_id: Set(mia.id.clone()),
        group_id: Set(c.group.clone()),
        text: Set("Old news".into()),
        target_profession: Set(None),
        expires_on: Set(Some(Utc::now().date_naive() - chrono::Duration::days(1))),
        created_at: Set(Utc::now()),
    }
    .insert(&app.db)
    .await
    .unwrap();

    // Open asks, newest first, for members of the group and admins.
    for token in [&max.token, &c.admin] {
        let resp = app.gql(Some(token), ASKS, json!({ "g": c.group })).await;
        let asks = resp["data"]["asks"]
            .as_array()
            .unwrap_or_else(|| panic!("{resp:#}"));
        let ids: Vec<&str> = asks.iter().map(|a| a["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [third.as_str(), second.as_str(), first.as_str()]);
        assert_eq!(
            asks[2],
            json!({ "id": first, "text": "An introduction to the facilities manager at the harbour office,\nplease.", "targetProfession": "Facilities manager", "expiresOn": day(30), "member": { "name": "Mia" }, "group": { "name": "Harbour" } })
        );
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    for (token, group, expected) in [
        (None, c.group.as_str(), "UNAUTHENTICATED"),
        (Some(hugo.token.as_str()), &c.group, "FORBIDDEN"),
        (Some(mia.token.as_str()), &unknown, "NOT_FOUND"),
        (Some(mia.token.as_str()), "nope", "BAD_USER_INPUT"),
    ] {
        let resp = app.gql(token, ASKS, json!({ "g": group })).await;
        assert_eq!(code(&resp), expected, "{resp:#}");
    }
});

db_test!(refused_asks_write_nothing, |app: TestApp| async move {
    let c = app.chapter(&["Mia", "Eve"]).await;
    let (mia, eve) = (&c.members[0], &c.members[1]);
    app.unseat(&c.leader.token, &c.group, &eve.id, &day(0))
        .await;
    let (_, hugo) = app.other_leader(&c.admin).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let before = app.snapshot().await;
    let ok = json!({ "groupId": c.group, "text": "Landlords" });
    let with = |k: &str, v: Value| {
        let mut input = ok.clone();
        input[k] = v;
        input
    };
    for (token, input, expected) in [
        (None, ok.clone(), "UNAUTHENTICATED"),
        // Not an active member: another group's leader, a former member, and
        // an admin without a seat (an ask speaks for a member of the group).
        (Some(hugo.token.as_str()), ok.clone(), "FORBIDDEN"),
        (Some(eve.token.as_str()), ok.clone(), "FORBIDDEN"),
        (Some(c.admin.as_str()), ok.clone(), "FORBIDDEN"),
        (
            Some(mia.token.as_str()),
            with("groupId", json!(unknown)),
            "NOT_FOUND",
        ),
    ] {
        let resp = post(&app, token, input.clone()).await;
        assert_eq!(code(&resp), expected, "{input}: {resp:#}");
    }
    for (input, expected_field) in [
        (with("groupId", json!("nope")), "input.groupId"),
        (with("text", json!(" \n ")), "input.text"),
        (with("text", json!("t".repeat(1001))), "input.text"),
        (
            with("targetProfession", json!("p".repeat(121))),
            "input.targetProfession",
        ),
        (with("expiresOn", json!(day(-1))), "input.expiresOn"),
    ] {
        let resp = post(&app, Some(&mia.token), input.clone()).await;
        assert_eq!(
            (code(&resp), field(&resp)),
            ("BAD_USER_INPUT", expected_field),
            "{input}: {resp:#}"
        );
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "refused mutations wrote nothing"
    );
});
