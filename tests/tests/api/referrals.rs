//! The referral exchange: giving, presence and absence, delegation, the
//! lifecycle, follow-ups, thanks, balances, rewards, privacy, N+1.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::db_test;
use crate::fixtures::{advance, chapter, day, give, give_vars, win};
use crate::helpers::{TestApp, code, field, s};

fn months_from_today(n: u32) -> String {
    chrono::Utc::now()
        .date_naive()
        .checked_add_months(chrono::Months::new(n))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

db_test!(
    giving_a_referral_and_who_sees_it,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (a, b, other) = (&c.members[0], &c.members[1], &c.members[2]);
        let data = app
            .ok(
                Some(&a.token),
                "GiveReferral",
                give_vars(&b.id, "PORTAL", None),
            )
            .await;
        let r = &data["giveReferral"];
        assert_eq!(r["status"], "SUBMITTED");
        assert_eq!(r["temperature"], 4);
        assert_eq!(r["channel"], "PORTAL");
        assert_eq!(r["madeInAbsence"], true);
        assert_eq!(r["absenceReason"], "REMOTE");
        assert_eq!(r["version"], 1);
        assert_eq!(
            r["giver"],
            json!({ "__typename": "Member", "id": a.id, "name": "Member 0" })
        );
        assert_eq!(
            r["receiver"],
            json!({ "__typename": "Member", "id": b.id, "name": "Member 1" })
        );
        assert_eq!(
            r["prospect"],
            json!({ "name": "Pat Prospect", "email": "pat@prospect.example", "phone": "+1 555 0100",
                "company": "Prospect Ltd", "need": "Year-end accounts" })
        );
        let id = r["id"].as_str().unwrap();

        let given = app
            .ok(Some(&a.token), "MyReferrals", json!({ "role": "GIVEN" }))
            .await;
        assert_eq!(given["me"]["referrals"]["totalCount"], 1);
        assert_eq!(
            given["me"]["referrals"]["edges"][0]["node"]["id"],
            json!(id)
        );
        let received = app
            .ok(Some(&b.token), "MyReferrals", json!({ "role": "RECEIVED" }))
            .await;
        assert_eq!(received["me"]["referrals"]["totalCount"], 1);
        let filtered = app
            .ok(
                Some(&b.token),
                "MyReferrals",
                json!({ "role": "RECEIVED", "status": ["WON", "LOST"] }),
            )
            .await;
        assert_eq!(filtered["me"]["referrals"]["totalCount"], 0);
        assert_eq!(
            app.ok(
                Some(&other.token),
                "MyReferrals",
                json!({ "role": "RECEIVED" })
            )
            .await["me"]["referrals"]["totalCount"],
            0
        );

        let seen = app
            .ok(Some(&b.token), "Referral", json!({ "id": id }))
            .await;
        assert_eq!(seen["referral"]["events"][0]["kind"], "CREATED");
        assert_eq!(seen["referral"]["events"][0]["actor"]["id"], json!(a.id));
        assert_eq!(seen["referral"]["thanked"], false);
        // Anyone else — a fellow member, the group's leader — gets NOT_FOUND.
        for token in [&other.token, &c.leader.token] {
            assert_eq!(
                code(&app.op(Some(token), "Referral", json!({ "id": id })).await),
                "NOT_FOUND"
            );
        }
        assert_eq!(
            code(&app.op(None, "Referral", json!({ "id": id })).await),
            "UNAUTHENTICATED"
        );
        let unknown = uuid::Uuid::new_v4().to_string();
        assert_eq!(
            code(
                &app.op(Some(&a.token), "Referral", json!({ "id": unknown }))
                    .await
            ),
            "NOT_FOUND"
        );
        // Other people's referral lists are not readable either.
        let q = "query($id: ID!) { node(id: $id) { ... on Member { referrals(role: GIVEN) { totalCount } } } }";
        let resp = app.gql(Some(&b.token), q, json!({ "id": a.id })).await;
        assert_eq!(code(&resp), "FORBIDDEN");
    }
);

db_test!(
    bad_referral_input_writes_nothing,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let other_group = app.create_group(&c.admin, "Elsewhere").await;
        let (_, stranger_id) = app
            .register("s@example.com", "Sam Stranger", "Florist")
            .await;
        app.seat(&c.admin, &other_group, &stranger_id, "MEMBER", &day(-60))
            .await;
        let foreign_meeting = app
            .ok(
                Some(&c.admin),
                "ScheduleMeeting",
                json!({ "groupId": other_group, "heldOn": day(0) }),
            )
            .await["scheduleMeeting"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = app.snapshot().await;
        let with = |f: &dyn Fn(&mut Value)| {
            let mut v = give_vars(&b.id, "PORTAL", None);
            f(&mut v);
            v
        };
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                with(&|v| v["input"]["temperature"] = json!(0)),
                "BAD_USER_INPUT",
                "input.temperature",
            ),
            (
                with(&|v| v["input"]["temperature"] = json!(6)),
                "BAD_USER_INPUT",
                "input.temperature",
            ),
            (
                with(&|v| v["input"]["prospect"]["name"] = json!("  ")),
                "BAD_USER_INPUT",
                "input.prospect.name",
            ),
            (
                with(&|v| v["input"]["prospect"]["name"] = json!("x".repeat(201))),
                "BAD_USER_INPUT",
                "input.prospect.name",
            ),
            (
                with(&|v| v["input"]["prospect"]["email"] = json!("pat@")),
                "BAD_USER_INPUT",
                "input.prospect.email",
            ),
            (
                with(&|v| v["input"]["note"] = json!("x".repeat(2001))),
                "BAD_USER_INPUT",
                "input.note",
            ),
            (
                with(&|v| v["input"]["receiverId"] = json!("nope")),
                "BAD_USER_INPUT",
                "input.receiverId",
            ),
            (
                with(&|v| v["input"]["receiverId"] = json!(a.id)),
                "BAD_USER_INPUT",
                "input.receiverId",
            ),
            (
                with(&|v| v["input"]["channel"] = json!("MEETING")),
                "BAD_USER_INPUT",
                "input.meetingId",
            ),
            (
                with(&|v| v["input"]["channel"] = json!("PARTNER_API")),
                "BAD_USER_INPUT",
                "input.channel",
            ),
            (
                with(&|v| v["input"]["channel"] = json!("ONE_TO_ONE")),
                "BAD_USER_INPUT",
                "input.channel",
            ),
            (
                with(&|v| {
                    v["input"]["channel"] = json!("MEETING");
                    v["input"]["meetingId"] = json!(foreign_meeting);
                }),
                "BAD_USER_INPUT",
                "input.meetingId",
            ),
        ];
        for (vars, expected_code, expected_field) in cases {
            let resp = app.op(Some(&a.token), "GiveReferral", vars).await;
            assert_eq!(code(&resp), expected_code, "{resp:#}");
            assert_eq!(field(&resp), expected_field, "{resp:#}");
        }
        let unknown = app
            .op(
                Some(&a.token),
                "GiveReferral",
                give_vars(&uuid::Uuid::new_v4().to_string(), "PORTAL", None),
            )
            .await;
        assert_eq!(
            (code(&unknown), field(&unknown)),
            ("NOT_FOUND", "input.receiverId")
        );
        let not_shared = app
            .op(
                Some(&a.token),
                "GiveReferral",
                give_vars(&stranger_id, "PORTAL", None),
            )
            .await;
        assert_eq!(code(&not_shared), "FORBIDDEN");
        let anonymous = app
            .op(None, "GiveReferral", give_vars(&b.id, "PORTAL", None))
            .await;
        assert_eq!(code(&anonymous), "UNAUTHENTICATED");
        assert_eq!(
            app.snapshot().await,
            before,
            "refused referrals wrote nothing"
        );
    }
);

