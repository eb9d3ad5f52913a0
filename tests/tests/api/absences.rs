//! Absences and delegates, and the look-ups the referral core makes.

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, code, day, field};

async fn declare(app: &TestApp, token: Option<&str>, input: Value) -> Value {
    app.op(token, "DeclareAbsence", json!({ "input": input }))
        .await
}

db_test!(declaring_absences, |app: TestApp| async move {
    let c = app.chapter(&["Mia", "Max", "Eve"]).await;
    let (mia, max, eve) = (&c.members[0], &c.members[1], &c.members[2]);
    app.unseat(&c.leader.token, &c.group, &eve.id, &day(0))
        .await;
    let otto = app.person("Otto", "Baker").await;

    let resp = declare(
        &app,
        Some(&mia.token),
        json!({ "from": day(0), "to": day(14), "delegateId": max.id, "note": "Sailing" }),
    )
    .await;
    let absence = &resp["data"]["declareAbsence"];
    assert_eq!(
        absence,
        &json!({ "id": absence["id"], "from": day(0), "to": day(14), "delegate": { "id": max.id, "name": "Max" } }),
        "{resp:#}"
    );
    assert!(absence["id"].is_string());
    // Declared late (started in the past), no delegate; and the longest
    // allowed: 366 days counted inclusively.
    let resp = declare(
        &app,
        Some(&mia.token),
        json!({ "from": day(-3), "to": day(2) }),
    )
    .await;
    assert_eq!(
        resp["data"]["declareAbsence"]["delegate"],
        Value::Null,
        "{resp:#}"
    );
    let resp = declare(
        &app,
        Some(&max.token),
        json!({ "from": day(30), "to": day(395) }),
    )
    .await;
    assert_eq!(
        resp["data"]["declareAbsence"]["to"],
        json!(day(395)),
        "{resp:#}"
    );
    assert_eq!(app.count("absences").await, 3);

    let before = app.snapshot().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let cases: Vec<(Option<&str>, Value, &str, Option<&str>)> = vec![
        (
            None,
            json!({ "from": day(0), "to": day(1) }),
            "UNAUTHENTICATED",
            None,
        ),
        (
            Some(&mia.token),
            json!({ "from": day(3), "to": day(2) }),
            "BAD_USER_INPUT",
            Some("input.to"),
        ),
        (
            Some(&mia.token),
            json!({ "from": day(30), "to": day(396) }),
            "BAD_USER_INPUT",
            Some("input.to"),
        ),
        (
            Some(&mia.token),
            json!({ "from": day(-10), "to": day(-1) }),
            "BAD_USER_INPUT",
            Some("input.to"),
        ),
        (
            Some(&mia.token),
            json!({ "from": day(0), "to": day(1), "delegateId": "nope" }),
            "BAD_USER_INPUT",
            Some("input.delegateId"),
        ),
        (
            Some(&mia.token),
            json!({ "from": day(0), "to": day(1), "delegateId": mia.id }),
            "BAD_USER_INPUT",
            Some("input.delegateId"),
        ),
        (
            Some(&mia.token),
            json!({ "from": day(0), "to": day(1), "delegateId": unknown }),
            "NOT_FOUND",
            None,
        ),
        // A delegate must share an active group: never did, or no longer does.
        (
            Some(&mia.token),
            json!({ "from": day(0), "to": day(1), "delegateId": otto.id }),
            "BAD_USER_INPUT",
            Some("input.delegateId"),
        ),
        (
            Some(&mia.token),
            json!({ "from": day(0), "to": day(1), "delegateId": eve.id }),
            "BAD_USER_INPUT",
            Some("input.delegateId"),
        ),
        (
            Some(&otto.token),
            json!({ "from": day(0), "to": day(1), "delegateId": mia.id }),
            "BAD_USER_INPUT",
            Some("input.delegateId"),
        ),
        (
            Some(&mia.token),
            json!({ "from": day(0), "to": day(1), "note": "n".repeat(2001) }),
            "BAD_USER_INPUT",
            Some("input.note"),
        ),
        (
            Some(&mia.token),
            json!({ "from": day(0), "to": "2026-13-01" }),
            "BAD_USER_INPUT",
            None,
        ),
    ];
    for (token, input, expected, expected_field) in cases {
        let resp = declare(&app, token, input.clone()).await;
        assert_eq!(code(&resp), expected, "{input}: {resp:#}");
        if let Some(f) = expected_field {
            assert_eq!(field(&resp), f, "{input}");
        }
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "refused mutations wrote nothing"
    );

    // The caller's own absences, latest start first.
    let q = "{ myAbsences { from to note delegate { name } member { name } } }";
    let resp = app.gql(Some(&mia.token), q, json!({})).await;
    assert_eq!(
        resp["data"]["myAbsences"],
        json!([
            { "from": day(0), "to": day(14), "note": "Sailing", "delegate": { "name": "Max" }, "member": { "name": "Mia" } },
            { "from": day(-3), "to": day(2), "note": null, "delegate": null, "member": { "name": "Mia" } },
        ]),
        "{resp:#}"
    );
    let resp = app.gql(Some(&otto.token), q, json!({})).await;
    assert_eq!(resp["data"]["myAbsences"], json!([]));
    assert_eq!(code(&app.gql(None, q, json!({})).await), "UNAUTHENTICATED");
});
