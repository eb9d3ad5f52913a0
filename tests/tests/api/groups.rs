//! Groups, memberships, roles, exclusivity, tenure and the roster.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, code, field};

fn days_ago(n: i64) -> String {
    (Utc::now().date_naive() - Duration::days(n))
        .format("%Y-%m-%d")
        .to_string()
}

async fn create_group(app: &TestApp, admin: &str, name: &str, exclusive: bool) -> String {
    let data = app
        .ok(
            Some(admin),
            "CreateGroup",
            json!({ "input": { "name": name, "currency": "eur", "classificationExclusive": exclusive } }),
        )
        .await;
    assert_eq!(data["createGroup"]["currency"], "EUR");
    assert_eq!(data["createGroup"]["classificationExclusive"], exclusive);
    data["createGroup"]["id"].as_str().unwrap().to_string()
}

async fn seat(
    app: &TestApp,
    token: &str,
    group: &str,
    member: &str,
    role: &str,
    joined: Option<String>,
) -> Value {
    app.op(
        Some(token),
        "AddMembership",
        json!({ "input": { "groupId": group, "memberId": member, "role": role, "joinedOn": joined } }),
    )
    .await
}

db_test!(only_admins_create_groups, |app: TestApp| async move {
    let admin = app.admin().await;
    let (member, _) = app.register("m@example.com", "Mia", "Architect").await;
    let input = json!({ "input": { "name": "Harbour Chapter", "currency": "EUR" } });
    assert_eq!(
        code(&app.op(Some(&member), "CreateGroup", input.clone()).await),
        "FORBIDDEN"
    );
    assert_eq!(
        code(&app.op(None, "CreateGroup", input.clone()).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(app.count("groups").await, 0);

    for (vars, f) in [
        (
            json!({ "input": { "name": "Harbour", "currency": "EURO" } }),
            "input.currency",
        ),
        (
            json!({ "input": { "name": "Harbour", "currency": "XYZ" } }),
            "input.currency",
        ),
        (
            json!({ "input": { "name": " ", "currency": "EUR" } }),
            "input.name",
        ),
    ] {
        let resp = app.op(Some(&admin), "CreateGroup", vars).await;
        assert_eq!(code(&resp), "BAD_USER_INPUT");
        assert_eq!(field(&resp), f);
    }
    assert_eq!(app.count("groups").await, 0);

    let data = app.ok(Some(&admin), "CreateGroup", input).await;
    assert_eq!(data["createGroup"]["name"], "Harbour Chapter");
    assert_eq!(data["createGroup"]["classificationExclusive"], false);
    assert_eq!(app.count("groups").await, 1);
});

db_test!(
    leaders_manage_their_own_groups_only,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let group = create_group(&app, &admin, "Harbour", false).await;
        let other = create_group(&app, &admin, "Hilltop", false).await;
        let (leader, leader_id) = app.register("lead@example.com", "Lea", "Banker").await;
        let (member, member_id) = app.register("m@example.com", "Mia", "Architect").await;
        let (_, third_id) = app.register("t@example.com", "Tom", "Plumber").await;

        // Admins appoint leaders.
        let resp = seat(&app, &admin, &group, &leader_id, "LEADER", None).await;
        assert!(resp.get("errors").is_none(), "{resp:#}");
        assert_eq!(resp["data"]["addMembership"]["role"], "LEADER");
        assert_eq!(
            resp["data"]["addMembership"]["member"]["id"],
            json!(leader_id)
        );
        assert_eq!(resp["data"]["addMembership"]["group"]["id"], json!(group));
        assert_eq!(resp["data"]["addMembership"]["leftOn"], Value::Null);

        // The leader seats members in their group...
        let resp = seat(
            &app,
            &leader,
            &group,
            &member_id,
            "MEMBER",
            Some(days_ago(10)),
        )
        .await;
        assert_eq!(
            resp["data"]["addMembership"]["joinedOn"],
            json!(days_ago(10))
        );
        let before = app.snapshot().await;
        // ...but not in another group, not as LEADER, and plain members cannot at all.
        assert_eq!(
            code(&seat(&app, &leader, &other, &third_id, "MEMBER", None).await),
            "FORBIDDEN"
        );
        assert_eq!(
            code(&seat(&app, &leader, &group, &third_id, "LEADER", None).await),
            "FORBIDDEN"
        );
        assert_eq!(
            code(&seat(&app, &member, &group, &third_id, "MEMBER", None).await),
            "FORBIDDEN"
        );
        // Unknown ids and bad dates.
        let unknown = uuid::Uuid::new_v4().to_string();
        assert_eq!(
            code(&seat(&app, &leader, &unknown, &third_id, "MEMBER", None).await),
            "NOT_FOUND"
        );
        assert_eq!(
            code(&seat(&app, &leader, &group, &unknown, "MEMBER", None).await),
            "NOT_FOUND"
        );
        let resp = seat(&app, &leader, &group, "not-an-id", "MEMBER", None).await;
        assert_eq!(
            (code(&resp), field(&resp)),
            ("BAD_USER_INPUT", "input.memberId")
        );
        let tomorrow = (Utc::now().date_naive() + Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let resp = seat(&app, &leader, &group, &third_id, "MEMBER", Some(tomorrow)).await;
        assert_eq!(
            (code(&resp), field(&resp)),
            ("BAD_USER_INPUT", "input.joinedOn")
        );
        let resp = seat(
            &app,
            &leader,
            &group,
            &third_id,
            "MEMBER",
            Some("2026-02-30".into()),
        )
        .await;
        assert_eq!(code(&resp), "BAD_USER_INPUT");
        // A second active seat for the same member.
        assert_eq!(
            code(&seat(&app, &leader, &group, &member_id, "MEMBER", None).await),
            "CONFLICT"
        );
        assert_eq!(
            app.snapshot().await,
            before,
            "refused mutations wrote nothing"
        );
    }
);

db_test!(
    classification_exclusive_groups_refuse_a_second_profession,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let exclusive = create_group(&app, &admin, "Exclusive", true).await;
        let open = create_group(&app, &admin, "Open", false).await;
        let (_, a) = app.register("a@example.com", "Ann", "Tax Advisor").await;
        let (_, b) = app.register("b@example.com", "Bo", "tax  advisor").await;
        assert!(
            seat(&app, &admin, &exclusive, &a, "MEMBER", None)
                .await
                .get("errors")
                .is_none()
        );
        let before = app.count("memberships").await;
        let resp = seat(&app, &admin, &exclusive, &b, "MEMBER", None).await;
        assert_eq!(code(&resp), "CONFLICT");
        assert_eq!(app.count("memberships").await, before);
        // Not exclusive: both may sit.
        assert!(
            seat(&app, &admin, &open, &a, "MEMBER", None)
                .await
                .get("errors")
                .is_none()
        );
        assert!(
            seat(&app, &admin, &open, &b, "MEMBER", None)
                .await
                .get("errors")
                .is_none()
        );
        // Once the first leaves, the profession is free again.
        app.ok(
        Some(&admin),
        "EndMembership",
        json!({ "groupId": exclusive, "memberId": a, "leftOn": Utc::now().date_naive().format("%Y-%m-%d").to_string() }),
    )
    .await;
        assert!(
            seat(&app, &admin, &exclusive, &b, "MEMBER", None)
                .await
                .get("errors")
                .is_none()
        );
    }
);

db_test!(
    ending_and_rejoining_keeps_history_and_tenure,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let g1 = create_group(&app, &admin, "One", false).await;
        let g2 = create_group(&app, &admin, "Two", false).await;
        let g3 = create_group(&app, &admin, "Three", false).await;
        let (token, me) = app.register("m@example.com", "Mia", "Architect").await;

        // Two short seats ended within the last two years: group hopping.
        assert!(
            seat(&app, &admin, &g1, &me, "MEMBER", Some(days_ago(400)))
                .await
                .get("errors")
                .is_none()
        );
        let bad = app
            .op(
                Some(&admin),
                "EndMembership",
                json!({ "groupId": g1, "memberId": me, "leftOn": days_ago(401) }),
            )
            .await;
        assert_eq!((code(&bad), field(&bad)), ("BAD_USER_INPUT", "leftOn"));
        let ended = app
            .ok(
                Some(&admin),
                "EndMembership",
                json!({ "groupId": g1, "memberId": me, "leftOn": days_ago(300) }),
            )
            .await;
        assert_eq!(
            ended["endMembership"],
            json!({ "joinedOn": days_ago(400), "leftOn": days_ago(300) })
        );
        let again = app
            .op(
                Some(&admin),
                "EndMembership",
                json!({ "groupId": g1, "memberId": me, "leftOn": days_ago(1) }),
            )
            .await;
        assert_eq!(code(&again), "NOT_FOUND");

        assert!(
            seat(&app, &admin, &g2, &me, "MEMBER", Some(days_ago(250)))
                .await
                .get("errors")
                .is_none()
        );
        // A member may leave a group themself.
        app.ok(
            Some(&token),
            "EndMembership",
            json!({ "groupId": g2, "memberId": me, "leftOn": days_ago(100) }),
        )
        .await;
        // Re-joining g1 adds a new row; an overlapping start is refused.
        let overlap = seat(&app, &admin, &g1, &me, "MEMBER", Some(days_ago(350))).await;
        assert_eq!(code(&overlap), "BAD_USER_INPUT");
        assert!(
            seat(&app, &admin, &g1, &me, "MEMBER", Some(days_ago(60)))
                .await
                .get("errors")
                .is_none()
        );
        assert!(
            seat(&app, &admin, &g3, &me, "MEMBER", Some(days_ago(30)))
                .await
                .get("errors")
                .is_none()
        );

        let data = app.ok(Some(&token), "Me", json!({})).await;
        let seats = data["me"]["memberships"].as_array().unwrap();
        let summary: Vec<(String, String, Value)> = seats
            .iter()
            .map(|s| {
                (
                    s["group"]["name"].as_str().unwrap().to_string(),
                    s["joinedOn"].as_str().unwrap().to_string(),
                    s["leftOn"].clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("One".into(), days_ago(400), json!(days_ago(300))),
                ("Two".into(), days_ago(250), json!(days_ago(100))),
                ("One".into(), days_ago(60), Value::Null),
                ("Three".into(), days_ago(30), Value::Null),
            ]
        );
        // current: the longest active seat (60 days); total: 100 + 150 + 60 days.
        assert_eq!(
            data["me"]["tenure"],
            json!({ "currentDays": 60, "totalDays": 310, "groupHopping": true })
        );
    }
);

db_test!(roster_pages_and_privacy, |app: TestApp| async move {
    let admin = app.admin().await;
    let group = create_group(&app, &admin, "Harbour", false).await;
    let (leader, leader_id) = app.register("lead@example.com", "Lea", "Banker").await;
    assert!(
        seat(
            &app,
            &admin,
            &group,
            &leader_id,
            "LEADER",
            Some(days_ago(500))
        )
        .await
        .get("errors")
        .is_none()
    );
    let mut tokens = Vec::new();
    for i in 0..5 {
        let (t, id) = app
            .register(
                &format!("m{i}@example.com"),
                &format!("Member {i}"),
                &format!("Trade {i}"),
            )
            .await;
        assert!(
            seat(
                &app,
                &leader,
                &group,
                &id,
                "MEMBER",
                Some(days_ago(100 - i))
            )
            .await
            .get("errors")
            .is_none()
        );
        tokens.push(t);
    }
    let (outsider, _) = app.register("out@example.com", "Otto", "Florist").await;

    let page1 = app
        .ok(
            Some(&tokens[0]),
            "GroupRoster",
            json!({ "groupId": group, "first": 4 }),
        )
        .await;
    let members = &page1["group"]["members"];
    assert_eq!(page1["group"]["name"], "Harbour");
    assert_eq!(page1["group"]["currency"], "EUR");
    assert_eq!(members["totalCount"], 6);
    assert_eq!(members["pageInfo"]["hasNextPage"], true);
    let names: Vec<&str> = members["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["member"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lea", "Member 0", "Member 1", "Member 2"]);
    assert_eq!(members["edges"][0]["node"]["role"], "LEADER");
    let cursor = members["pageInfo"]["endCursor"].as_str().unwrap();
    let page2 = app
        .ok(
            Some(&tokens[0]),
            "GroupRoster",
            json!({ "groupId": group, "first": 4, "after": cursor }),
        )
        .await;
    let names: Vec<&str> = page2["group"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["member"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Member 3", "Member 4"]);
    assert_eq!(page2["group"]["members"]["pageInfo"]["hasNextPage"], false);

    assert_eq!(
        code(
            &app.op(Some(&outsider), "GroupRoster", json!({ "groupId": group }))
                .await
        ),
        "FORBIDDEN"
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        code(
            &app.op(
                Some(&outsider),
                "GroupRoster",
                json!({ "groupId": unknown })
            )
            .await
        ),
        "NOT_FOUND"
    );
    let too_many = app
        .op(
            Some(&tokens[0]),
            "GroupRoster",
            json!({ "groupId": group, "first": 101 }),
        )
        .await;
    assert_eq!(
        (code(&too_many), field(&too_many)),
        ("BAD_USER_INPUT", "first")
    );
    let bad_cursor = app
        .op(
            Some(&tokens[0]),
            "GroupRoster",
            json!({ "groupId": group, "after": "zzz" }),
        )
        .await;
    assert_eq!(
        (code(&bad_cursor), field(&bad_cursor)),
        ("BAD_USER_INPUT", "after")
    );

    // Fellow members see no contact details; the group's leader does.
    let q = "query($g: ID!) { group(id: $g) { members(first: 10) { edges { node { member { name email phone } } } } } }";
    let as_member = app.gql(Some(&tokens[0]), q, json!({ "g": group })).await;
    let emails: Vec<&Value> = as_member["data"]["group"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["member"]["email"])
        .collect();
    assert_eq!(
        emails.iter().filter(|e| !e.is_null()).count(),
        1,
        "only their own: {as_member:#}"
    );
    let as_leader = app.gql(Some(&leader), q, json!({ "g": group })).await;
    let emails: Vec<&Value> = as_leader["data"]["group"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["member"]["email"])
        .collect();
    assert!(emails.iter().all(|e| e.is_string()), "{as_leader:#}");
    // A fellow member's balance and memberships are not theirs to read.
    let q = "query($g: ID!) { group(id: $g) { members(first: 2) { edges { node { member { name balance { given } } } } } } }";
    let resp = app.gql(Some(&tokens[1]), q, json!({ "g": group })).await;
    assert_eq!(code(&resp), "FORBIDDEN");
});