db_test!(
    a_meeting_where_one_receiver_was_absent,
    |app: TestApp| async move {
        let c = chapter(&app, 5).await;
        let giver = &c.members[0];
        let meeting = app
            .ok(
                Some(&c.leader.token),
                "ScheduleMeeting",
                json!({ "groupId": c.group, "heldOn": day(0) }),
            )
            .await["scheduleMeeting"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.ok(
        Some(&c.leader.token),
        "RecordAttendance",
        json!({ "meetingId": meeting, "entries": [
            { "memberId": giver.id, "status": "PRESENT" },
            { "memberId": c.members[1].id, "status": "PRESENT" },
            { "memberId": c.members[2].id, "status": "ABSENT" },
            { "memberId": c.members[3].id, "status": "LATE" },
            { "memberId": c.members[4].id, "status": "SUBSTITUTE", "substituteName": "Sue Stand-in" },
        ]}),
    )
    .await;
        let mut outcomes = Vec::new();
        for m in &c.members[1..] {
            let data = app
                .ok(
                    Some(&giver.token),
                    "GiveReferral",
                    give_vars(&m.id, "MEETING", Some(&meeting)),
                )
                .await;
            let r = &data["giveReferral"];
            assert_eq!(r["channel"], "MEETING");
            outcomes.push((r["madeInAbsence"].clone(), r["absenceReason"].clone()));
        }
        assert_eq!(
            outcomes,
            vec![
                (json!(false), Value::Null),
                (json!(true), json!("MISSED_MEETING")),
                (json!(false), Value::Null),
                (json!(true), json!("MISSED_MEETING")),
            ]
        );
        // Attendance not recorded counts as missed too.
        let (_, late_id) = app.register("new@example.com", "Nia New", "Optician").await;
        app.seat(&c.admin, &c.group, &late_id, "MEMBER", &day(-60))
            .await;
        let data = app
            .ok(
                Some(&giver.token),
                "GiveReferral",
                give_vars(&late_id, "MEETING", Some(&meeting)),
            )
            .await;
        assert_eq!(data["giveReferral"]["absenceReason"], "MISSED_MEETING");
    }
);

db_test!(
    one_to_one_referrals_are_in_presence,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let resp = app
            .op(
                Some(&a.token),
                "GiveReferral",
                give_vars(&b.id, "ONE_TO_ONE", None),
            )
            .await;
        assert_eq!(
            (code(&resp), field(&resp)),
            ("BAD_USER_INPUT", "input.channel")
        );
        app.one_to_one(&a.token, &b.id, &day(0)).await;
        let data = app
            .ok(
                Some(&a.token),
                "GiveReferral",
                give_vars(&b.id, "ONE_TO_ONE", None),
            )
            .await;
        assert_eq!(data["giveReferral"]["madeInAbsence"], false);
        assert_eq!(data["giveReferral"]["absenceReason"], Value::Null);
        // The one-to-one counts for the other side too.
        let data = app
            .ok(
                Some(&b.token),
                "GiveReferral",
                give_vars(&a.id, "ONE_TO_ONE", None),
            )
            .await;
        assert_eq!(data["giveReferral"]["madeInAbsence"], false);
    }
);

db_test!(an_away_member_with_a_delegate, |app: TestApp| async move {
    let c = chapter(&app, 3).await;
    let (giver, away, delegate) = (&c.members[0], &c.members[1], &c.members[2]);
    // Given before the absence: stays the receiver's alone.
    let before = give(&app, giver, &away.id).await;
    app.ok(
        Some(&away.token),
        "DeclareAbsence",
        json!({ "input": { "from": day(-1), "to": day(10), "delegateId": delegate.id, "note": "Trade fair" } }),
    )
    .await;
    let data = app
        .ok(
            Some(&giver.token),
            "GiveReferral",
            give_vars(&away.id, "PORTAL", None),
        )
        .await;
    let r = &data["giveReferral"];
    assert_eq!(r["madeInAbsence"], true);
    assert_eq!(r["absenceReason"], "AWAY");
    let id = r["id"].as_str().unwrap().to_string();

    let delegated = app
        .ok(
            Some(&delegate.token),
            "MyReferrals",
            json!({ "role": "DELEGATED" }),
        )
        .await;
    assert_eq!(delegated["me"]["referrals"]["totalCount"], 1);
    assert_eq!(
        delegated["me"]["referrals"]["edges"][0]["node"]["id"],
        json!(id)
    );
    assert_eq!(
        delegated["me"]["referrals"]["edges"][0]["node"]["receiver"]["id"],
        json!(away.id)
    );
    // The delegate sees it and moves it forward; the history says who acted.
    app.ok(Some(&delegate.token), "Referral", json!({ "id": id }))
        .await;
    let moved = advance(&app, &delegate.token, &id, "ACCEPTED", None).await;
    assert_eq!(
        moved["data"]["advanceReferral"]["status"], "ACCEPTED",
        "{moved:#}"
    );
    let history = app
        .ok(Some(&away.token), "Referral", json!({ "id": id }))
        .await;
    let events: Vec<(String, Value)> = history["referral"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["actor"]["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("CREATED".into(), json!(giver.id)),
            ("DELEGATED".into(), json!(giver.id)),
            ("STATUS_CHANGED".into(), json!(delegate.id)),
        ]
    );
    // Due follow-ups reach the delegate as well as the receiver.
    for token in [&delegate.token, &away.token] {
        let due = app
            .ok(Some(token), "DueFollowUps", json!({ "on": day(7) }))
            .await;
        assert_eq!(due["dueFollowUps"]["totalCount"], 1);
    }
    // The referral given before the absence is not the delegate's.
    assert_eq!(
        code(
            &app.op(Some(&delegate.token), "Referral", json!({ "id": before }))
                .await
        ),
        "NOT_FOUND"
    );
    // Members who are not the delegate still see nothing.
    assert_eq!(
        code(
            &app.op(Some(&c.leader.token), "Referral", json!({ "id": id }))
                .await
        ),
        "NOT_FOUND"
    );
    // The while-you-were-away inbox gathers it.
    let away_digest = app
        .ok(
            Some(&away.token),
            "WhileYouWereAway",
            json!({ "since": "2020-01-01T00:00:00Z" }),
        )
        .await;
    // Both: the one before the absence (remote) and the one during it (away).
    assert_eq!(away_digest["whileYouWereAway"]["total"], 2);
    assert_eq!(
        away_digest["whileYouWereAway"]["byReason"],
        json!([{ "reason": "AWAY", "count": 1 }, { "reason": "REMOTE", "count": 1 }])
    );
});

db_test!(the_lifecycle_rules, |app: TestApp| async move {
    let c = chapter(&app, 3).await;
    let (giver, receiver, other) = (&c.members[0], &c.members[1], &c.members[2]);
    let id = give(&app, giver, &receiver.id).await;
    let before = app.snapshot().await;
    // The giver cannot accept; the receiver cannot withdraw; strangers see nothing.
    assert_eq!(
        code(&advance(&app, &giver.token, &id, "ACCEPTED", None).await),
        "FORBIDDEN"
    );
    assert_eq!(
        code(&advance(&app, &receiver.token, &id, "WITHDRAWN", None).await),
        "FORBIDDEN"
    );
    assert_eq!(
        code(&advance(&app, &other.token, &id, "ACCEPTED", None).await),
        "NOT_FOUND"
    );
    // Not in the table: INVALID_TRANSITION.
    assert_eq!(
        code(&advance(&app, &receiver.token, &id, "WON", Some("10")).await),
        "INVALID_TRANSITION"
    );
    assert_eq!(
        code(&advance(&app, &receiver.token, &id, "CONTACTED", None).await),
        "INVALID_TRANSITION"
    );
    assert_eq!(app.snapshot().await, before, "refused moves wrote nothing");
    let unchanged = app
        .ok(Some(&receiver.token), "Referral", json!({ "id": id }))
        .await;
    assert_eq!(
        (
            &unchanged["referral"]["status"],
            &unchanged["referral"]["version"]
        ),
        (&json!("SUBMITTED"), &json!(1)),
        "refused moves changed nothing"
    );

    let mut version = 1;
    for status in ["ACCEPTED", "CONTACTED", "MEETING_SET"] {
        let r = advance(&app, &receiver.token, &id, status, None).await;
        version += 1;
        assert_eq!(r["data"]["advanceReferral"]["status"], status);
        assert_eq!(r["data"]["advanceReferral"]["version"], version);
    }
    // A stale expectedVersion is a CONFLICT.
    let stale = app
        .op(
            Some(&receiver.token),
            "AdvanceReferral",
            json!({ "input": { "referralId": id, "status": "LOST", "expectedVersion": 2 } }),
        )
        .await;
    assert_eq!(code(&stale), "CONFLICT");
    for (value, f) in [
        (None, "input.closedValue"),
        (Some("0"), "input.closedValue"),
        (Some("-5.00"), "input.closedValue"),
    ] {
        let r = advance(&app, &receiver.token, &id, "WON", value).await;
        assert_eq!((code(&r), field(&r)), ("BAD_USER_INPUT", f), "{r:#}");
    }
    let bad_money = advance(&app, &receiver.token, &id, "WON", Some("12,50")).await;
    assert_eq!(code(&bad_money), "BAD_USER_INPUT");
    let won = app
        .op(
            Some(&receiver.token),
            "AdvanceReferral",
            json!({ "input": { "referralId": id, "status": "WON", "expectedVersion": 4, "closedValue": "1250.5",
                               "businessKind": "REPEAT", "note": "Signed today" } }),
        )
        .await;
    assert_eq!(
        won["data"]["advanceReferral"],
        json!({ "id": id, "status": "WON", "version": 5, "closedValue": "1250.50" })
    );
    // WON is final.
    for status in ["LOST", "CONTACTED", "PARKED"] {
        assert_eq!(
            code(&advance(&app, &receiver.token, &id, status, None).await),
            "INVALID_TRANSITION"
        );
    }
    let q = "query($id: ID!) { referral(id: $id) { businessKind nextFollowUpOn events { kind note } } }";
    let r = app.gql(Some(&giver.token), q, json!({ "id": id })).await;
    assert_eq!(r["data"]["referral"]["businessKind"], "REPEAT");
    assert_eq!(r["data"]["referral"]["nextFollowUpOn"], Value::Null);
    assert_eq!(r["data"]["referral"]["events"].as_array().unwrap().len(), 5);
    assert_eq!(r["data"]["referral"]["events"][4]["note"], "Signed today");

    // The giver may withdraw while SUBMITTED, and only then.
    let second = give(&app, giver, &receiver.id).await;
    let w = advance(&app, &giver.token, &second, "WITHDRAWN", None).await;
    assert_eq!(w["data"]["advanceReferral"]["status"], "WITHDRAWN");
    let third = give(&app, giver, &receiver.id).await;
    advance(&app, &receiver.token, &third, "ACCEPTED", None).await;
    assert_eq!(
        code(&advance(&app, &giver.token, &third, "WITHDRAWN", None).await),
        "INVALID_TRANSITION"
    );
    let declined = give(&app, giver, &receiver.id).await;
    let d = advance(&app, &receiver.token, &declined, "DECLINED", None).await;
    assert_eq!(d["data"]["advanceReferral"]["status"], "DECLINED");
});

