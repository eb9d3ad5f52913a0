//! Meetings, attendance (PALMS) and one-to-ones, and the presence look-ups
//! the referral core makes.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, code, day, field};

async fn schedule(app: &TestApp, token: Option<&str>, group: &str, held_on: &str) -> Value {
    app.op(
        token,
        "ScheduleMeeting",
        json!({ "groupId": group, "heldOn": held_on }),
    )
    .await
}

async fn meeting_id(app: &TestApp, token: &str, group: &str, held_on: &str) -> String {
    let resp = schedule(app, Some(token), group, held_on).await;
    resp["data"]["scheduleMeeting"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("scheduled: {resp:#}"))
        .to_string()
}

async fn attend(app: &TestApp, token: Option<&str>, meeting: &str, entries: Value) -> Value {
    app.op(
        token,
        "RecordAttendance",
        json!({ "meetingId": meeting, "entries": entries }),
    )
    .await
}

fn bad(resp: &Value) -> (&str, &str) {
    (code(resp), field(resp))
}

db_test!(scheduling_meetings, |app: TestApp| async move {
    let c = app.chapter(&["Mia"]).await;
    let mia = &c.members[0];
    let (_, hugo) = app.other_leader(&c.admin).await;

    let resp = schedule(&app, Some(&c.leader.token), &c.group, &day(-7)).await;
    let meeting = &resp["data"]["scheduleMeeting"];
    assert_eq!(meeting["heldOn"], json!(day(-7)), "{resp:#}");
    let id = meeting["id"].as_str().unwrap().to_string();
    // Admins may schedule too, also ahead of time.
    let resp = schedule(&app, Some(&c.admin), &c.group, &day(7)).await;
    assert_eq!(resp["data"]["scheduleMeeting"]["heldOn"], json!(day(7)));
    assert_eq!(app.count("meetings").await, 2);

    let before = app.snapshot().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let cases: Vec<(Option<&str>, &str, String, &str)> = vec![
        (None, c.group.as_str(), day(0), "UNAUTHENTICATED"),
        (Some(&mia.token), &c.group, day(0), "FORBIDDEN"),
        (Some(&hugo.token), &c.group, day(0), "FORBIDDEN"),
        (Some(&c.leader.token), &unknown, day(0), "NOT_FOUND"),
        (Some(&c.leader.token), &c.group, day(-7), "CONFLICT"),
        (Some(&c.admin), &c.group, day(7), "CONFLICT"),
        (
            Some(&c.leader.token),
            &c.group,
            "2026-02-30".into(),
            "BAD_USER_INPUT",
        ),
    ];
    for (token, group, held_on, expected) in cases {
        let resp = schedule(&app, token, group, &held_on).await;
        assert_eq!(code(&resp), expected, "{group} {held_on}: {resp:#}");
    }
    let resp = schedule(&app, Some(&c.leader.token), "nope", &day(0)).await;
    assert_eq!(bad(&resp), ("BAD_USER_INPUT", "groupId"));
    assert_eq!(
        app.snapshot().await,
        before,
        "refused mutations wrote nothing"
    );

    // Members list their group's meetings, latest first, with the group.
    let q = "query($g: ID!, $first: Int) { meetings(groupId: $g, first: $first) { totalCount edges { node { id heldOn group { id name } } } } }";
    let resp = app
        .gql(Some(&mia.token), q, json!({ "g": c.group, "first": 1 }))
        .await;
    let list = &resp["data"]["meetings"];
    assert_eq!(list["totalCount"], 2, "{resp:#}");
    assert_eq!(
        list["edges"][0]["node"],
        json!({ "id": list["edges"][0]["node"]["id"], "heldOn": day(7), "group": { "id": c.group, "name": "Harbour" } })
    );
    let resp = app.gql(Some(&mia.token), q, json!({ "g": c.group })).await;
    assert_eq!(
        resp["data"]["meetings"]["edges"][1]["node"]["id"],
        json!(id)
    );
    let resp = app.gql(Some(&hugo.token), q, json!({ "g": c.group })).await;
    assert_eq!(code(&resp), "FORBIDDEN");
    let resp = app.gql(None, q, json!({ "g": c.group })).await;
    assert_eq!(code(&resp), "UNAUTHENTICATED");
});