db_test!(
    balances_match_hand_computed_figures,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (a, b, d) = (&c.members[0], &c.members[1], &c.members[2]);
        // a → b: WON 1000.10, WON 250.05, LOST, SUBMITTED, WITHDRAWN (not counted)
        let r1 = give(&app, a, &b.id).await;
        win(&app, &b.token, &r1, "1000.10").await;
        let r2 = give(&app, a, &b.id).await;
        win(&app, &b.token, &r2, "250.05").await;
        let r3 = give(&app, a, &b.id).await;
        advance(&app, &b.token, &r3, "ACCEPTED", None).await;
        advance(&app, &b.token, &r3, "LOST", None).await;
        give(&app, a, &b.id).await;
        let r5 = give(&app, a, &b.id).await;
        advance(&app, &a.token, &r5, "WITHDRAWN", None).await;
        // b → a: WON 99.99; d → a: WON 0.01
        let r6 = give(&app, b, &a.id).await;
        win(&app, &a.token, &r6, "99.99").await;
        let r7 = give(&app, d, &a.id).await;
        win(&app, &a.token, &r7, "0.01").await;

        let bal = |v: &Value| v["me"]["balance"].clone();
        assert_eq!(
            bal(&app.ok(Some(&a.token), "Me", json!({})).await),
            json!({ "given": 4, "received": 2, "givenValue": "1250.15", "receivedValue": "100.00", "net": 2 })
        );
        assert_eq!(
            bal(&app.ok(Some(&b.token), "Me", json!({})).await),
            json!({ "given": 1, "received": 4, "givenValue": "99.99", "receivedValue": "1250.15", "net": -3 })
        );
        assert_eq!(
            bal(&app.ok(Some(&d.token), "Me", json!({})).await),
            json!({ "given": 1, "received": 0, "givenValue": "0.01", "receivedValue": "0.00", "net": 1 })
        );
        // Over a period: everything above was made today.
        let q = "query($f: Date, $t: Date) { me { balance(from: $f, to: $t) { given received givenValue net } } }";
        let today = app
            .gql(Some(&a.token), q, json!({ "f": day(0), "t": day(0) }))
            .await;
        assert_eq!(
            today["data"]["me"]["balance"],
            json!({ "given": 4, "received": 2, "givenValue": "1250.15", "net": 2 })
        );
        let last_year = app
            .gql(Some(&a.token), q, json!({ "f": day(-400), "t": day(-1) }))
            .await;
        assert_eq!(
            last_year["data"]["me"]["balance"],
            json!({ "given": 0, "received": 0, "givenValue": "0.00", "net": 0 })
        );
        let backwards = app
            .gql(Some(&a.token), q, json!({ "f": day(0), "t": day(-1) }))
            .await;
        assert_eq!(
            (code(&backwards), field(&backwards)),
            ("BAD_USER_INPUT", "to")
        );
    }
);

db_test!(
    follow_up_cadence_parks_after_four_unanswered,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        let id = give(&app, giver, &receiver.id).await;
        let early = app
            .op(
                Some(&receiver.token),
                "LogFollowUp",
                json!({ "input": { "referralId": id, "outcome": "NO_ANSWER" } }),
            )
            .await;
        assert_eq!(
            code(&early),
            "INVALID_TRANSITION",
            "no follow-ups before it is accepted"
        );
        let accepted = advance(&app, &receiver.token, &id, "ACCEPTED", None).await;
        assert!(accepted.get("errors").is_none());
        let r = app
            .ok(Some(&receiver.token), "Referral", json!({ "id": id }))
            .await;
        assert_eq!(r["referral"]["nextFollowUpOn"], json!(day(7)));
        assert_eq!(
            code(
                &app.op(
                    Some(&giver.token),
                    "LogFollowUp",
                    json!({ "input": { "referralId": id, "outcome": "NO_ANSWER" } })
                )
                .await
            ),
            "FORBIDDEN"
        );
        // Due lists: nothing today, this one in a week.
        assert_eq!(
            app.ok(Some(&receiver.token), "DueFollowUps", json!({}))
                .await["dueFollowUps"]["totalCount"],
            0
        );
        assert_eq!(
            app.ok(
                Some(&receiver.token),
                "DueFollowUps",
                json!({ "on": day(7) })
            )
            .await["dueFollowUps"]["totalCount"],
            1
        );
        for n in 1..=3 {
            let f = app
            .ok(Some(&receiver.token), "LogFollowUp", json!({ "input": { "referralId": id, "outcome": "NO_ANSWER", "note": "voicemail" } }))
            .await;
            assert_eq!(
                f["logFollowUp"],
                json!({ "id": id, "status": "ACCEPTED", "followUpCount": n, "nextFollowUpOn": day(7), "revisitOn": null })
            );
        }
        let parked = app
            .ok(
                Some(&receiver.token),
                "LogFollowUp",
                json!({ "input": { "referralId": id, "outcome": "NO_ANSWER" } }),
            )
            .await;
        let revisit = months_from_today(6);
        assert_eq!(
            parked["logFollowUp"],
            json!({ "id": id, "status": "PARKED", "followUpCount": 4, "nextFollowUpOn": null, "revisitOn": revisit })
        );
        // Parked: out of the weekly list, back on the revisit date.
        assert_eq!(
            app.ok(
                Some(&receiver.token),
                "DueFollowUps",
                json!({ "on": day(30) })
            )
            .await["dueFollowUps"]["totalCount"],
            0
        );
        let due = app
            .ok(
                Some(&receiver.token),
                "DueFollowUps",
                json!({ "on": revisit }),
            )
            .await;
        assert_eq!(due["dueFollowUps"]["edges"][0]["node"]["id"], json!(id));
        assert_eq!(due["dueFollowUps"]["edges"][0]["node"]["status"], "PARKED");

        // A response resets the streak: 3 unanswered, 1 answer, 3 more do not park.
        let other = give(&app, giver, &receiver.id).await;
        advance(&app, &receiver.token, &other, "ACCEPTED", None).await;
        for outcome in [
            "NO_ANSWER",
            "NO_ANSWER",
            "NO_ANSWER",
            "RESPONDED",
            "NO_ANSWER",
            "NO_ANSWER",
            "NO_ANSWER",
        ] {
            app.ok(
                Some(&receiver.token),
                "LogFollowUp",
                json!({ "input": { "referralId": other, "outcome": outcome } }),
            )
            .await;
        }
        let r = app
            .ok(Some(&receiver.token), "Referral", json!({ "id": other }))
            .await;
        assert_eq!(r["referral"]["status"], "ACCEPTED");
        assert_eq!(r["referral"]["followUpCount"], 7);
        // Oldest first: the parked one (due in 6 months) after the other (due in a week).
        let due = app
            .ok(
                Some(&receiver.token),
                "DueFollowUps",
                json!({ "on": revisit }),
            )
            .await;
        let order: Vec<&str> = due["dueFollowUps"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(order, [other.as_str(), id.as_str()]);
    }
);

db_test!(only_the_receiver_thanks, |app: TestApp| async move {
    let c = chapter(&app, 3).await;
    let (giver, receiver, other) = (&c.members[0], &c.members[1], &c.members[2]);
    let id = give(&app, giver, &receiver.id).await;
    assert_eq!(
        code(
            &app.op(
                Some(&giver.token),
                "ThankGiver",
                json!({ "referralId": id, "note": "me?" })
            )
            .await
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        code(
            &app.op(
                Some(&other.token),
                "ThankGiver",
                json!({ "referralId": id, "note": "hi" })
            )
            .await
        ),
        "NOT_FOUND"
    );
    let empty = app
        .op(
            Some(&receiver.token),
            "ThankGiver",
            json!({ "referralId": id, "note": " " }),
        )
        .await;
    assert_eq!((code(&empty), field(&empty)), ("BAD_USER_INPUT", "note"));
    let thanked = app
        .ok(
            Some(&receiver.token),
            "ThankGiver",
            json!({ "referralId": id, "note": "Thank you, Member 0!" }),
        )
        .await;
    assert_eq!(thanked["thankGiver"], json!({ "id": id, "thanked": true }));
    let r = app
        .ok(Some(&giver.token), "Referral", json!({ "id": id }))
        .await;
    let last = r["referral"]["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "THANKED");
    assert_eq!(last["note"], "Thank you, Member 0!");
    assert_eq!(last["actor"]["id"], json!(receiver.id));
});

db_test!(outside_referrals_and_contacts, |app: TestApp| async move {
    let c = chapter(&app, 1).await;
    let me = &c.members[0];
    let contact = app
        .ok(
            Some(&me.token),
            "AddContact",
            json!({ "input": { "name": "Carl Client", "kind": "CLIENT", "npsScore": 9 } }),
        )
        .await["addContact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let data = app
        .ok(
            Some(&me.token),
            "RecordOutsideReferral",
            json!({ "input": { "contactId": contact, "prospect": { "name": "Olga Outside" }, "temperature": 2 } }),
        )
        .await;
    assert_eq!(data["recordOutsideReferral"]["status"], "SUBMITTED");
    assert_eq!(data["recordOutsideReferral"]["madeInAbsence"], false);
    assert_eq!(
        data["recordOutsideReferral"]["giver"],
        json!({ "__typename": "Contact", "id": contact, "name": "Carl Client", "kind": "CLIENT" })
    );
    // Someone else's contact is not yours to record.
    let (other, _) = app.register("o@example.com", "Oda", "Chef").await;
    let resp = app
        .op(
            Some(&other),
            "RecordOutsideReferral",
            json!({ "input": { "contactId": contact, "prospect": { "name": "X" }, "temperature": 2 } }),
        )
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    let me_bal = app.ok(Some(&me.token), "Me", json!({})).await;
    assert_eq!(me_bal["me"]["balance"]["received"], 1);
});

db_test!(
    while_you_were_away_defaults_to_the_previous_sign_in,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (a, b, d) = (&c.members[0], &c.members[1], &c.members[2]);
        let first = give(&app, a, &b.id).await;
        let meeting = app
            .ok(
                Some(&c.leader.token),
                "ScheduleMeeting",
                json!({ "groupId": c.group, "heldOn": day(0) }),
            )
            .await["scheduleMeeting"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.ok(
            Some(&d.token),
            "GiveReferral",
            give_vars(&b.id, "MEETING", Some(&meeting)),
        )
        .await;
        // One made with b present (at a one-to-one): in the total, under no reason.
        app.one_to_one(&a.token, &b.id, &day(0)).await;
        app.ok(
            Some(&a.token),
            "GiveReferral",
            give_vars(&b.id, "ONE_TO_ONE", None),
        )
        .await;
        // b signs in again: everything since their last visit is in the inbox.
        let session = app
            .ok(
                None,
                "SignIn",
                json!({ "email": "member.1@example.com", "password": crate::helpers::PASSWORD }),
            )
            .await;
        let token = session["signIn"]["accessToken"].as_str().unwrap();
        let digest = app
            .ok(Some(token), "WhileYouWereAway", json!({ "first": 10 }))
            .await;
        let d = &digest["whileYouWereAway"];
        assert_eq!(d["total"], 3);
        assert_eq!(
            d["byReason"],
            json!([{ "reason": "MISSED_MEETING", "count": 1 }, { "reason": "REMOTE", "count": 1 }])
        );
        let edges = d["referrals"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 3);
        assert_eq!(edges[2]["node"]["id"], json!(first), "newest first");
        assert_eq!(edges[1]["node"]["giver"]["name"], "Member 2");
        assert_eq!(edges[0]["node"]["giver"]["name"], "Member 0");
        assert_eq!(edges[0]["node"]["absenceReason"], Value::Null);
        // An explicit `since` after both gives an empty inbox.
        let later = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
        let empty = app
            .ok(Some(token), "WhileYouWereAway", json!({ "since": later }))
            .await;
        assert_eq!(empty["whileYouWereAway"]["total"], 0);
        assert_eq!(empty["whileYouWereAway"]["byReason"], json!([]));
    }
);

db_test!(
    concurrent_advances_exactly_one_wins,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        let id = give(&app, giver, &receiver.id).await;
        let vars = |status: &str| json!({ "input": { "referralId": id, "status": status, "expectedVersion": 1 } });
        let (x, y) = tokio::join!(
            app.op(Some(&receiver.token), "AdvanceReferral", vars("ACCEPTED")),
            app.op(Some(&receiver.token), "AdvanceReferral", vars("DECLINED")),
        );
        let ok = [&x, &y]
            .iter()
            .filter(|r| r.get("errors").is_none())
            .count();
        assert_eq!(ok, 1, "{x:#}\n{y:#}");
        let loser = if x.get("errors").is_some() { &x } else { &y };
        assert_eq!(code(loser), "CONFLICT");
        let r = app
            .ok(Some(&receiver.token), "Referral", json!({ "id": id }))
            .await;
        assert_eq!(r["referral"]["version"], 2);
        let status_events = r["referral"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "STATUS_CHANGED")
            .count();
        assert_eq!(status_events, 1);
    }
);

db_test!(
    rewards_are_awarded_exactly_once_under_concurrent_wins,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        app.ok(
            Some(&c.leader.token),
            "SetRewardTiers",
            json!({ "groupId": c.group, "tiers": [
                { "threshold": 1, "reward": "Coffee on us" },
                { "threshold": 2, "reward": "Free lunch" },
                { "threshold": 5, "reward": "Premium upgrade" },
            ]}),
        )
        .await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            let id = give(&app, giver, &receiver.id).await;
            advance(&app, &receiver.token, &id, "ACCEPTED", None).await;
            advance(&app, &receiver.token, &id, "CONTACTED", None).await;
            ids.push(id);
        }
        // Two different referrals won at once, and the same one won twice at once.
        let won = |id: String| {
            let app = &app;
            let token = receiver.token.clone();
            async move {
                app.op(Some(&token), "AdvanceReferral", json!({ "input": { "referralId": id, "status": "WON", "closedValue": "500.00" } }))
                .await
            }
        };
        let (r1, r2, r3) = tokio::join!(
            won(ids[0].clone()),
            won(ids[1].clone()),
            won(ids[1].clone())
        );
        let succeeded = [&r1, &r2, &r3]
            .iter()
            .filter(|r| r.get("errors").is_none())
            .count();
        assert_eq!(succeeded, 2, "{r1:#}\n{r2:#}\n{r3:#}");
        let failed = [&r1, &r2, &r3]
            .into_iter()
            .find(|r| r.get("errors").is_some())
            .unwrap();
        assert!(
            ["CONFLICT", "INVALID_TRANSITION"].contains(&code(failed)),
            "{failed:#}"
        );

        let progress = app
            .ok(
                Some(&giver.token),
                "RewardProgress",
                json!({ "groupId": c.group }),
            )
            .await;
        let p = &progress["me"]["rewardProgress"];
        assert_eq!(p["wonGiven"], 2);
        assert_eq!(
            p["nextTier"],
            json!({ "threshold": 5, "reward": "Premium upgrade" })
        );
        let tiers: Vec<&Value> = p["awards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["tier"])
            .collect();
        assert_eq!(
            tiers,
            [
                &json!({ "threshold": 1, "reward": "Coffee on us" }),
                &json!({ "threshold": 2, "reward": "Free lunch" })
            ]
        );
        assert_eq!(app.count("reward_awards").await, 2);
        // A third win reaches no new tier and awards nothing more.
        win(
            &app,
            &receiver.token,
            &give(&app, giver, &receiver.id).await,
            "1.00",
        )
        .await;
        assert_eq!(app.count("reward_awards").await, 2);
    }
);

db_test!(
    a_page_of_referrals_costs_a_constant_number_of_statements,
    |app: TestApp| async move {
        let c = chapter(&app, 4).await;
        let receiver = &c.members[0];
        let q = "query { me { referrals(role: RECEIVED, first: 100) { totalCount edges { node {
        id status giver { __typename ... on Member { id name } ... on PartnerFirm { id name } ... on Contact { id name } }
        receiver { __typename ... on Member { id name } } prospect { name email } events { kind actor { __typename } } } } } } }";
        let measure = || async {
            let before = app.statements.get();
            let resp = app.gql(Some(&receiver.token), q, json!({})).await;
            assert!(resp.get("errors").is_none(), "{resp:#}");
            (
                app.statements.get() - before,
                resp["data"]["me"]["referrals"]["totalCount"]
                    .as_i64()
                    .unwrap(),
            )
        };
        for giver in &c.members[1..] {
            give(&app, giver, &receiver.id).await;
        }
        let (small, n) = measure().await;
        assert_eq!(n, 3);
        for i in 0..60 {
            give(&app, &c.members[1 + i % 3], &receiver.id).await;
        }
        // Batching may split a batch when the machine is busy (the loader's
        // wait ends before every row has asked), so the page is read three
        // times and the cheapest read counts: 60 more rows must not mean
        // statements per row (N+1 would add 60+; a split batch adds a few).
        let mut large = u64::MAX;
        for _ in 0..3 {
            let (spent, n) = measure().await;
            assert_eq!(n, 63);
            large = large.min(spent);
        }
        assert!(
            large <= small + 8,
            "statements grew with the page: {small} for 3 rows, {large} for 63"
        );
        assert!(large <= 20, "{large} statements for one page");
    }
);