db_test!(recording_attendance, |app: TestApp| async move {
    let c = app.chapter(&["Mia", "Max", "Eve"]).await;
    let (mia, max, eve) = (&c.members[0], &c.members[1], &c.members[2]);
    let (_, hugo) = app.other_leader(&c.admin).await;
    // Eve left after the meeting (she sat on its day); Ned joined after it;
    // Otto never sat in the group.
    app.unseat(&c.leader.token, &c.group, &eve.id, &day(-5))
        .await;
    let ned = app.person("Ned", "Roofer").await;
    app.seat(&c.leader.token, &c.group, &ned.id, "MEMBER", &day(-3))
        .await;
    let otto = app.person("Otto", "Baker").await;
    let meeting = meeting_id(&app, &c.leader.token, &c.group, &day(-7)).await;

    let resp = attend(
        &app,
        Some(&c.leader.token),
        &meeting,
        json!([
            { "memberId": mia.id, "status": "PRESENT" },
            { "memberId": max.id, "status": "SUBSTITUTE", "substituteName": " Sam Stand-in " },
            { "memberId": eve.id, "status": "MEDICAL" },
        ]),
    )
    .await;
    assert_eq!(
        resp["data"]["recordAttendance"],
        json!([
            { "status": "PRESENT", "substituteName": null, "member": { "id": mia.id } },
            { "status": "SUBSTITUTE", "substituteName": "Sam Stand-in", "member": { "id": max.id } },
            { "status": "MEDICAL", "substituteName": null, "member": { "id": eve.id } },
        ]),
        "{resp:#}"
    );
    // Re-recording replaces the entry (the same row), an admin may record too.
    let resp = attend(
        &app,
        Some(&c.admin),
        &meeting,
        json!([{ "memberId": mia.id, "status": "LATE" }, { "memberId": c.leader.id, "status": "ABSENT" }]),
    )
    .await;
    assert_eq!(
        resp["data"]["recordAttendance"],
        json!([
            { "status": "LATE", "substituteName": null, "member": { "id": mia.id } },
            { "status": "ABSENT", "substituteName": null, "member": { "id": c.leader.id } },
        ]),
        "{resp:#}"
    );
    assert_eq!(app.count("attendance").await, 4);
    let q = "query($g: ID!) { meetings(groupId: $g) { edges { node { attendance { member { name } status substituteName } } } } }";
    let resp = app
        .gql(Some(&c.leader.token), q, json!({ "g": c.group }))
        .await;
    assert_eq!(
        resp["data"]["meetings"]["edges"][0]["node"]["attendance"],
        json!([
            { "member": { "name": "Eve" }, "status": "MEDICAL", "substituteName": null },
            { "member": { "name": "Lea" }, "status": "ABSENT", "substituteName": null },
            { "member": { "name": "Max" }, "status": "SUBSTITUTE", "substituteName": "Sam Stand-in" },
            { "member": { "name": "Mia" }, "status": "LATE", "substituteName": null },
        ]),
        "{resp:#}"
    );
    // Attendance is the leaders' to read.
    let resp = app.gql(Some(&mia.token), q, json!({ "g": c.group })).await;
    assert_eq!(code(&resp), "FORBIDDEN");

    let before = app.snapshot().await;
    let ok_entry = json!({ "memberId": mia.id, "status": "PRESENT" });
    let unknown = uuid::Uuid::new_v4().to_string();
    for (token, expected) in [
        (None, "UNAUTHENTICATED"),
        (Some(mia.token.as_str()), "FORBIDDEN"),
        (Some(hugo.token.as_str()), "FORBIDDEN"),
    ] {
        let resp = attend(&app, token, &meeting, json!([ok_entry])).await;
        assert_eq!(code(&resp), expected, "{resp:#}");
    }
    let resp = attend(&app, Some(&c.leader.token), &unknown, json!([ok_entry])).await;
    assert_eq!(code(&resp), "NOT_FOUND");
    let resp = attend(&app, Some(&c.leader.token), "nope", json!([ok_entry])).await;
    assert_eq!(bad(&resp), ("BAD_USER_INPUT", "meetingId"));
    let long_name = "x".repeat(201);
    for (entries, expected_field) in [
        (json!([]), "entries"),
        (
            json!([ok_entry, { "memberId": ned.id, "status": "PRESENT" }]),
            "entries.1.memberId",
        ),
        (
            json!([ok_entry, { "memberId": otto.id, "status": "ABSENT" }]),
            "entries.1.memberId",
        ),
        (
            json!([ok_entry, { "memberId": unknown, "status": "ABSENT" }]),
            "entries.1.memberId",
        ),
        (
            json!([ok_entry, { "memberId": mia.id, "status": "ABSENT" }]),
            "entries.1.memberId",
        ),
        (
            json!([{ "memberId": "nope", "status": "ABSENT" }]),
            "entries.0.memberId",
        ),
        (
            json!([{ "memberId": mia.id, "status": "PRESENT", "substituteName": "Sam" }]),
            "entries.0.substituteName",
        ),
        (
            json!([ok_entry, { "memberId": max.id, "status": "SUBSTITUTE", "substituteName": long_name }]),
            "entries.1.substituteName",
        ),
    ] {
        let resp = attend(&app, Some(&c.leader.token), &meeting, entries.clone()).await;
        assert_eq!(
            bad(&resp),
            ("BAD_USER_INPUT", expected_field),
            "{entries}: {resp:#}"
        );
    }
    let resp = attend(
        &app,
        Some(&c.leader.token),
        &meeting,
        json!([{ "memberId": mia.id, "status": "HERE" }]),
    )
    .await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    assert_eq!(
        app.snapshot().await,
        before,
        "refused mutations wrote nothing"
    );
});