db_test!(
    node_finds_every_kind_its_caller_may_see,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (a, b, stranger) = (&c.members[0], &c.members[1], &c.members[2]);
        let referral = give(&app, a, &b.id).await;
        let meeting = app
            .ok(
                Some(&c.leader.token),
                "ScheduleMeeting",
                json!({ "groupId": c.group, "heldOn": day(0) }),
            )
            .await["scheduleMeeting"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let contact = app
            .ok(
                Some(&a.token),
                "AddContact",
                json!({ "input": { "name": "Carl", "kind": "CLIENT" } }),
            )
            .await["addContact"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let partnership = app
            .ok(
                Some(&a.token),
                "AddPartnership",
                json!({ "input": { "memberId": b.id } }),
            )
            .await["addPartnership"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let absence = app
            .ok(
                Some(&a.token),
                "DeclareAbsence",
                json!({ "input": { "from": day(1), "to": day(2) } }),
            )
            .await["declareAbsence"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let q = "query($id: ID!) { node(id: $id) { __typename id } }";
        for (id, typename, owner_sees, stranger_sees) in [
            (&referral, "Referral", true, false),
            (&meeting, "Meeting", true, true),
            (&contact, "Contact", true, false),
            (&partnership, "Partnership", true, false),
            (&absence, "Absence", true, false),
        ] {
            let mine = app.gql(Some(&a.token), q, json!({ "id": id })).await;
            if owner_sees {
                assert_eq!(
                    mine["data"]["node"],
                    json!({ "__typename": typename, "id": id }),
                    "{mine:#}"
                );
            }
            let theirs = app.gql(Some(&stranger.token), q, json!({ "id": id })).await;
            if stranger_sees {
                assert_eq!(theirs["data"]["node"]["__typename"], typename);
            } else {
                assert_eq!(
                    theirs["data"]["node"],
                    Value::Null,
                    "{typename} leaked: {theirs:#}"
                );
            }
        }
    }
);

db_test!(
    a_replaced_or_giving_delegate_holds_nothing,
    |app: TestApp| async move {
        let c = chapter(&app, 4).await;
        let (giver, away, first_delegate, second_delegate) =
            (&c.members[0], &c.members[1], &c.members[2], &c.members[3]);
        app.ok(
            Some(&away.token),
            "DeclareAbsence",
            json!({ "input": { "from": day(0), "to": day(5), "delegateId": first_delegate.id } }),
        )
        .await;
        let id = give(&app, giver, &away.id).await;
        let held = |token: String| {
            let app = &app;
            async move {
                app.ok(Some(&token), "MyReferrals", json!({ "role": "DELEGATED" }))
                    .await["me"]["referrals"]["totalCount"]
                    .as_i64()
                    .unwrap()
            }
        };
        assert_eq!(held(first_delegate.token.clone()).await, 1);
        // A newer absence names someone else: the first delegate loses the referral everywhere.
        app.ok(
            Some(&away.token),
            "DeclareAbsence",
            json!({ "input": { "from": day(0), "to": day(3), "delegateId": second_delegate.id } }),
        )
        .await;
        assert_eq!(held(first_delegate.token.clone()).await, 0);
        assert_eq!(
            code(
                &app.op(Some(&first_delegate.token), "Referral", json!({ "id": id }))
                    .await
            ),
            "NOT_FOUND"
        );
        let due = app
            .ok(
                Some(&first_delegate.token),
                "DueFollowUps",
                json!({ "on": day(30) }),
            )
            .await;
        assert_eq!(due["dueFollowUps"]["totalCount"], 0);

        // A delegate who gives the away member a referral does not hold it.
        let own = give(&app, second_delegate, &away.id).await;
        let r = app
            .ok(
                Some(&second_delegate.token),
                "Referral",
                json!({ "id": own }),
            )
            .await;
        assert_eq!(
            r["referral"]["events"].as_array().unwrap().len(),
            1,
            "no DELEGATED event: {r:#}"
        );
        assert_eq!(
            code(&advance(&app, &second_delegate.token, &own, "ACCEPTED", None).await),
            "FORBIDDEN"
        );
        assert_eq!(
            code(
                &app.op(
                    Some(&second_delegate.token),
                    "ThankGiver",
                    json!({ "referralId": own, "note": "me" })
                )
                .await
            ),
            "FORBIDDEN"
        );
    }
);

db_test!(
    parked_referrals_come_back_or_close,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        let id = give(&app, giver, &receiver.id).await;
        for s in ["ACCEPTED", "PARKED"] {
            assert!(
                advance(&app, &receiver.token, &id, s, None)
                    .await
                    .get("errors")
                    .is_none()
            );
        }
        assert_eq!(
            code(&advance(&app, &receiver.token, &id, "WON", Some("5")).await),
            "INVALID_TRANSITION"
        );
        let back = advance(&app, &receiver.token, &id, "CONTACTED", None).await;
        assert_eq!(back["data"]["advanceReferral"]["status"], "CONTACTED");
        let r = app
            .ok(Some(&receiver.token), "Referral", json!({ "id": id }))
            .await;
        assert_eq!(r["referral"]["revisitOn"], Value::Null);
        assert_eq!(r["referral"]["nextFollowUpOn"], json!(day(7)));
        assert!(
            advance(&app, &receiver.token, &id, "PARKED", None)
                .await
                .get("errors")
                .is_none()
        );
        let lost = advance(&app, &receiver.token, &id, "LOST", None).await;
        assert_eq!(lost["data"]["advanceReferral"]["status"], "LOST");
        // Thanks for a withdrawn referral make no sense.
        let w = give(&app, giver, &receiver.id).await;
        advance(&app, &giver.token, &w, "WITHDRAWN", None).await;
        assert_eq!(
            code(
                &app.op(
                    Some(&receiver.token),
                    "ThankGiver",
                    json!({ "referralId": w, "note": "hm" })
                )
                .await
            ),
            "INVALID_TRANSITION"
        );
    }
);

db_test!(
    a_page_of_referrals_names_each_kind_of_party,
    |app: TestApp| async move {
        // One received referral from each kind of giver (a member, a partner
        // firm, the receiver's own contact), read as one page: each giver
        // comes back by name, with its kind, beside the right referral (the
        // contract's document asks names only); then read whole.
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let firm = crate::partners::firm(&app, &c, "Harbour Lettings").await;
        let secret =
            crate::partners::token(&app, &c.leader.token, &firm, crate::partners::ALL_SCOPES).await;
        let from_member = give(&app, b, &a.id).await;
        let from_firm = crate::partners::submit(&app, &secret, &a.id, "party-kinds").await;
        let carl = app
            .ok(
                Some(&a.token),
                "AddContact",
                json!({ "input": { "name": "Carl Client", "kind": "CLIENT", "company": "Carl & Co" } }),
            )
            .await["addContact"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let from_contact = app
            .ok(
                Some(&a.token),
                "RecordOutsideReferral",
                json!({ "input": { "contactId": carl, "prospect": { "name": "Olive Outside" }, "temperature": 2 } }),
            )
            .await["recordOutsideReferral"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let received = app
            .ok(
                Some(&a.token),
                "MyReferrals",
                json!({ "role": "RECEIVED", "first": 10 }),
            )
            .await;
        let page = &received["me"]["referrals"];
        assert_eq!(page["totalCount"], 3);
        let giver_of = |id: &str| {
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["node"]["id"] == id)
                .map(|e| (e["node"]["giver"].clone(), e["node"]["receiver"].clone()))
                .unwrap_or_else(|| panic!("{id} not on the page: {page:#}"))
        };
        let me = json!({ "__typename": "Member", "id": a.id, "name": "Member 0" });
        assert_eq!(
            giver_of(&from_member),
            (
                json!({ "__typename": "Member", "id": b.id, "name": "Member 1" }),
                me.clone()
            )
        );
        assert_eq!(
            giver_of(&from_firm),
            (
                json!({ "__typename": "PartnerFirm", "id": firm, "name": "Harbour Lettings" }),
                me.clone()
            )
        );
        assert_eq!(
            giver_of(&from_contact),
            (
                json!({ "__typename": "Contact", "id": carl, "name": "Carl Client", "kind": "CLIENT" }),
                me
            )
        );
        // A page that asks more of its parties than their names reads them
        // whole: the member's profession, the contact's company.
        let whole = app
            .gql(
                Some(&a.token),
                "{ me { referrals(role: RECEIVED, first: 10) { edges { node { id
                  giver { ... on Member { name profession } ... on PartnerFirm { name }
                          ... on Contact { name company } } } } } } }",
                json!({}),
            )
            .await;
        assert!(whole.get("errors").is_none(), "{whole:#}");
        let whole_giver = |id: &str| {
            whole["data"]["me"]["referrals"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["node"]["id"] == id)
                .map(|e| e["node"]["giver"].clone())
                .unwrap()
        };
        assert_eq!(
            whole_giver(&from_member),
            json!({ "name": "Member 1", "profession": "Trade 1" })
        );
        assert_eq!(
            whole_giver(&from_firm),
            json!({ "name": "Harbour Lettings" })
        );
        assert_eq!(
            whole_giver(&from_contact),
            json!({ "name": "Carl Client", "company": "Carl & Co" })
        );
        // And from the giving side: the member's given page names its receiver.
        let given = app
            .ok(
                Some(&b.token),
                "MyReferrals",
                json!({ "role": "GIVEN", "first": 10 }),
            )
            .await;
        assert_eq!(
            given["me"]["referrals"]["edges"][0]["node"]["receiver"],
            json!({ "__typename": "Member", "id": a.id, "name": "Member 0" })
        );
        // A referral to one's own contact: the giver's page names the
        // contact as receiver, with its kind.
        let to_contact = app
            .gql(
                Some(&a.token),
                "mutation($c: ID!) { giveReferralToContact(input: { contactId: $c,
                   prospect: { name: \"Rita Roof\" }, temperature: 3 }) { id } }",
                json!({ "c": carl }),
            )
            .await;
        let to_contact = to_contact["data"]["giveReferralToContact"]["id"].clone();
        assert!(to_contact.is_string(), "{to_contact:#}");
        let given = app
            .gql(
                Some(&a.token),
                "{ me { referrals(role: GIVEN, first: 10) { edges { node { id
                     receiver { __typename ... on Member { id name } ... on Contact { id name kind } } } } } } }",
                json!({}),
            )
            .await;
        let edges = given["data"]["me"]["referrals"]["edges"]
            .as_array()
            .unwrap();
        assert_eq!(edges.len(), 1, "{given:#}");
        assert_eq!(edges[0]["node"]["id"], to_contact);
        assert_eq!(
            edges[0]["node"]["receiver"],
            json!({ "__typename": "Contact", "id": carl, "name": "Carl Client", "kind": "CLIENT" })
        );
    }
);

/// Walks a member's referrals (`variables` give the role and any filter)
/// `first` at a time with `document` (which must select `pageInfo {
/// hasNextPage endCursor }` and the nodes' ids), returning the ids in the order served and the `totalCount` each
/// page reported (`Null` when the document does not ask for it).
async fn walk(
    app: &TestApp,
    token: &str,
    document: &str,
    variables: Value,
    first: i64,
) -> (Vec<String>, Vec<Value>) {
    let (mut ids, mut totals, mut after) = (Vec::new(), Vec::new(), Value::Null);
    for _ in 0..20 {
        let mut vars = variables.clone();
        vars["first"] = json!(first);
        vars["after"] = after.clone();
        let resp = app.gql(Some(token), document, vars).await;
        assert!(resp.get("errors").is_none(), "{resp:#}");
        let page = &resp["data"]["me"]["referrals"];
        let edges = page["edges"].as_array().unwrap();
        assert!(edges.len() as i64 <= first, "{page:#}");
        ids.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_string()),
        );
        totals.push(page["totalCount"].clone());
        if page["pageInfo"]["hasNextPage"] != true {
            return (ids, totals);
        }
        assert_eq!(edges.len() as i64, first, "a short page with more to come");
        after = page["pageInfo"]["endCursor"].clone();
    }
    panic!("the pages never ended");
}

db_test!(
    pages_of_referrals_join_up_newest_first_with_ties_broken_by_id,
    |app: TestApp| async move {
        // Six referrals to one member, the four oldest moved onto one instant
        // in the database (a busy meeting's referrals can share a
        // timestamp): pages of two must join up into the whole list, newest
        // first and ties in descending id, with or without totalCount, and
        // filters must hold past the first page.
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let mut made = Vec::new();
        for _ in 0..6 {
            made.push(give(&app, b, &a.id).await);
        }
        let tied = &made[..4];
        let list = tied
            .iter()
            .map(|id| format!("'{id}'"))
            .collect::<Vec<_>>()
            .join(", ");
        app.db
            .execute_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                format!(
                    "UPDATE referrals SET created_at = \
                     (SELECT created_at FROM referrals WHERE id = '{}') WHERE id IN ({list})",
                    made[0]
                ),
            ))
            .await
            .unwrap();
        let mut ties: Vec<String> = tied.to_vec();
        ties.sort_by(|x, y| y.cmp(x));
        let expected: Vec<String> = [made[5].clone(), made[4].clone()]
            .into_iter()
            .chain(ties)
            .collect();

        let contract = crate::helpers::operation("MyReferrals");
        let received = json!({ "role": "RECEIVED" });
        let (ids, totals) = walk(&app, &a.token, &contract, received.clone(), 2).await;
        assert_eq!(ids, expected);
        assert_eq!(totals, vec![json!(6); 3]);
        // Without totalCount the server reads one row past the page to
        // know whether another follows.
        let bare =
            "query($role: ReferralRole!, $status: [ReferralStatus!], $first: Int, $after: String) {
            me { referrals(role: $role, status: $status, first: $first, after: $after) {
              pageInfo { hasNextPage endCursor } edges { node { id } } } } }";
        for first in [1, 2, 4, 6, 7] {
            let (ids, _) = walk(&app, &a.token, bare, received.clone(), first).await;
            assert_eq!(ids, expected, "pages of {first}");
        }

        // Past the end: no edges, the list's size still counted.
        let last = app
            .ok(
                Some(&a.token),
                "MyReferrals",
                json!({ "role": "RECEIVED", "first": 6 }),
            )
            .await;
        let end = last["me"]["referrals"]["pageInfo"]["endCursor"].clone();
        let past = app
            .ok(
                Some(&a.token),
                "MyReferrals",
                json!({ "role": "RECEIVED", "first": 2, "after": end }),
            )
            .await;
        let past = &past["me"]["referrals"];
        assert_eq!(past["edges"], json!([]));
        assert_eq!(past["totalCount"], 6);
        assert_eq!(past["pageInfo"]["hasNextPage"], false);
        // `first: 0` asks for the count alone.
        let count_only = app
            .ok(
                Some(&a.token),
                "MyReferrals",
                json!({ "role": "RECEIVED", "first": 0 }),
            )
            .await;
        let count_only = &count_only["me"]["referrals"];
        assert_eq!(count_only["edges"], json!([]));
        assert_eq!(count_only["totalCount"], 6);
        assert_eq!(count_only["pageInfo"]["hasNextPage"], true);

        // A status filter past the first page: three of the six won, two
        // of them tied.
        let won = [&made[0], &made[2], &made[4]];
        for r in won {
            win(&app, &a.token, r, "100.00").await;
        }
        let won_expected: Vec<String> = expected
            .iter()
            .filter(|id| won.contains(id))
            .cloned()
            .collect();
        let filter = json!({ "role": "RECEIVED", "status": ["WON"] });
        let (ids, totals) = walk(&app, &a.token, &contract, filter.clone(), 2).await;
        assert_eq!(ids, won_expected);
        assert_eq!(totals, vec![json!(3); 2]);
        let (ids, _) = walk(&app, &a.token, bare, filter, 1).await;
        assert_eq!(ids, won_expected);
        // And the giver's side lists the same six, in the same order.
        let (ids, totals) = walk(&app, &b.token, &contract, json!({ "role": "GIVEN" }), 4).await;
        assert_eq!(ids, expected);
        assert_eq!(totals, vec![json!(6); 2]);
    }
);