db_test!(recording_one_to_ones, |app: TestApp| async move {
    let c = app.chapter(&["Mia", "Max", "Eve"]).await;
    let (mia, max, eve) = (&c.members[0], &c.members[1], &c.members[2]);
    app.unseat(&c.leader.token, &c.group, &eve.id, &day(-1))
        .await;
    let otto = app.person("Otto", "Baker").await;
    let record = |token: Option<String>, with: String, held_on: String, note: Option<String>| {
        let app = &app;
        async move {
            app.op(
                token.as_deref(),
                "RecordOneToOne",
                json!({ "input": { "withMemberId": with, "heldOn": held_on, "note": note } }),
            )
            .await
        }
    };

    let resp = record(
        Some(mia.token.clone()),
        max.id.clone(),
        day(-1),
        Some("Coffee at the harbour".into()),
    )
    .await;
    let one = &resp["data"]["recordOneToOne"];
    assert_eq!(
        one,
        &json!({ "id": one["id"], "heldOn": day(-1), "with": { "id": max.id, "name": "Max" } }),
        "{resp:#}"
    );
    assert!(one["id"].is_string());
    // Today is not the future; extra fields beyond the contract.
    let resp = app
        .gql(
            Some(&max.token),
            "mutation($i: OneToOneInput!) { recordOneToOne(input: $i) { heldOn note recordedBy { name } with { name } } }",
            json!({ "i": { "withMemberId": mia.id, "heldOn": day(0) } }),
        )
        .await;
    assert_eq!(
        resp["data"]["recordOneToOne"],
        json!({ "heldOn": day(0), "note": null, "recordedBy": { "name": "Max" }, "with": { "name": "Mia" } }),
        "{resp:#}"
    );
    record(Some(max.token.clone()), mia.id.clone(), day(-10), None).await;
    assert_eq!(app.count("one_to_ones").await, 3);

    let before = app.snapshot().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let input = |with: &str, held_on: String| json!({ "withMemberId": with, "heldOn": held_on });
    let mut long_note = input(&max.id, day(-2));
    long_note["note"] = json!("n".repeat(2001));
    let cases: Vec<(Option<&str>, Value, &str, Option<&str>)> = vec![
        (None, input(&max.id, day(-2)), "UNAUTHENTICATED", None),
        // The same pair and day again, recorded by either of them.
        (Some(&max.token), input(&mia.id, day(-1)), "CONFLICT", None),
        (Some(&mia.token), input(&max.id, day(-1)), "CONFLICT", None),
        (
            Some(&mia.token),
            input(&unknown, day(-2)),
            "NOT_FOUND",
            None,
        ),
        // No group shared: never, or not any more.
        (
            Some(&mia.token),
            input(&otto.id, day(-2)),
            "FORBIDDEN",
            None,
        ),
        (Some(&mia.token), input(&eve.id, day(-2)), "FORBIDDEN", None),
        (
            Some(&otto.token),
            input(&mia.id, day(-2)),
            "FORBIDDEN",
            None,
        ),
        (
            Some(&mia.token),
            input(&mia.id, day(-2)),
            "BAD_USER_INPUT",
            Some("input.withMemberId"),
        ),
        (
            Some(&mia.token),
            input("nope", day(-2)),
            "BAD_USER_INPUT",
            Some("input.withMemberId"),
        ),
        (
            Some(&mia.token),
            input(&max.id, day(1)),
            "BAD_USER_INPUT",
            Some("input.heldOn"),
        ),
        (
            Some(&mia.token),
            long_note,
            "BAD_USER_INPUT",
            Some("input.note"),
        ),
    ];
    for (token, input, expected, expected_field) in cases {
        let resp = app
            .op(token, "RecordOneToOne", json!({ "input": input }))
            .await;
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
});

// Presence settled by the facts: a referral passed at a meeting before
// attendance was taken is MISSED_MEETING; recording the receiver PRESENT
// turns it into a referral made in presence (one event, one new version),
// recording them ABSENT again turns it back; a meeting past the recording
// window keeps its referrals' presence whatever is recorded.
db_test!(
    attendance_recorded_later_settles_presence,
    |app: TestApp| async move {
        let c = crate::fixtures::chapter(&app, 3).await;
        let (giver, receiver, other) = (&c.members[0], &c.members[1], &c.members[2]);
        let meeting = meeting_id(&app, &c.leader.token, &c.group, &day(-2)).await;
        let give_at = |to: &str| crate::fixtures::give_vars(to, "MEETING", Some(&meeting));
        let made = app
            .ok(Some(&giver.token), "GiveReferral", give_at(&receiver.id))
            .await;
        let r = made["giveReferral"]["id"].as_str().unwrap().to_string();
        assert_eq!(made["giveReferral"]["absenceReason"], "MISSED_MEETING");
        let to_other = app
            .ok(Some(&giver.token), "GiveReferral", give_at(&other.id))
            .await["giveReferral"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let presence = |id: String| {
            let app = &app;
            let token = receiver.token.clone();
            async move {
                app.gql(
                    Some(&token),
                    "query($id: ID!) { referral(id: $id) { madeInAbsence absenceReason version events { kind note fromStatus toStatus } } }",
                    json!({ "id": id }),
                )
                .await["data"]["referral"]
                    .clone()
            }
        };
        let before = presence(r.clone()).await;
        assert_eq!(before["version"], 1);

        attend(
            &app,
            Some(&c.leader.token),
            &meeting,
            json!([{ "memberId": receiver.id, "status": "PRESENT" }]),
        )
        .await;
        let after = presence(r.clone()).await;
        assert_eq!(after["madeInAbsence"], false);
        assert_eq!(after["absenceReason"], Value::Null);
        assert_eq!(after["version"], 2);
        let events = after["events"].as_array().unwrap();
        assert_eq!(events.len(), 2, "{after:#}");
        assert_eq!(events[1]["kind"], "STATUS_CHANGED");
        assert_eq!(events[1]["fromStatus"], Value::Null);
        assert_eq!(events[1]["toStatus"], Value::Null);
        assert_eq!(
            events[1]["note"],
            "attendance recorded as PRESENT: made in presence (was in absence (MISSED_MEETING))"
        );
        // The other member's referral is not touched by the receiver's entry.
        let untouched = app
            .gql(
                Some(&other.token),
                "query($id: ID!) { referral(id: $id) { absenceReason version } }",
                json!({ "id": to_other }),
            )
            .await;
        assert_eq!(
            untouched["data"]["referral"],
            json!({ "absenceReason": "MISSED_MEETING", "version": 1 })
        );
        // Recording the same status again changes nothing.
        attend(
            &app,
            Some(&c.leader.token),
            &meeting,
            json!([{ "memberId": receiver.id, "status": "LATE" }]),
        )
        .await;
        assert_eq!(presence(r.clone()).await["version"], 2);
        // A correction to ABSENT makes it missed again.
        attend(
            &app,
            Some(&c.leader.token),
            &meeting,
            json!([{ "memberId": receiver.id, "status": "ABSENT" }]),
        )
        .await;
        let again = presence(r.clone()).await;
        assert_eq!(again["absenceReason"], "MISSED_MEETING");
        assert_eq!(again["version"], 3);

        // A meeting 31 days ago: its attendance is final for presence. The
        // referral is moved onto it in the database (no client can backdate
        // one), then a late PRESENT entry must leave it as it is.
        let old = meeting_id(&app, &c.leader.token, &c.group, &day(-31)).await;
        app.db
            .execute_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                format!("UPDATE referrals SET meeting_id = '{old}' WHERE id = '{r}'"),
            ))
            .await
            .unwrap();
        attend(
            &app,
            Some(&c.leader.token),
            &old,
            json!([{ "memberId": receiver.id, "status": "PRESENT" }]),
        )
        .await;
        let final_ = presence(r.clone()).await;
        assert_eq!(final_["absenceReason"], "MISSED_MEETING");
        assert_eq!(final_["version"], 3);
    }
);