/// The innermost kind of an introspected type (through NON_NULL and LIST).
pub(crate) fn leaf_kind(t: &Value) -> &str {
    match t["ofType"].is_object() {
        true => leaf_kind(&t["ofType"]),
        false => t["kind"].as_str().unwrap(),
    }
}

db_test!(
    a_page_narrowed_to_the_fields_asked_reads_each_as_the_whole_row_does,
    |app: TestApp| async move {
        // A member's page of referrals reads only the columns the document's
        // fields need. Each field of `Referral` (all of them, from the
        // schema: a field added later must be given a selection here) is
        // read alone through a page and compared with the same field read
        // whole by `referral(id:)`, on referrals whose fields are set.
        api::cli::seed_demo(&app.settings.database_url)
            .await
            .expect("demo seeded");
        let (token, _) = app.demo_leader().await;
        let (app, t) = (&app, Some(token.as_str()));
        // The demo's referrals carry no note and no prospect's phone: one
        // that does, given to the member who gave the leader the latest.
        let latest = app
            .gql(
                t,
                "{ me { referrals(role: RECEIVED, first: 1) { edges { node { giver { ... on Member { id } } } } } } }",
                json!({}),
            )
            .await;
        let giver = s(&latest["data"]["me"]["referrals"]["edges"][0]["node"]["giver"]["id"]);
        let mut vars = give_vars(&giver, "PORTAL", None);
        vars["input"]["note"] = json!("Met at the expo; call after 10");
        app.ok(t, "GiveReferral", vars).await;
        let fields_of = |name: &str| {
            let q = format!(
                "{{ __type(name: \"{name}\") {{ fields {{ name type {{ kind ofType {{ kind ofType {{ kind ofType {{ kind }} }} }} }} }} }} }}"
            );
            async move {
                let shape = app.gql(t, &q, json!({})).await;
                shape["data"]["__type"]["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        let kind = leaf_kind(&f["type"]).to_string();
                        (f["name"].as_str().unwrap().to_string(), kind)
                    })
                    .collect::<Vec<_>>()
            }
        };
        let prospect: Vec<String> = fields_of("Prospect")
            .await
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(prospect.len(), 5, "{prospect:?}");
        let mut cases: Vec<String> = Vec::new();
        for (name, kind) in fields_of("Referral").await {
            match (name.as_str(), kind.as_str()) {
                (_, "SCALAR" | "ENUM") => cases.push(name),
                ("prospect", _) => {
                    cases.extend(prospect.iter().map(|p| format!("prospect {{ {p} }}")))
                }
                ("giver" | "receiver", _) => cases.push(format!(
                    "{name} {{ __typename ... on Member {{ id name email }} \
                     ... on PartnerFirm {{ id name }} ... on Contact {{ id name kind }} }}"
                )),
                ("delegate", _) => cases.push("delegate { id name }".into()),
                ("events", _) => cases.push("events { kind at }".into()),
                _ => panic!("Referral.{name}: give it a selection in this test"),
            }
        }
        assert!(cases.len() >= 27, "{cases:?}");
        // A value a narrowed read could not have made up from an unread column.
        let telling = |case: &str, v: &Value| match v {
            Value::Null | Value::Bool(false) => false,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => {
                !(s.is_empty()
                    || s.starts_with("1970-01-01")
                    || (case == "status" && s == "SUBMITTED")
                    || (case == "channel" && s == "PORTAL"))
            }
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => o.values().any(|v| !v.is_null()),
            _ => true,
        };
        let mut told = vec![false; cases.len()];
        let mut compared = 0;
        // The member's two lists, and the while-you-were-away inbox over
        // all time (the demo leader's received referrals again).
        let lists = [
            ("GIVEN", "me { referrals(role: GIVEN, first: 100)", "me"),
            (
                "RECEIVED",
                "me { referrals(role: RECEIVED, first: 100)",
                "me",
            ),
            (
                "inbox",
                "whileYouWereAway(since: \"2000-01-01T00:00:00Z\") { referrals(first: 100)",
                "whileYouWereAway",
            ),
        ];
        for (role, opening, top) in lists {
            let list = |selection: String, fragment: bool| async move {
                let (node, tail) = match fragment {
                    true => (
                        "...F".to_string(),
                        format!("fragment F on Referral {{ {selection} }}"),
                    ),
                    false => (selection, String::new()),
                };
                let q = format!(
                    "query {{ {opening} {{ edges {{ node {{ id {node} }} }} }} }} }} {tail}"
                );
                let r = app.gql(t, &q, json!({})).await;
                assert!(r.get("errors").is_none(), "{q}: {r:#}");
                r["data"][top]["referrals"]["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["node"].clone())
                    .collect::<Vec<Value>>()
            };
            let ids: Vec<String> = list(String::new(), false)
                .await
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_string())
                .collect();
            assert!(ids.len() >= 5, "{role}: {ids:?}");
            // Read whole, by id, in documents within the token limit.
            let mut whole: Vec<Value> = Vec::new();
            for chunk in ids.chunks(10) {
                let by_id = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, id)| format!("r{i}: referral(id: \"{id}\") {{ ...W }}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let q = format!(
                    "{{ {by_id} }} fragment W on Referral {{ id {} }}",
                    cases.join(" ")
                );
                let r = app.gql(t, &q, json!({})).await;
                assert!(r.get("errors").is_none(), "{r:#}");
                whole.extend((0..chunk.len()).map(|i| r["data"][format!("r{i}")].clone()));
            }
            for (c, case) in cases.iter().enumerate() {
                let nodes = list(case.clone(), c % 2 == 1).await;
                assert_eq!(nodes.len(), ids.len(), "{role} {case}");
                // The case's value: the field, or the prospect's one field.
                let pick = |v: &Value| match case.strip_prefix("prospect { ") {
                    Some(part) => v["prospect"][part.trim_end_matches(" }")].clone(),
                    None => v[case.split(' ').next().unwrap()].clone(),
                };
                for (i, node) in nodes.iter().enumerate() {
                    let by_id = &whole[i];
                    assert_eq!(node["id"], by_id["id"], "{role}: the page's order");
                    assert_eq!(pick(node), pick(by_id), "{role} {case} of {}", node["id"]);
                    told[c] |= telling(case, &pick(node));
                    compared += 1;
                }
            }
        }
        let untold: Vec<&String> = cases
            .iter()
            .zip(&told)
            .filter(|(_, t)| !**t)
            .map(|(c, _)| c)
            .collect();
        assert!(untold.is_empty(), "no referral had these set: {untold:?}");
        assert!(compared > 27 * 15, "{compared}");
    }
);

db_test!(
    a_member_who_holds_no_seat_receives_nothing,
    |app: TestApp| async move {
        // The receiver's row comes with their seats; with none left it is
        // read alone, and the member is found but shares no group.
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        app.unseat(&c.leader.token, &c.group, &b.id, &day(0)).await;
        let before = app.snapshot().await;
        let resp = app
            .op(
                Some(&a.token),
                "GiveReferral",
                give_vars(&b.id, "PORTAL", None),
            )
            .await;
        assert_eq!(code(&resp), "FORBIDDEN", "{resp:#}");
        assert_eq!(app.snapshot().await, before, "nothing written");
    }
);

db_test!(
    a_meeting_referral_is_judged_on_the_meeting_day_and_routed_today,
    |app: TestApp| async move {
        // Passed today at yesterday's meeting, where both receivers were
        // present: absent for the meeting's day only if away that day; held
        // by a delegate only if the receiver is away today.
        use sea_orm::EntityTrait;
        let c = chapter(&app, 4).await;
        let giver = &c.members[0];
        let (away_today, away_then, delegate) = (&c.members[1], &c.members[2], &c.members[3]);
        let meeting = s(&app
            .ok(
                Some(&c.leader.token),
                "ScheduleMeeting",
                json!({ "groupId": c.group, "heldOn": day(-1) }),
            )
            .await["scheduleMeeting"]["id"]);
        app.ok(
            Some(&c.leader.token),
            "RecordAttendance",
            json!({ "meetingId": meeting, "entries": [
                { "memberId": giver.id, "status": "PRESENT" },
                { "memberId": away_today.id, "status": "PRESENT" },
                { "memberId": away_then.id, "status": "PRESENT" },
            ]}),
        )
        .await;
        app.ok(
            Some(&away_today.token),
            "DeclareAbsence",
            json!({ "input": { "from": day(0), "to": day(5), "delegateId": delegate.id } }),
        )
        .await;
        // An absence that ended yesterday (the API takes none in the past).
        let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        entities::absence::Entity::insert(entities::absence::ActiveModel {
            id: sea_orm::Set(uuid::Uuid::now_v7().to_string()),
            member_id: sea_orm::Set(away_then.id.clone()),
            from_on: sea_orm::Set(yesterday),
            to_on: sea_orm::Set(yesterday),
            delegate_id: sea_orm::Set(Some(delegate.id.clone())),
            note: sea_orm::Set(None),
            created_at: sea_orm::Set(chrono::Utc::now()),
        })
        .exec(&app.db)
        .await
        .unwrap();
        let mut outcomes = Vec::new();
        for who in [away_today, away_then] {
            let data = app
                .ok(
                    Some(&giver.token),
                    "GiveReferral",
                    give_vars(&who.id, "MEETING", Some(&meeting)),
                )
                .await;
            let r = &data["giveReferral"];
            let row = app.referral_row(&s(&r["id"])).await;
            outcomes.push((
                r["madeInAbsence"].clone(),
                r["absenceReason"].clone(),
                row.delegate_id,
            ));
        }
        assert_eq!(
            outcomes,
            vec![
                (json!(false), Value::Null, Some(delegate.id.clone())),
                (json!(true), json!("AWAY"), None),
            ]
        );
    }
);

db_test!(
    a_give_that_fails_half_way_leaves_nothing_and_tells_no_one,
    |app: TestApp| async move {
        // A give answering a request writes the request's answer, the
        // referral and its event (on PostgreSQL in one statement with its
        // notice). The event is refused here by a trigger of this test
        // database: nothing else may stay, and no one may hear of it.
        use crate::subscriptions::{connect, next_within, subscribe};
        let c = chapter(&app, 3).await;
        let (giver, receiver, other) = (&c.members[0], &c.members[1], &c.members[2]);
        let request = crate::fixtures::ask_member(&app, receiver, &giver.id).await;
        let mut socket = connect(&app, Some(&receiver.token)).await;
        assert_eq!(
            next_within(&mut socket, 10_000).await.unwrap()["type"],
            "connection_ack"
        );
        subscribe(
            &mut socket,
            "r",
            &crate::helpers::operation("ReferralReceived"),
        )
        .await;
        // The subscription is live: a referral from someone else arrives.
        let first = give(&app, other, &receiver.id).await;
        let push = next_within(&mut socket, 5_000).await.expect("pushed");
        assert_eq!(
            push["payload"]["data"]["referralReceived"]["id"],
            json!(first)
        );
        let postgres = app.settings.database_url.starts_with("postgres");
        let (refuse, allow) = if postgres {
            (
                "CREATE FUNCTION rx_test_refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'event refused'; END $$; \
                 CREATE TRIGGER rx_test_refuse_event BEFORE INSERT ON referral_events \
                 FOR EACH ROW EXECUTE FUNCTION rx_test_refuse_event();",
                "DROP TRIGGER rx_test_refuse_event ON referral_events",
            )
        } else {
            (
                "CREATE TRIGGER rx_test_refuse_event BEFORE INSERT ON referral_events \
                 BEGIN SELECT RAISE(ABORT, 'event refused'); END",
                "DROP TRIGGER rx_test_refuse_event",
            )
        };
        app.db.execute_unprepared(refuse).await.unwrap();
        let before = app.snapshot().await;
        let unanswered = app.request_row(&request).await;
        let refused = app
            .op(
                Some(&giver.token),
                "GiveReferral",
                give_vars(&receiver.id, "PORTAL", None),
            )
            .await;
        assert_eq!(code(&refused), "INTERNAL", "{refused:#}");
        assert_eq!(app.snapshot().await, before, "nothing written");
        let after = app.request_row(&request).await;
        assert_eq!(after, unanswered, "the request is not answered");
        assert_eq!(after.response, None);
        let heard = next_within(&mut socket, 700).await;
        assert!(
            heard.is_none(),
            "a push for a referral that never was: {heard:?}"
        );

        // Without the trigger the same give answers the request, and the
        // receiver hears of that one.
        app.db.execute_unprepared(allow).await.unwrap();
        let id = give(&app, giver, &receiver.id).await;
        let push = next_within(&mut socket, 5_000).await.expect("pushed");
        assert_eq!(push["payload"]["data"]["referralReceived"]["id"], json!(id));
        let answered = app.request_row(&request).await;
        assert_eq!(answered.response, Some(entities::RequestResponse::Yes));
        let row = app.referral_row(&id).await;
        assert_eq!(row.request_id, Some(request));
    }
);

db_test!(
    a_given_referral_is_answered_as_it_is_stored,
    |app: TestApp| async move {
        // The give's answer is built from what it wrote, not read back: it
        // must match what any later read of the referral says, to the
        // microsecond, with the receiver away, the referral delegated and
        // answering the receiver's request (marked answered at that time).
        let c = chapter(&app, 3).await;
        let (giver, receiver, delegate) = (&c.members[0], &c.members[1], &c.members[2]);
        let request = crate::fixtures::ask_member(&app, receiver, &giver.id).await;
        app.ok(
            Some(&receiver.token),
            "DeclareAbsence",
            json!({ "input": { "from": day(0), "to": day(3), "delegateId": delegate.id } }),
        )
        .await;
        let fields = "id status temperature channel madeInAbsence absenceReason version createdAt
            updatedAt insideGroup note
            giver { __typename ... on Member { id name } }
            receiver { __typename ... on Member { id name } ... on PartnerFirm { id name } }
            prospect { name email phone company need }";
        let mut vars = give_vars(&receiver.id, "PORTAL", None);
        vars["input"]["note"] = json!("Met them at the expo");
        let given = app
            .gql(
                Some(&giver.token),
                &format!(
                    "mutation($input: GiveReferralInput!) {{ giveReferral(input: $input) {{ {fields} }} }}"
                ),
                vars,
            )
            .await;
        assert!(given.get("errors").is_none(), "{given:#}");
        let given = given["data"]["giveReferral"].clone();
        assert_eq!(given["madeInAbsence"], json!(true), "{given:#}");
        let read = app
            .gql(
                Some(&giver.token),
                &format!(
                    "query($id: ID!) {{ referral(id: $id) {{ {fields} delegate {{ id }} events {{ kind at }} }} }}"
                ),
                json!({ "id": given["id"] }),
            )
            .await;
        assert!(read.get("errors").is_none(), "{read:#}");
        let read = &read["data"]["referral"];
        for (key, value) in given.as_object().unwrap() {
            assert_eq!(&read[key], value, "{key}: given {given:#}, read {read:#}");
        }
        assert_eq!(read["delegate"]["id"], json!(delegate.id));
        let events: Vec<(Value, Value)> = read["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["kind"].clone(), e["at"].clone()))
            .collect();
        assert_eq!(
            events,
            vec![
                (json!("CREATED"), given["createdAt"].clone()),
                (json!("DELEGATED"), given["createdAt"].clone()),
            ]
        );
        let row = app.referral_row(&s(&given["id"])).await;
        assert_eq!(row.request_id.as_deref(), Some(request.as_str()));
        let answered = app.request_row(&request).await;
        assert_eq!(answered.response, Some(entities::RequestResponse::Yes));
        assert_eq!(answered.updated_at, row.created_at, "one clock");
        assert_eq!(row.created_at, row.updated_at);
    }
);
