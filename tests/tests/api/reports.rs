//! Leader reports: a constructed chapter whose every figure, score part and
//! traffic light is computed by hand below; the CSV twin; who may read;
//! the network report on a small hand-built graph.

use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::db_test;
use crate::fixtures::{advance, day, give_vars};
use crate::helpers::{Person, TestApp, code, field};

async fn person(app: &TestApp, email: &str, name: &str, profession: &str) -> Person {
    let (token, id) = app.register(email, name, profession).await;
    Person { token, id }
}

async fn meeting(app: &TestApp, token: &str, group: &str, offset: i64) -> String {
    app.ok(
        Some(token),
        "ScheduleMeeting",
        json!({ "groupId": group, "heldOn": day(offset) }),
    )
    .await["scheduleMeeting"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn attend(app: &TestApp, token: &str, meeting: &str, entries: Value) {
    app.ok(
        Some(token),
        "RecordAttendance",
        json!({ "meetingId": meeting, "entries": entries }),
    )
    .await;
}

async fn visitor(app: &TestApp, token: &str, meeting: &str, by: &str, name: &str) {
    let v = app
        .ok(
            Some(token),
            "RecordVisitor",
            json!({ "input": { "meetingId": meeting, "invitedById": by, "name": name } }),
        )
        .await;
    assert_eq!(v["recordVisitor"]["name"], name);
    assert_eq!(v["recordVisitor"]["invitedBy"]["id"], json!(by));
}

async fn give_ok(app: &TestApp, giver: &Person, vars: Value) -> String {
    app.ok(Some(&giver.token), "GiveReferral", vars).await["giveReferral"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn to_won(app: &TestApp, receiver: &Person, id: &str, value: &str) {
    for s in ["ACCEPTED", "CONTACTED"] {
        assert!(
            advance(app, &receiver.token, id, s, None)
                .await
                .get("errors")
                .is_none()
        );
    }
    let r = advance(app, &receiver.token, id, "WON", Some(value)).await;
    assert!(r.get("errors").is_none(), "{r:#}");
}

struct Built {
    admin: String,
    group: String,
    leader: Person,
    a: Person,
    b: Person,
    c: Person,
    won_ab: String,
    won_ac: String,
    won_ba: String,
    overdue: String,
}

/// The chapter of the report test. Period: the 28 days up to today.
///
/// Seats: Lea (leader) since day −400, Ann since −300, Ben since −13,
/// Cid since −60 (after two short seats elsewhere: group hopping).
/// Meetings on days −21, −14, −7, 0 with attendance:
///   Lea P P P P · Ann P P L A · Ben – – P M · Cid A A S A
/// Referrals (all made today, group Harbour):
///   1 Ann→Ben at meeting 0 (Ben MEDICAL: missed meeting) — WON 1000.00
///   2 Ann→Ben at meeting 0 (missed meeting) — accepted, follow-up overdue
///   3 Ann→Ben portal (remote)
///   4 Ann→Cid portal (remote) — WON 99.99
///   5,6 Ann→Cid portal (remote)
///   7 Ben→Ann in a one-to-one (presence) — WON 250.50
///   8 Ben→Ann in a one-to-one (presence)
///   9 Cid→Lea at meeting 0 (presence) — withdrawn: counted nowhere
///  10 Lea→Ann portal (remote)
///  11 Ann→Firm portal (remote, outside)
/// One-to-ones: Ann–Ben today, Cid–Ann day −10, Ann–Lea day −100 (score window only).
/// Visitors: Ann 2 (meetings −7 and 0), Ben 1 (meeting 0), Cid 1 (meeting −21).
/// Partnerships declared: Ann→Cid (one-way: 3 given, none back), Ann→Ben (two-way).
async fn build(app: &TestApp) -> Built {
    let admin = app.admin().await;
    let group = app.create_group(&admin, "Harbour").await;
    let leader = person(app, "lea@example.com", "Lea \"The Boss\", Leader", "Banker").await;
    let a = person(app, "ann@example.com", "Ann", "Accountant").await;
    let b = person(app, "ben@example.com", "Ben", "Builder").await;
    let c = person(app, "cid@example.com", "Cid", "Chef").await;
    app.seat(&admin, &group, &leader.id, "LEADER", &day(-400))
        .await;
    app.seat(&admin, &group, &a.id, "MEMBER", &day(-300)).await;
    app.seat(&admin, &group, &b.id, "MEMBER", &day(-13)).await;
    app.seat(&admin, &group, &c.id, "MEMBER", &day(-60)).await;
    for (name, joined, left) in [("Hop One", -300, -250), ("Hop Two", -240, -200)] {
        let g = app.create_group(&admin, name).await;
        app.seat(&admin, &g, &c.id, "MEMBER", &day(joined)).await;
        app.unseat(&admin, &g, &c.id, &day(left)).await;
    }
    let t = &leader.token;
    let m21 = meeting(app, t, &group, -21).await;
    let m14 = meeting(app, t, &group, -14).await;
    let m7 = meeting(app, t, &group, -7).await;
    let m0 = meeting(app, t, &group, 0).await;
    let e = |id: &str, s: &str| json!({ "memberId": id, "status": s });
    attend(
        app,
        t,
        &m21,
        json!([
            e(&leader.id, "PRESENT"),
            e(&a.id, "PRESENT"),
            e(&c.id, "ABSENT")
        ]),
    )
    .await;
    attend(
        app,
        t,
        &m14,
        json!([
            e(&leader.id, "PRESENT"),
            e(&a.id, "PRESENT"),
            e(&c.id, "ABSENT")
        ]),
    )
    .await;
    attend(
        app,
        t,
        &m7,
        json!([e(&leader.id, "PRESENT"), e(&a.id, "LATE"), e(&b.id, "PRESENT"),
        { "memberId": c.id, "status": "SUBSTITUTE", "substituteName": "Sub" }]),
    )
    .await;
    attend(
        app,
        t,
        &m0,
        json!([
            e(&leader.id, "PRESENT"),
            e(&a.id, "ABSENT"),
            e(&b.id, "MEDICAL"),
            e(&c.id, "ABSENT")
        ]),
    )
    .await;
    visitor(app, t, &m7, &a.id, "Vera Visitor").await;
    visitor(app, t, &m0, &a.id, "Vic Visitor").await;
    visitor(app, t, &m0, &b.id, "Val Visitor").await;
    visitor(app, t, &m21, &c.id, "Vin Visitor").await;
    app.one_to_one(&a.token, &b.id, &day(0)).await;
    app.one_to_one(&c.token, &a.id, &day(-10)).await;
    app.one_to_one(&a.token, &leader.id, &day(-100)).await;

    // A partner firm of the group, as issue 5 creates them (inserted directly here).
    let firm = uuid::Uuid::now_v7().to_string();
    entities::partner_firm::ActiveModel {
        id: Set(firm.clone()),
        group_id: Set(group.clone()),
        name: Set("Bank Branch".into()),
        contact_email: Set(None),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&app.db)
    .await
    .unwrap();

    let won_ab = give_ok(app, &a, give_vars(&b.id, "MEETING", Some(&m0))).await;
    let overdue = give_ok(app, &a, give_vars(&b.id, "MEETING", Some(&m0))).await;
    give_ok(app, &a, give_vars(&b.id, "PORTAL", None)).await;
    let won_ac = give_ok(app, &a, give_vars(&c.id, "PORTAL", None)).await;
    give_ok(app, &a, give_vars(&c.id, "PORTAL", None)).await;
    give_ok(app, &a, give_vars(&c.id, "PORTAL", None)).await;
    let won_ba = give_ok(app, &b, give_vars(&a.id, "ONE_TO_ONE", None)).await;
    give_ok(app, &b, give_vars(&a.id, "ONE_TO_ONE", None)).await;
    let withdrawn = give_ok(app, &c, give_vars(&leader.id, "MEETING", Some(&m0))).await;
    advance(app, &c.token, &withdrawn, "WITHDRAWN", None).await;
    give_ok(app, &leader, give_vars(&a.id, "PORTAL", None)).await;
    give_ok(app, &a, give_vars(&firm, "PORTAL", None)).await;
    to_won(app, &b, &won_ab, "1000.00").await;
    to_won(app, &c, &won_ac, "99.99").await;
    to_won(app, &a, &won_ba, "250.50").await;
    assert!(
        advance(app, &b.token, &overdue, "ACCEPTED", None)
            .await
            .get("errors")
            .is_none()
    );
    app.ok(
        Some(&a.token),
        "AddPartnership",
        json!({ "input": { "memberId": c.id } }),
    )
    .await;
    app.ok(
        Some(&a.token),
        "AddPartnership",
        json!({ "input": { "memberId": b.id } }),
    )
    .await;

    // Time passes: the first win is 10 days old and unthanked, the accepted
    // referral's follow-up was due yesterday.
    let mut r: entities::referral::ActiveModel =
        entities::referral::Entity::find_by_id(won_ab.clone())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .into();
    r.won_at = Set(Some(chrono::Utc::now() - chrono::Duration::days(10)));
    r.update(&app.db).await.unwrap();
    let mut r: entities::referral::ActiveModel =
        entities::referral::Entity::find_by_id(overdue.clone())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .into();
    r.next_follow_up_on = Set(Some(
        chrono::Utc::now().date_naive() - chrono::Duration::days(1),
    ));
    r.update(&app.db).await.unwrap();
    Built {
        admin,
        group,
        leader,
        a,
        b,
        c,
        won_ab,
        won_ac,
        won_ba,
        overdue,
    }
}

fn row<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["member"]["id"] == id)
        .unwrap()
}

const ROW_FIELDS: &str =
    "member { id name profession } given givenInsideGroup givenOutside received
    givenInAbsence receivedInAbsence closedValueGiven closedValueReceived oneToOnes visitors
    attendance { present absent late medical substitute } tenureDays score trafficLight groupHopping
    scoreParts { absences referralsGiven oneToOnes visitors wonGiven }";

/// Moves a referral's creation (and, when given, its win) to `days` ago,
/// as if it had been made then.
async fn backdate(app: &TestApp, id: &str, made: i64, won: Option<i64>) {
    let at = |days: i64| chrono::Utc::now() - chrono::Duration::days(days);
    let mut r: entities::referral::ActiveModel = entities::referral::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    r.created_at = Set(at(made));
    if let Some(won) = won {
        r.won_at = Set(Some(at(won)));
    }
    r.update(&app.db).await.unwrap();
}

crate::db_test_with!(
    a_reports_reader_is_checked_with_its_seats_and_alone_when_no_seat_overlaps,
    // Each way of reading it, not the kept report (`a_kept_report…`).
    |s: &mut api::settings::Settings| s.report_cache_mib = 0,
    |app: TestApp| async move {
        // The caller's leadership is read with the report's seats; a period
        // no seat overlaps has no row to carry it, and the group is read
        // alone. Either way: unknown group NOT_FOUND, then FORBIDDEN for a
        // member who does not lead it now, then the period's BAD_USER_INPUT.
        let x = build(&app).await;
        let lou = person(&app, "lou@example.com", "Lou", "Lawyer").await;
        app.seat(&x.admin, &x.group, &lou.id, "LEADER", &day(-50))
            .await;
        app.unseat(&x.admin, &x.group, &lou.id, &day(-5)).await;
        let report = |token: String, from: i64, to: i64| {
            let app = &app;
            let group = x.group.clone();
            async move {
                app.op(
                    Some(&token),
                    "GroupReport",
                    json!({ "groupId": group, "from": day(from), "to": day(to) }),
                )
                .await
            }
        };
        let members = |r: &Value| -> Vec<String> {
            let mut ids: Vec<String> = r["data"]["groupReport"]["rows"]
                .as_array()
                .unwrap_or_else(|| panic!("{r:#}"))
                .iter()
                .map(|row| row["member"]["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        };
        let sorted = |mut ids: Vec<String>| {
            ids.sort();
            ids
        };

        // The period of the seats: Lou's seat is among them, and Lou no
        // longer leads.
        let all = report(x.admin.clone(), -27, 0).await;
        assert_eq!(
            members(&all),
            sorted(vec![
                x.leader.id.clone(),
                x.a.id.clone(),
                x.b.id.clone(),
                x.c.id.clone(),
                lou.id.clone()
            ])
        );
        assert_eq!(
            members(&report(x.leader.token.clone(), -27, 0).await),
            members(&all)
        );
        assert_eq!(code(&report(lou.token.clone(), -27, 0).await), "FORBIDDEN");
        assert_eq!(code(&report(x.a.token.clone(), -27, 0).await), "FORBIDDEN");
        // Backwards: a member's FORBIDDEN comes before the period's error
        // (a period refused whoever asks is answered without the seats).
        assert_eq!(code(&report(x.a.token.clone(), 0, -1).await), "FORBIDDEN");
        let backwards = report(x.leader.token.clone(), 0, -1).await;
        assert_eq!(
            (code(&backwards), field(&backwards)),
            ("BAD_USER_INPUT", "to")
        );

        // Before any seat (Lea's began on day −400): the group alone.
        let empty = report(x.leader.token.clone(), -800, -700).await;
        assert_eq!(members(&empty), Vec::<String>::new());
        assert_eq!(
            members(&report(x.admin.clone(), -800, -700).await),
            Vec::<String>::new()
        );
        assert_eq!(
            code(&report(lou.token.clone(), -800, -700).await),
            "FORBIDDEN"
        );
        assert_eq!(
            code(&report(x.a.token.clone(), -800, -700).await),
            "FORBIDDEN"
        );
        assert_eq!(
            code(&report(x.a.token.clone(), -700, -800).await),
            "FORBIDDEN"
        );
        let backwards = report(x.leader.token.clone(), -700, -800).await;
        assert_eq!(
            (code(&backwards), field(&backwards)),
            ("BAD_USER_INPUT", "to")
        );
        let unknown = app
            .op(
                Some(&x.a.token),
                "GroupReport",
                json!({ "groupId": uuid::Uuid::new_v4().to_string(), "from": day(0), "to": day(-1) }),
            )
            .await;
        assert_eq!(code(&unknown), "NOT_FOUND");
        // Longer than a report may cover (3 × 366 days): the period's error
        // for a leader, FORBIDDEN for anyone else.
        let long = report(x.leader.token.clone(), -1099, 0).await;
        assert_eq!((code(&long), field(&long)), ("BAD_USER_INPUT", "to"));
        assert_eq!(
            code(&report(x.a.token.clone(), -1099, 0).await),
            "FORBIDDEN"
        );
        assert!(
            report(x.leader.token.clone(), -1098, 0)
                .await
                .get("errors")
                .is_none()
        );

        // Which way each was answered, by its statements (authentication
        // costs none once the session is remembered): a refusal over seats
        // costs the seats' statement, over no seat the group's too, and a
        // period refused whoever asks only the group's (no seats read).
        let counted = |token: String, from: i64, to: i64| {
            let (app, report) = (&app, &report);
            async move {
                let before = app.statements.get();
                let r = report(token, from, to).await;
                (app.statements.get() - before, code(&r).to_string())
            }
        };
        let forbidden = "FORBIDDEN".to_string();
        assert_eq!(
            counted(x.a.token.clone(), -27, 0).await,
            (1, forbidden.clone())
        );
        assert_eq!(
            counted(x.a.token.clone(), -800, -700).await,
            (2, forbidden.clone())
        );
        assert_eq!(
            counted(x.a.token.clone(), 0, -1).await,
            (1, forbidden.clone())
        );
        assert_eq!(counted(x.a.token.clone(), -700, -800).await, (1, forbidden));
        assert_eq!(
            counted(x.leader.token.clone(), -700, -800).await,
            (1, "BAD_USER_INPUT".to_string())
        );
        assert_eq!(
            counted(x.leader.token.clone(), -1099, 0).await,
            (1, "BAD_USER_INPUT".to_string())
        );
    }
);

db_test!(
    a_win_counts_in_the_period_it_was_won_in_whenever_it_was_made,
    |app: TestApp| async move {
        // The report reads the referrals made in the period and, apart,
        // those won in it: a win made long before still counts its value,
        // and one made and won before the period counts nowhere.
        let x = build(&app).await;
        let vars = json!({ "groupId": x.group, "from": day(-27), "to": day(0) });
        let narrow = "query($groupId: ID!, $from: Date!, $to: Date!) { groupReport(groupId: $groupId, from: $from, to: $to) { rows { member { id } given givenInsideGroup givenInAbsence received receivedInAbsence closedValueGiven closedValueReceived } } }";
        let whole = format!(
            "query($groupId: ID!, $from: Date!, $to: Date!) {{ groupReport(groupId: $groupId, from: $from, to: $to) {{ rows {{ {ROW_FIELDS} }} }} }}"
        );
        let figures = |report: &Value, id: &str| {
            let r = row(report, id);
            [
                "given",
                "givenInsideGroup",
                "givenInAbsence",
                "received",
                "receivedInAbsence",
                "closedValueGiven",
                "closedValueReceived",
            ]
            .map(|f| r[f].clone())
        };
        let read = |q: String| {
            let vars = vars.clone();
            let token = x.leader.token.clone();
            let app = &app;
            async move {
                let r = app.gql(Some(&token), &q, vars).await;
                assert!(r.get("errors").is_none(), "{r:#}");
                r["data"]["groupReport"].clone()
            }
        };
        let before = read(narrow.to_string()).await;
        // Ann→Cid (won 99.99 today) made 400 days ago; Ben→Ann (won 250.50)
        // made 150 days ago and won 100 days ago: inside the score's window,
        // so the whole report reads its row, and its win must not count.
        backdate(&app, &x.won_ac, 400, None).await;
        backdate(&app, &x.won_ba, 150, Some(100)).await;
        for q in [narrow.to_string(), whole] {
            let after = read(q).await;
            let (a, b, c) = (&x.a.id, &x.b.id, &x.c.id);
            assert_eq!(
                figures(&after, a),
                [
                    json!(6),
                    json!(5),
                    json!(6),
                    json!(2),
                    figures(&before, a)[4].clone(),
                    json!("1099.99"),
                    json!("0.00")
                ],
                "Ann: one given less, its win kept; the win received gone"
            );
            assert_eq!(
                figures(&before, a)[..4],
                [json!(7), json!(6), json!(7), json!(3)]
            );
            assert_eq!(
                (
                    row(&after, b)["given"].clone(),
                    row(&after, b)["closedValueGiven"].clone()
                ),
                (json!(1), json!("0.00"))
            );
            assert_eq!(row(&before, b)["closedValueGiven"], json!("250.50"));
            assert_eq!(
                (
                    row(&after, c)["received"].clone(),
                    row(&after, c)["closedValueReceived"].clone()
                ),
                (
                    json!(row(&before, c)["received"].as_i64().unwrap() - 1),
                    json!("99.99")
                )
            );
        }
    }
);

db_test!(
    the_group_report_matches_hand_computed_figures,
    |app: TestApp| async move {
        let x = build(&app).await;
        let vars = json!({ "groupId": x.group, "from": day(-27), "to": day(0) });
        let data = app
            .ok(Some(&x.leader.token), "GroupReport", vars.clone())
            .await;
        let r = &data["groupReport"];
        assert_eq!(
            (r["from"].clone(), r["to"].clone()),
            (json!(day(-27)), json!(day(0)))
        );
        assert_eq!(r["rows"].as_array().unwrap().len(), 4);
        let q = format!(
            "query($groupId: ID!, $from: Date!, $to: Date!) {{ groupReport(groupId: $groupId, from: $from, to: $to) {{ rows {{ {ROW_FIELDS} }} }} }}"
        );
        let full = app.gql(Some(&x.leader.token), &q, vars.clone()).await;
        let full = &full["data"]["groupReport"];

        // Ann: gave 1,2,3,4,5,6 inside and 11 outside, all made in absence; received 7,8 (presence)
        // and 10 (remote). Won given 1000.00 + 99.99; received 250.50. One-to-ones in the period:
        // Ben today, Cid on day −10. Score over 26 weeks (joined long ago): 1 ABSENT → 15;
        // 7 given / 26 weeks = 0.27 → 5; 3 one-to-ones / 26 → 0; 2 visitors / 26 = 0.08 → 5;
        // 2 won → 10. Total 35: RED.
        assert_eq!(
            row(full, &x.a.id),
            &json!({
                "member": { "id": x.a.id, "name": "Ann", "profession": "Accountant" },
                "given": 7, "givenInsideGroup": 6, "givenOutside": 1, "received": 3,
                "givenInAbsence": 7, "receivedInAbsence": 1,
                "closedValueGiven": "1099.99", "closedValueReceived": "250.50",
                "oneToOnes": 2, "visitors": 2,
                "attendance": { "present": 2, "absent": 1, "late": 1, "medical": 0, "substitute": 0 },
                "tenureDays": 300, "score": 35, "trafficLight": "RED", "groupHopping": false,
                "scoreParts": { "absences": 15, "referralsGiven": 5, "oneToOnes": 0, "visitors": 5, "wonGiven": 10 }
            })
        );
        // Ben (joined 13 days ago: a 14-day window, 2 weeks): 0 ABSENT → 20; 2 given / 2 = 1 → 20;
        // 1 one-to-one / 2 = 0.5 → 10; 1 visitor / 2 = 0.5 → 20; 1 won → 5. Total 75: GREEN.
        assert_eq!(
            row(full, &x.b.id),
            &json!({
                "member": { "id": x.b.id, "name": "Ben", "profession": "Builder" },
                "given": 2, "givenInsideGroup": 2, "givenOutside": 0, "received": 3,
                "givenInAbsence": 0, "receivedInAbsence": 3,
                "closedValueGiven": "250.50", "closedValueReceived": "1000.00",
                "oneToOnes": 1, "visitors": 1,
                "attendance": { "present": 1, "absent": 0, "late": 0, "medical": 1, "substitute": 0 },
                "tenureDays": 13, "score": 75, "trafficLight": "GREEN", "groupHopping": false,
                "scoreParts": { "absences": 20, "referralsGiven": 20, "oneToOnes": 10, "visitors": 20, "wonGiven": 5 }
            })
        );
        // Cid (joined 60 days ago: 61 days, 8.7 weeks): 3 ABSENT → 5; nothing given (the
        // withdrawn one does not count) → 0; 1 one-to-one / 8.7 = 0.11 → 0; 1 visitor / 8.7
        // = 0.115 → 5; no wins → 0. Total 10: GREY. Two short seats elsewhere: hopping.
        assert_eq!(
            row(full, &x.c.id),
            &json!({
                "member": { "id": x.c.id, "name": "Cid", "profession": "Chef" },
                "given": 0, "givenInsideGroup": 0, "givenOutside": 0, "received": 3,
                "givenInAbsence": 0, "receivedInAbsence": 3,
                "closedValueGiven": "0.00", "closedValueReceived": "99.99",
                "oneToOnes": 1, "visitors": 1,
                "attendance": { "present": 0, "absent": 3, "late": 0, "medical": 0, "substitute": 1 },
                "tenureDays": 60, "score": 10, "trafficLight": "GREY", "groupHopping": true,
                "scoreParts": { "absences": 5, "referralsGiven": 0, "oneToOnes": 0, "visitors": 5, "wonGiven": 0 }
            })
        );
        // Lea: gave 10 (remote); the withdrawn 9 is not received. One-to-one with Ann on day −100
        // is outside the period but inside the score window: 1/26 → 0. 0 ABSENT → 20; 1/26 → 0.
        assert_eq!(
            row(full, &x.leader.id),
            &json!({
                "member": { "id": x.leader.id, "name": "Lea \"The Boss\", Leader", "profession": "Banker" },
                "given": 1, "givenInsideGroup": 1, "givenOutside": 0, "received": 0,
                "givenInAbsence": 1, "receivedInAbsence": 0,
                "closedValueGiven": "0.00", "closedValueReceived": "0.00",
                "oneToOnes": 0, "visitors": 0,
                "attendance": { "present": 4, "absent": 0, "late": 0, "medical": 0, "substitute": 0 },
                "tenureDays": 400, "score": 20, "trafficLight": "GREY", "groupHopping": false,
                "scoreParts": { "absences": 20, "referralsGiven": 0, "oneToOnes": 0, "visitors": 0, "wonGiven": 0 }
            })
        );
        // Totals are the sums of the rows.
        assert_eq!(
            r["totals"],
            json!({ "given": 10, "received": 9, "givenInAbsence": 8, "closedValue": "1350.49", "oneToOnes": 4, "visitors": 4 })
        );
        assert_eq!(
            r["oneWayPartnerships"],
            json!([{ "from": { "id": x.a.id, "name": "Ann" }, "to": { "id": x.c.id, "name": "Cid" }, "given": 3 }])
        );
        assert_eq!(
            r["unthankedWins"],
            json!([{ "id": x.won_ab, "closedValue": "1000.00" }])
        );
        assert_eq!(
            r["overdueFollowUps"],
            json!([{ "id": x.overdue, "nextFollowUpOn": day(-1) }])
        );

        // Live: thanks and a new referral show at once.
        app.ok(
            Some(&x.b.token),
            "ThankGiver",
            json!({ "referralId": x.won_ab, "note": "Thanks Ann" }),
        )
        .await;
        give_ok(&app, &x.b, give_vars(&x.c.id, "PORTAL", None)).await;
        let again = app
            .ok(Some(&x.leader.token), "GroupReport", vars.clone())
            .await;
        assert_eq!(again["groupReport"]["unthankedWins"], json!([]));
        assert_eq!(again["groupReport"]["totals"]["given"], 11);
        // Admins may read it too.
        app.ok(Some(&x.admin), "GroupReport", vars).await;
    }
);

db_test!(
    only_leaders_read_reports_and_periods_are_checked,
    |app: TestApp| async move {
        let x = build(&app).await;
        let vars = json!({ "groupId": x.group, "from": day(-27), "to": day(0) });
        assert_eq!(
            code(&app.op(Some(&x.a.token), "GroupReport", vars.clone()).await),
            "FORBIDDEN"
        );
        assert_eq!(
            code(&app.op(None, "GroupReport", vars.clone()).await),
            "UNAUTHENTICATED"
        );
        let (_, other_leader) = app.other_leader(&x.admin).await;
        assert_eq!(
            code(&app.op(Some(&other_leader.token), "GroupReport", vars).await),
            "FORBIDDEN"
        );
        let backwards = app
            .op(
                Some(&x.leader.token),
                "GroupReport",
                json!({ "groupId": x.group, "from": day(0), "to": day(-1) }),
            )
            .await;
        assert_eq!(
            (code(&backwards), field(&backwards)),
            ("BAD_USER_INPUT", "to")
        );
        let unknown = app
        .op(Some(&x.leader.token), "GroupReport", json!({ "groupId": uuid::Uuid::new_v4().to_string(), "from": day(-1), "to": day(0) }))
        .await;
        assert_eq!(code(&unknown), "NOT_FOUND");
        // Leaders see figures, not other members' prospects.
        let q =
            "query($g: ID!, $f: Date!, $t: Date!) { groupReport(groupId: $g, from: $f, to: $t) {
        unthankedWins { prospect { name email phone } events { kind } } } }";
        let r = app
            .gql(
                Some(&x.leader.token),
                q,
                json!({ "g": x.group, "f": day(-27), "t": day(0) }),
            )
            .await;
        assert_eq!(
            r["data"]["groupReport"]["unthankedWins"][0],
            json!({ "prospect": { "name": "Pat Prospect", "email": null, "phone": null }, "events": [] })
        );
        // Visitors are recorded by leaders only.
        let m = meeting(&app, &x.leader.token, &x.group, -1).await;
        let resp = app
            .op(
                Some(&x.a.token),
                "RecordVisitor",
                json!({ "input": { "meetingId": m, "invitedById": x.a.id, "name": "V" } }),
            )
            .await;
        assert_eq!(code(&resp), "FORBIDDEN");
        let (_, outsider) = app.register("out@example.com", "Otto", "Florist").await;
        let resp = app
            .op(
                Some(&x.leader.token),
                "RecordVisitor",
                json!({ "input": { "meetingId": m, "invitedById": outsider, "name": "V" } }),
            )
            .await;
        assert_eq!(
            (code(&resp), field(&resp)),
            ("BAD_USER_INPUT", "input.invitedById")
        );
        let resp = app
            .op(
                Some(&x.leader.token),
                "RecordVisitor",
                json!({ "input": { "meetingId": m, "invitedById": x.a.id, "name": " " } }),
            )
            .await;
        assert_eq!(
            (code(&resp), field(&resp)),
            ("BAD_USER_INPUT", "input.name")
        );
    }
);

db_test!(
    the_csv_report_equals_the_graphql_one,
    |app: TestApp| async move {
        let x = build(&app).await;
        let vars = json!({ "groupId": x.group, "from": day(-27), "to": day(0) });
        let q = format!(
            "query($groupId: ID!, $from: Date!, $to: Date!) {{ groupReport(groupId: $groupId, from: $from, to: $to) {{ rows {{ {ROW_FIELDS} }} }} }}"
        );
        let gql = app.gql(Some(&x.leader.token), &q, vars).await;
        let url = app.url(&format!(
            "/reports/groups/{}.csv?from={}&to={}",
            x.group,
            day(-27),
            day(0)
        ));
        let resp = app
            .client
            .get(&url)
            .bearer_auth(&x.leader.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            resp.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        let body = resp.text().await.unwrap();
        assert!(
            body.contains("\"Lea \"\"The Boss\"\", Leader\""),
            "quoted name missing:\n{body}"
        );
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(header[0], "member_id");
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let rows = gql["data"]["groupReport"]["rows"].as_array().unwrap();
        assert_eq!(records.len(), rows.len());
        for (rec, row) in records.iter().zip(rows) {
            let col = |name: &str| {
                rec.get(header.iter().position(|h| h == name).unwrap())
                    .unwrap()
                    .to_string()
            };
            let num = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(col("member_id"), num(&row["member"]["id"]));
            assert_eq!(col("name"), num(&row["member"]["name"]));
            for (csv_name, gql_name) in [
                ("given", "given"),
                ("given_inside_group", "givenInsideGroup"),
                ("given_outside", "givenOutside"),
                ("received", "received"),
                ("given_in_absence", "givenInAbsence"),
                ("received_in_absence", "receivedInAbsence"),
                ("closed_value_given", "closedValueGiven"),
                ("closed_value_received", "closedValueReceived"),
                ("one_to_ones", "oneToOnes"),
                ("visitors", "visitors"),
                ("tenure_days", "tenureDays"),
                ("score", "score"),
                ("traffic_light", "trafficLight"),
                ("group_hopping", "groupHopping"),
            ] {
                assert_eq!(col(csv_name), num(&row[gql_name]), "{csv_name}");
            }
            for part in ["present", "absent", "late", "medical", "substitute"] {
                assert_eq!(col(part), num(&row["attendance"][part]), "{part}");
            }
        }
        // Same auth as GraphQL.
        let anonymous = app.client.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        let member = app
            .client
            .get(&url)
            .bearer_auth(&x.a.token)
            .send()
            .await
            .unwrap();
        assert_eq!(member.status(), 403);
        let bad = app
            .client
            .get(app.url(&format!(
                "/reports/groups/{}.csv?from=2026-13-01&to={}",
                x.group,
                day(0)
            )))
            .bearer_auth(&x.leader.token)
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        assert_eq!(
            bad.json::<Value>().await.unwrap()["errors"][0]["extensions"]["field"],
            "from"
        );
    }
);

db_test!(
    a_report_asked_in_part_shows_what_the_whole_report_shows,
    |app: TestApp| async move {
        let x = build(&app).await;
        let vars = json!({ "groupId": x.group, "from": day(-27), "to": day(0) });
        let report = |selection: &str| {
            let fragment = match selection.contains("...Job") {
                true => "fragment Job on Member { id profession }",
                false => "",
            };
            let q = format!(
                "query($groupId: ID!, $from: Date!, $to: Date!) {{ groupReport(groupId: $groupId, from: $from, to: $to) {{ {selection} }} }} {fragment}"
            );
            let (app, vars, token) = (&app, vars.clone(), x.leader.token.clone());
            async move {
                let r = app.gql(Some(&token), &q, vars).await;
                assert!(r.get("errors").is_none(), "{q}: {r:#}");
                r["data"]["groupReport"].clone()
            }
        };
        let whole = report(&format!(
            "rows {{ {ROW_FIELDS} }} oneWayPartnerships {{ from {{ id name profession }} to {{ id name profession }} given }}"
        ))
        .await;
        // Each part below reads less (members by name only, no seats in
        // other groups, no meeting figures); what it shows is the same.
        let parts = [
            "rows { member { id name } given received closedValueGiven closedValueReceived }",
            "rows { member { name id } tenureDays groupHopping }",
            "rows { member { __typename id name } givenInAbsence } oneWayPartnerships { from { id name } to { name } given }",
            "rows { member { id ...Job } given } oneWayPartnerships { from { id name } to { id name profession } given }",
            "rows { member { id name } score trafficLight }",
        ];
        let mut compared = 0;
        for selection in parts {
            let part = report(selection).await;
            let rows = part["rows"].as_array().unwrap();
            assert_eq!(rows.len(), 4, "{selection}");
            for r in rows {
                let id = r["member"]["id"].as_str().unwrap();
                let w = row(&whole, id);
                for (field, value) in r.as_object().unwrap() {
                    if field == "member" {
                        for (f, v) in value.as_object().unwrap() {
                            let expected = match f.as_str() {
                                "__typename" => json!("Member"),
                                _ => w["member"][f].clone(),
                            };
                            assert_eq!(v, &expected, "{selection}: {id} member.{f}");
                            compared += 1;
                        }
                    } else {
                        assert_eq!(value, &w[field], "{selection}: {id} {field}");
                        compared += 1;
                    }
                }
            }
            if let Some(pairs) = part.get("oneWayPartnerships") {
                let pairs = pairs.as_array().unwrap();
                let expected = whole["oneWayPartnerships"].as_array().unwrap();
                assert_eq!(pairs.len(), expected.len(), "{selection}");
                for (p, e) in pairs.iter().zip(expected) {
                    for side in ["from", "to"] {
                        for (f, v) in p[side].as_object().unwrap() {
                            assert_eq!(v, &e[side][f], "{selection}: {side}.{f}");
                            compared += 1;
                        }
                    }
                    assert_eq!(p["given"], e["given"]);
                }
            }
        }
        // Telling values were among those compared: Cid hops groups, and
        // the one-way pair's receiver has a profession.
        assert_eq!(row(&whole, &x.c.id)["groupHopping"], true);
        assert_eq!(whole["oneWayPartnerships"][0]["to"]["profession"], "Chef");
        assert_eq!(row(&whole, &x.a.id)["member"]["profession"], "Accountant");
        assert!(compared >= 70, "{compared}");
    }
);

db_test!(
    the_report_costs_the_same_statements_for_a_bigger_group,
    |app: TestApp| async move {
        let x = build(&app).await;
        let q =
            "query($g: ID!, $f: Date!, $t: Date!) { groupReport(groupId: $g, from: $f, to: $t) {
        totals { given } rows { member { name } score } } }";
        let vars = json!({ "g": x.group, "f": day(-27), "t": day(0) });
        let measure = || async {
            let before = app.statements.get();
            let r = app.gql(Some(&x.leader.token), q, vars.clone()).await;
            assert!(r.get("errors").is_none(), "{r:#}");
            (
                app.statements.get() - before,
                r["data"]["groupReport"]["rows"].as_array().unwrap().len(),
            )
        };
        let (small, n) = measure().await;
        assert_eq!(n, 4);
        for i in 0..12 {
            let p = person(
                &app,
                &format!("extra{i}@example.com"),
                &format!("Extra {i}"),
                &format!("Job {i}"),
            )
            .await;
            app.seat(&x.admin, &x.group, &p.id, "MEMBER", &day(-5))
                .await;
            give_ok(&app, &p, give_vars(&x.a.id, "PORTAL", None)).await;
        }
        let (large, n) = measure().await;
        assert_eq!(n, 16);
        assert_eq!(
            small, large,
            "{small} statements for 4 members, {large} for 16"
        );
    }
);

db_test!(
    the_network_report_on_a_small_graph,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let group = app.create_group(&admin, "Net").await;
        let leader = person(&app, "lead@example.com", "Lead", "Banker").await;
        let x = person(&app, "x@example.com", "Xena", "Lawyer").await;
        let p1 = person(&app, "p1@example.com", "Pia", "Printer").await;
        let p2 = person(&app, "p2@example.com", "Pol", "Plumber").await;
        let q = person(&app, "q@example.com", "Quin", "Quilter").await;
        app.seat(&admin, &group, &leader.id, "LEADER", &day(-100))
            .await;
        for m in [&x, &p1, &p2, &q] {
            app.seat(&admin, &group, &m.id, "MEMBER", &day(-100)).await;
        }
        // Partnerships: Xena–Pia (declared by Xena), Pol–Xena (declared by Pol), Pia–Quin, and a contact.
        app.ok(
            Some(&x.token),
            "AddPartnership",
            json!({ "input": { "memberId": p1.id } }),
        )
        .await;
        app.ok(
            Some(&p2.token),
            "AddPartnership",
            json!({ "input": { "memberId": x.id } }),
        )
        .await;
        app.ok(
            Some(&p1.token),
            "AddPartnership",
            json!({ "input": { "memberId": q.id } }),
        )
        .await;
        let k = app
            .ok(
                Some(&x.token),
                "AddContact",
                json!({ "input": { "name": "Kai", "kind": "PROFESSIONAL" } }),
            )
            .await["addContact"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.ok(
            Some(&x.token),
            "AddPartnership",
            json!({ "input": { "contactId": k } }),
        )
        .await;

        // Generation 1: Xena receives three referrals. Pia's prospect is Nell, who joins.
        let mut to_x = give_vars(&x.id, "PORTAL", None);
        to_x["input"]["prospect"]["email"] = json!("Nell@Example.com");
        give_ok(&app, &p1, to_x).await;
        app.one_to_one(&p2.token, &x.id, &day(0)).await;
        let in_presence = give_ok(&app, &p2, give_vars(&x.id, "ONE_TO_ONE", None)).await;
        to_won(&app, &x, &in_presence, "100.00").await;
        give_ok(&app, &q, give_vars(&x.id, "PORTAL", None)).await;
        // Generation 2: Nell registers with that email and gives a referral (won 500) whose
        // prospect, Theo, joins too. Generation 3: Theo gives one.
        let nell = person(&app, "nell@example.com", "Nell", "Nurse").await;
        app.seat(&admin, &group, &nell.id, "MEMBER", &day(0)).await;
        let mut to_p2 = give_vars(&p2.id, "PORTAL", None);
        to_p2["input"]["prospect"]["email"] = json!("theo@example.com");
        let gen2 = give_ok(&app, &nell, to_p2).await;
        to_won(&app, &p2, &gen2, "500.00").await;
        let theo = person(&app, "theo@example.com", "Theo", "Tutor").await;
        app.seat(&admin, &group, &theo.id, "MEMBER", &day(0)).await;
        give_ok(&app, &theo, give_vars(&p1.id, "PORTAL", None)).await;

        use chrono::Datelike;
        let today = chrono::Utc::now().date_naive();
        let first_of_month = |months_back: u32| {
            let d = chrono::NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
            d.checked_sub_months(chrono::Months::new(months_back))
                .unwrap()
        };
        let from = first_of_month(2).format("%Y-%m-%d").to_string();
        let vars = json!({ "memberId": x.id, "from": from, "to": day(0) });
        let data = app.ok(Some(&x.token), "NetworkReport", vars.clone()).await;
        let n = &data["networkReport"];
        assert_eq!(n["directPartners"], 3, "Pia, Pol and Kai");
        assert_eq!(n["secondDegreeReach"], 1, "Quin, through Pia");
        let share = n["absenceShare"].as_f64().unwrap();
        assert!((share - 2.0 / 3.0).abs() < 1e-9, "{share}");
        let month = |d: chrono::NaiveDate| d.format("%Y-%m").to_string();
        assert_eq!(
            n["months"],
            json!([
                { "month": month(first_of_month(2)), "receivedInPresence": 0, "receivedInAbsence": 0, "distinctAbsentGivers": 0 },
                { "month": month(first_of_month(1)), "receivedInPresence": 0, "receivedInAbsence": 0, "distinctAbsentGivers": 0 },
                { "month": month(today), "receivedInPresence": 1, "receivedInAbsence": 2, "distinctAbsentGivers": 2 },
            ])
        );
        assert_eq!(
            n["generations"],
            json!([
                { "generation": 1, "referrals": 3, "wonValue": "100.00" },
                { "generation": 2, "referrals": 1, "wonValue": "500.00" },
                { "generation": 3, "referrals": 1, "wonValue": "0.00" },
            ])
        );
        // The group's leader may read it; a fellow member may not.
        app.ok(Some(&leader.token), "NetworkReport", vars.clone())
            .await;
        assert_eq!(
            code(&app.op(Some(&p1.token), "NetworkReport", vars).await),
            "FORBIDDEN"
        );
        let backwards = app
            .op(
                Some(&x.token),
                "NetworkReport",
                json!({ "memberId": x.id, "from": day(0), "to": day(-1) }),
            )
            .await;
        assert_eq!(
            (code(&backwards), field(&backwards)),
            ("BAD_USER_INPUT", "to")
        );
        // An empty period: share 0, one generation with nothing.
        let empty = app
            .ok(
                Some(&x.token),
                "NetworkReport",
                json!({ "memberId": x.id, "from": day(-400), "to": day(-300) }),
            )
            .await;
        assert_eq!(empty["networkReport"]["absenceShare"], 0.0);
    }
);

db_test!(
    seed_demo_is_realistic_and_idempotent,
    |app: TestApp| async move {
        let first = api::cli::seed_demo(&app.settings.database_url)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(first.created);
        assert_eq!((first.members, first.meetings), (25, 52));
        // A healthy chapter: about one referral per member per week.
        assert!(first.referrals > 1000, "{} referrals", first.referrals);
        let counts = app.snapshot().await;
        let second = api::cli::seed_demo(&app.settings.database_url)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(!second.created);
        assert_eq!(app.snapshot().await, counts, "a second run wrote nothing");
        for table in [
            "absences",
            "asks",
            "contacts",
            "contact_nps_scores",
            "partnership_stages",
            "reward_awards",
            "one_to_ones",
            "visitors",
            "referral_requests",
        ] {
            assert!(app.count(table).await > 0, "the demo has {table}");
        }

        // The printed sign-in works, and the leader's report has something in every section.
        let (token, group) = app.demo_leader().await;
        let report = app
            .ok(
                Some(&token),
                "GroupReport",
                json!({ "groupId": group, "from": day(-364), "to": day(0) }),
            )
            .await;
        let r = &report["groupReport"];
        let rows = r["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 25);
        assert!(!r["oneWayPartnerships"].as_array().unwrap().is_empty());
        assert!(!r["unthankedWins"].as_array().unwrap().is_empty());
        assert!(!r["overdueFollowUps"].as_array().unwrap().is_empty());
        assert!(r["totals"]["visitors"].as_i64().unwrap() > 0);
        assert!(r["totals"]["givenInAbsence"].as_i64().unwrap() > 0);
        // Every band of tenure has someone in it.
        let bands = app
            .ok(
                Some(&token),
                "GroupTenureBands",
                json!({ "groupId": group, "from": day(-364), "to": day(0) }),
            )
            .await;
        let bands: Vec<&str> = bands["groupReport"]["tenureBands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["band"].as_str().unwrap())
            .collect();
        assert_eq!(bands, ["<6m", "6-12m", "1-2y", "2y+"]);
        // Business from every kind of source, adding up.
        let sources = app
            .ok(
                Some(&token),
                "SourcesReport",
                json!({ "groupId": group, "from": day(-364), "to": day(0) }),
            )
            .await;
        let by_source: Vec<&str> = sources["sourcesReport"]["bySource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["source"].as_str().unwrap())
            .collect();
        assert_eq!(
            by_source,
            [
                "MEMBER",
                "PARTNER_FIRM",
                "CLIENT",
                "PROFESSIONAL",
                "OTHER_CONTACT"
            ]
        );
        // Requests for introductions: answered by referrals, put off, turned
        // down, or waiting; and someone to ask next.
        let answered_by_referral = app
            .count(
                "(SELECT DISTINCT request_id FROM referrals WHERE request_id IS NOT NULL) answered",
            )
            .await;
        assert!(
            answered_by_referral > 20,
            "{answered_by_referral} requests answered by referrals"
        );
        for response in ["YES", "NOT_NOW", "NO"] {
            let n = app
                .count(&format!("referral_requests WHERE response = '{response}'"))
                .await;
            assert!(n > 0, "requests answered {response}");
        }
        let waiting = app
            .count("referral_requests WHERE response IS NULL AND circle_back_on IS NOT NULL")
            .await;
        assert!(waiting > 0, "requests still waiting for an answer");
        let ask = app
            .ok(Some(&token), "WhoToAsk", json!({ "first": 5 }))
            .await;
        assert!(!ask["whoToAsk"].as_array().unwrap().is_empty(), "{ask:#}");
        let owed = app
            .ok(Some(&token), "Reciprocity", json!({ "first": 5 }))
            .await;
        assert!(
            !owed["reciprocity"].as_array().unwrap().is_empty(),
            "{owed:#}"
        );

        // A realistic spread of lights: most GREEN or AMBER, a few stragglers.
        let mut lights: std::collections::BTreeMap<String, usize> = Default::default();
        for row in rows {
            *lights
                .entry(row["trafficLight"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        let n = |l: &str| lights.get(l).copied().unwrap_or(0);
        assert!(n("GREEN") >= 8, "{lights:?}");
        assert!(n("AMBER") >= 3, "{lights:?}");
        assert!(n("RED") + n("GREY") >= 2, "{lights:?}");
        assert!(n("RED") + n("GREY") <= 8, "{lights:?}");
        assert!(n("GREEN") + n("AMBER") >= 15, "{lights:?}");

        // The absence share rises through behaviour, read through
        // networkReport over every member: the first and the last whole
        // calendar months of the year.
        let today = chrono::Utc::now().date_naive();
        use chrono::Datelike;
        let this_month = today.with_day(1).unwrap();
        let last_month_end = this_month - chrono::Duration::days(1);
        let first_month_start = this_month
            .checked_sub_months(chrono::Months::new(11))
            .unwrap();
        let (from, to) = (
            first_month_start.format("%Y-%m-%d").to_string(),
            last_month_end.format("%Y-%m-%d").to_string(),
        );
        let mut first_month = (0i64, 0i64);
        let mut last_month = (0i64, 0i64);
        let mut busiest: Option<(i64, String)> = None;
        for row in rows {
            let id = row["member"]["id"].as_str().unwrap().to_string();
            let received = row["received"].as_i64().unwrap();
            if busiest.as_ref().is_none_or(|(b, _)| received > *b) {
                busiest = Some((received, id.clone()));
            }
            let net = app
                .ok(
                    Some(&token),
                    "NetworkReport",
                    json!({ "memberId": id, "from": from, "to": to }),
                )
                .await;
            let months = net["networkReport"]["months"].as_array().unwrap();
            assert_eq!(months.len(), 11);
            let take = |m: &Value| {
                (
                    m["receivedInPresence"].as_i64().unwrap(),
                    m["receivedInAbsence"].as_i64().unwrap(),
                )
            };
            let (p, a) = take(&months[0]);
            first_month = (first_month.0 + p, first_month.1 + a);
            let (p, a) = take(&months[10]);
            last_month = (last_month.0 + p, last_month.1 + a);
        }
        let share = |(p, a): (i64, i64)| a as f64 / (p + a) as f64;
        eprintln!(
            "demo: lights {lights:?}; (in presence, in absence) first month {first_month:?}, last month {last_month:?}"
        );
        assert!(first_month.0 + first_month.1 > 50, "{first_month:?}");
        assert!(last_month.0 + last_month.1 > 50, "{last_month:?}");
        assert!(
            share(first_month) < 0.2,
            "first month's absence share {first_month:?}"
        );
        assert!(
            share(last_month) > 0.6,
            "last month's absence share {last_month:?}"
        );

        // The busiest receiver has a network: several partners, reach beyond
        // them, and a second generation (a prospect who became a member).
        let (_, busiest) = busiest.unwrap();
        let net = app
            .ok(
                Some(&token),
                "NetworkReport",
                json!({ "memberId": busiest, "from": day(-364), "to": day(0) }),
            )
            .await["networkReport"]
            .clone();
        assert!(net["directPartners"].as_i64().unwrap() >= 4, "{net:#}");
        assert!(net["secondDegreeReach"].as_i64().unwrap() >= 4, "{net:#}");
        let generations = net["generations"].as_array().unwrap();
        assert!(generations.len() >= 2, "{net:#}");
        assert_eq!(generations[1]["generation"], 2);
        assert!(generations[1]["referrals"].as_i64().unwrap() > 0, "{net:#}");

        // Every referral's history agrees with its status and version: a
        // chain of allowed moves from SUBMITTED, one version per status
        // change or follow-up (a follow-up that parks is one write), thanks
        // as events.
        use sea_orm::{EntityTrait, QueryOrder};
        let referrals = entities::referral::Entity::find()
            .all(&app.db)
            .await
            .unwrap();
        let events = entities::referral_event::Entity::find()
            .order_by_asc(entities::referral_event::Column::At)
            .order_by_asc(entities::referral_event::Column::Id)
            .all(&app.db)
            .await
            .unwrap();
        let mut by_referral: std::collections::HashMap<
            &str,
            Vec<&entities::referral_event::Model>,
        > = Default::default();
        for e in &events {
            by_referral
                .entry(e.referral_id.as_str())
                .or_default()
                .push(e);
        }
        use entities::{EventKind, ReferralStatus as S};
        let allowed = |from: S, to: S| {
            matches!(
                (from, to),
                (S::Submitted, S::Accepted | S::Declined | S::Withdrawn)
                    | (S::Accepted, S::Contacted | S::Lost | S::Parked)
                    | (S::Contacted, S::MeetingSet | S::Won | S::Lost | S::Parked)
                    | (S::MeetingSet, S::Won | S::Lost | S::Parked)
                    | (S::Parked, S::Contacted | S::Lost)
            )
        };
        let mut delegated = 0;
        for r in &referrals {
            let history = by_referral.get(r.id.as_str()).expect("events");
            assert_eq!(history[0].kind, EventKind::Created, "{}", r.id);
            let mut status = S::Submitted;
            let mut writes = 0;
            let mut follow_up_at = None;
            for e in history {
                match e.kind {
                    EventKind::StatusChanged => {
                        assert_eq!(e.from_status, Some(status), "{}", r.id);
                        let to = e.to_status.unwrap();
                        assert!(allowed(status, to), "{status:?} → {to:?} in {}", r.id);
                        status = to;
                        if follow_up_at != Some(e.at) {
                            writes += 1;
                        }
                    }
                    EventKind::FollowUp => {
                        writes += 1;
                        follow_up_at = Some(e.at);
                    }
                    EventKind::Delegated => delegated += 1,
                    EventKind::PresenceChanged => writes += 1,
                    EventKind::Created | EventKind::Thanked => {}
                }
            }
            assert_eq!(r.status, status, "{}", r.id);
            assert_eq!(r.version, 1 + writes, "{}", r.id);
            let thanked = history.iter().any(|e| e.kind == EventKind::Thanked);
            assert_eq!(r.thanked_at.is_some(), thanked, "{}", r.id);
            assert_eq!(r.won_at.is_some(), status == S::Won, "{}", r.id);
            assert_eq!(r.closed_value_e4.is_some(), status == S::Won, "{}", r.id);
            assert_eq!(
                r.delegate_id.is_some(),
                history.iter().any(|e| e.kind == EventKind::Delegated)
            );
        }
        assert!(delegated > 0, "some referrals were routed to a delegate");
    }
);

db_test!(
    a_page_of_meetings_with_attendance_costs_constant_statements,
    |app: TestApp| async move {
        let x = build(&app).await;
        let q =
            "query($g: ID!) { meetings(groupId: $g, first: 100) { totalCount edges { node { heldOn
        attendance { status member { name } } } } } }";
        let measure = || async {
            let before = app.statements.get();
            let r = app
                .gql(Some(&x.leader.token), q, json!({ "g": x.group }))
                .await;
            assert!(r.get("errors").is_none(), "{r:#}");
            (
                app.statements.get() - before,
                r["data"]["meetings"]["totalCount"].as_i64().unwrap(),
            )
        };
        let (small, n) = measure().await;
        assert_eq!(n, 4);
        for offset in 1..=12 {
            let m = meeting(&app, &x.leader.token, &x.group, -30 - offset).await;
            attend(
                &app,
                &x.leader.token,
                &m,
                json!([{ "memberId": x.a.id, "status": "PRESENT" }]),
            )
            .await;
        }
        let (large, n) = measure().await;
        assert_eq!(n, 16);
        assert!(
            large <= small + 2,
            "{small} statements for 4 meetings, {large} for 16"
        );
        // Plain members may list meetings but not read attendance.
        let r = app.gql(Some(&x.b.token), q, json!({ "g": x.group })).await;
        assert_eq!(code(&r), "FORBIDDEN");
    }
);

db_test!(
    the_reports_lists_read_narrowed_show_what_they_show_read_whole,
    |app: TestApp| async move {
        // The lists' statement reads only the referral columns the fields
        // asked need. Each field of `Referral` (from the schema: a field
        // added later must be given a selection here) is read alone and
        // compared with the lists read with every field at once; those are
        // compared with the rows in the database.
        api::cli::seed_demo(&app.settings.database_url)
            .await
            .expect("demo seeded");
        let (token, group) = app.demo_leader().await;
        let (app, t) = (&app, Some(token.as_str()));
        let vars = json!({ "groupId": group, "from": day(-365), "to": day(0) });
        let shape = app
            .gql(
                t,
                "{ __type(name: \"Referral\") { fields { name type { kind ofType { kind ofType { kind ofType { kind } } } } } } }",
                json!({}),
            )
            .await;
        let mut cases: Vec<String> = Vec::new();
        for f in shape["data"]["__type"]["fields"].as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            match (name, crate::referrals::leaf_kind(&f["type"])) {
                (_, "SCALAR" | "ENUM") => cases.push(name.to_string()),
                ("prospect", _) => cases.push("prospect { name email phone company need }".into()),
                ("giver" | "receiver", _) => cases.push(format!(
                    "{name} {{ __typename ... on Member {{ id name }} \
                     ... on PartnerFirm {{ id name }} ... on Contact {{ id name }} }}"
                )),
                ("delegate", _) => cases.push("delegate { id name }".into()),
                ("events", _) => cases.push("events { kind }".into()),
                _ => panic!("Referral.{name}: give it a selection in this test"),
            }
        }
        assert!(cases.len() >= 23, "{cases:?}");
        let lists = |selection: String| {
            let q = format!(
                "query($groupId: ID!, $from: Date!, $to: Date!) {{ groupReport(groupId: $groupId, from: $from, to: $to) {{ \
                 unthankedWins {{ id {selection} }} overdueFollowUps {{ id {selection} }} }} }}"
            );
            let vars = vars.clone();
            async move {
                let r = app.gql(t, &q, vars).await;
                assert!(r.get("errors").is_none(), "{q}: {r:#}");
                r["data"]["groupReport"].clone()
            }
        };
        let whole = lists(cases.join(" ")).await;
        let mut told: Vec<&str> = Vec::new();
        for list in ["unthankedWins", "overdueFollowUps"] {
            assert!(
                !whole[list].as_array().unwrap().is_empty(),
                "the demo's report has {list}"
            );
        }
        for case in &cases {
            let part = lists(case.clone()).await;
            let field = case.split(' ').next().unwrap();
            for list in ["unthankedWins", "overdueFollowUps"] {
                let (got, want) = (
                    part[list].as_array().unwrap(),
                    whole[list].as_array().unwrap(),
                );
                assert_eq!(got.len(), want.len(), "{list} {case}");
                for (g, w) in got.iter().zip(want) {
                    assert_eq!(g["id"], w["id"], "{list}: the order");
                    assert_eq!(g[field], w[field], "{list} {case} of {}", g["id"]);
                    let set = match &g[field] {
                        Value::Null | Value::Bool(false) => false,
                        Value::String(s) => !s.is_empty() && !s.starts_with("1970-01-01"),
                        Value::Number(n) => n.as_f64() != Some(0.0),
                        _ => true,
                    };
                    if set && !told.contains(&field) {
                        told.push(field);
                    }
                }
            }
        }
        // The lists read with every field, against the rows in the database:
        // a field mapped to the wrong columns would show the same wrong value
        // in both reads above.
        use sea_orm::ActiveEnum;
        let date = |d: Option<chrono::NaiveDate>| json!(d.map(|d| d.to_string()));
        for list in ["unthankedWins", "overdueFollowUps"] {
            for w in whole[list].as_array().unwrap() {
                let id = w["id"].as_str().unwrap();
                let row = entities::referral::Entity::find_by_id(id.to_string())
                    .one(&app.db)
                    .await
                    .unwrap()
                    .unwrap();
                let expected = [
                    ("status", json!(row.status.to_value())),
                    ("channel", json!(row.channel.to_value())),
                    ("temperature", json!(row.temperature)),
                    ("version", json!(row.version)),
                    ("madeInAbsence", json!(row.made_in_absence)),
                    ("insideGroup", json!(row.inside_group)),
                    (
                        "absenceReason",
                        json!(row.absence_reason.map(|r| r.to_value())),
                    ),
                    (
                        "businessKind",
                        json!(row.business_kind.map(|k| k.to_value())),
                    ),
                    ("followUpCount", json!(row.follow_up_count)),
                    ("unansweredFollowUps", json!(row.unanswered_follow_ups)),
                    ("nextFollowUpOn", date(row.next_follow_up_on)),
                    ("revisitOn", date(row.revisit_on)),
                    ("thanked", json!(row.thanked_at.is_some())),
                ];
                for (field, value) in expected {
                    assert_eq!(w[field], value, "{list} {field} of {id}");
                }
                assert_eq!(
                    w["delegate"]["id"].as_str(),
                    row.delegate_id.as_deref(),
                    "{list} delegate of {id}"
                );
            }
        }
        // Fields the lists always have set, so an unread column would show.
        for field in [
            "status",
            "closedValue",
            "nextFollowUpOn",
            "createdAt",
            "updatedAt",
            "temperature",
            "version",
            "giver",
            "receiver",
            "prospect",
        ] {
            assert!(
                told.contains(&field),
                "no listed referral had {field} set: {told:?}"
            );
        }
    }
);

db_test!(
    a_firms_referral_counts_for_its_receiver_and_for_no_giver,
    |app: TestApp| async move {
        // A referral from a partner firm has no giving member: PostgreSQL
        // groups it under no giver, SQLite's row for it has none, and the
        // report counts it for its receiver alone, in both the narrow and
        // the whole report.
        let c = crate::fixtures::chapter(&app, 2).await;
        let (m0, m1) = (&c.members[0], &c.members[1]);
        let firm = crate::partners::firm(&app, &c, "Harbour Bank").await;
        let token =
            crate::partners::token(&app, &c.leader.token, &firm, crate::partners::ALL_SCOPES).await;
        let won = crate::partners::submit(&app, &token, &m0.id, "k1").await;
        crate::partners::submit(&app, &token, &m0.id, "k2").await;
        crate::fixtures::win(&app, &m0.token, &won, "300.00").await;
        let given = give_ok(&app, m1, give_vars(&m0.id, "PORTAL", None)).await;
        crate::fixtures::win(&app, &m0.token, &given, "20.00").await;

        let vars = json!({ "groupId": c.group, "from": day(-1), "to": day(0) });
        let narrow = "query($groupId: ID!, $from: Date!, $to: Date!) { groupReport(groupId: $groupId, from: $from, to: $to) { totals { given received closedValue } rows { member { id } given received givenInAbsence receivedInAbsence closedValueGiven closedValueReceived } } }";
        for report in [
            app.ok(Some(&c.leader.token), "GroupReport", vars.clone())
                .await,
            app.gql(Some(&c.leader.token), narrow, vars.clone()).await["data"].clone(),
        ] {
            let report = &report["groupReport"];
            let figures = |id: &str| {
                let r = row(report, id);
                [
                    "given",
                    "received",
                    "givenInAbsence",
                    "receivedInAbsence",
                    "closedValueGiven",
                    "closedValueReceived",
                ]
                .map(|f| r[f].clone())
            };
            // Two from the firm (PARTNER_API) and one from Member 1
            // (REMOTE): all three made in absence.
            assert_eq!(
                figures(&m0.id),
                [
                    json!(0),
                    json!(3),
                    json!(0),
                    json!(3),
                    json!("0.00"),
                    json!("320.00")
                ]
            );
            assert_eq!(
                figures(&m1.id),
                [
                    json!(1),
                    json!(0),
                    json!(1),
                    json!(0),
                    json!("20.00"),
                    json!("0.00")
                ]
            );
            assert_eq!(
                [
                    report["totals"]["given"].clone(),
                    report["totals"]["received"].clone(),
                    report["totals"]["closedValue"].clone()
                ],
                [json!(1), json!(3), json!("20.00")]
            );
        }
    }
);

db_test!(
    a_kept_report_is_answered_without_a_read_until_anything_commits,
    |app: TestApp| async move {
        use sea_orm::ConnectionTrait;
        let c = crate::fixtures::chapter(&app, 2).await;
        let postgres = app.settings.database_url.starts_with("postgres");
        // A server on the same database that keeps no report: every answer
        // must be the one it gives.
        let fresh = app.second_server_with(|s| s.report_cache_mib = 0).await;
        let vars = json!({ "groupId": c.group, "from": day(-30), "to": day(0) });
        // The report's statements, with the caller's session remembered
        // first (the session view forgets on writes, and this counts the
        // report alone), and its answer.
        let ask = |server: &'static str, token: String| {
            let (app, fresh, vars) = (&app, &fresh, vars.clone());
            async move {
                let server = if server == "kept" { app } else { fresh };
                server.gql(Some(&token), "{ me { id } }", json!({})).await;
                let before = server.statements.get();
                let r = server.op(Some(&token), "GroupReport", vars).await;
                (server.statements.get() - before, r)
            }
        };
        let leader = c.leader.token.clone();
        // Read (PostgreSQL's snapshot, then the whole report's four
        // statements), then kept: the same answer for the snapshot alone on
        // PostgreSQL, nothing on SQLite.
        let (cost, first) = ask("kept", leader.clone()).await;
        assert!(first.get("errors").is_none(), "{first:#}");
        assert_eq!(cost, if postgres { 5 } else { 4 }, "read");
        // Asked again at the same state: kept. PostgreSQL's snapshot moves
        // with a write anywhere in the cluster (the other tests' databases
        // too), so there a repeat may read again: ask until one is kept.
        let kept_again = |answer: Value| {
            let ask = &ask;
            let leader = leader.clone();
            async move {
                for _ in 0..200 {
                    let (cost, again) = ask("kept", leader.clone()).await;
                    assert_eq!(again, answer, "the same answer, kept or read");
                    if cost == if postgres { 1 } else { 0 } {
                        return;
                    }
                    assert!(postgres, "SQLite's state moved with nothing committed");
                    assert_eq!(cost, 5, "read again");
                }
                panic!("never kept");
            }
        };
        kept_again(first.clone()).await;
        assert_eq!(ask("fresh", leader.clone()).await.1, first);

        // A referral given in the group, through the server: read again,
        // one more given.
        crate::fixtures::give(&app, &c.members[0], &c.members[1].id).await;
        let (cost, given) = ask("kept", leader.clone()).await;
        assert_eq!(cost, if postgres { 5 } else { 4 }, "read again");
        let totals = |r: &Value| {
            r["data"]["groupReport"]["totals"]["given"]
                .as_i64()
                .unwrap()
        };
        assert_eq!(totals(&given), totals(&first) + 1);
        assert_eq!(ask("fresh", leader.clone()).await.1, given);

        // A member renamed by hand, behind the servers' backs.
        app.db
            .execute_unprepared(&format!(
                "UPDATE members SET name = 'Renamed by Hand' WHERE id = '{}'",
                c.members[1].id
            ))
            .await
            .unwrap();
        let (cost, renamed) = ask("kept", leader.clone()).await;
        assert_eq!(cost, if postgres { 5 } else { 4 }, "read again");
        assert_eq!(
            row(&renamed["data"]["groupReport"], &c.members[1].id)["member"]["name"],
            "Renamed by Hand"
        );
        assert_eq!(ask("fresh", leader.clone()).await.1, renamed);
        kept_again(renamed.clone()).await;

        // Kept for its caller only: a member of the group is refused at the
        // same state, and an admin reads (and keeps) their own.
        let (_, member) = ask("kept", c.members[0].token.clone()).await;
        assert_eq!(code(&member), "FORBIDDEN");
        let (cost, admin) = ask("kept", c.admin.clone()).await;
        assert_eq!(cost, if postgres { 5 } else { 4 }, "the admin's own read");
        assert_eq!(admin["data"], renamed["data"]);
        // The leader stepped down by hand: refused on the next request.
        app.db
            .execute_unprepared(&format!(
                "UPDATE memberships SET role = 'MEMBER' WHERE member_id = '{}' AND group_id = '{}'",
                c.leader.id, c.group
            ))
            .await
            .unwrap();
        let (_, refused) = ask("kept", leader.clone()).await;
        assert_eq!(code(&refused), "FORBIDDEN");
        assert_eq!(code(&ask("fresh", leader).await.1), "FORBIDDEN");
    }
);

db_test!(
    a_kept_report_lists_a_win_as_soon_as_it_falls_due,
    |app: TestApp| async move {
        // A win is listed unthanked a week after it was won: with nothing
        // committed, the clock alone moves the lists.
        let c = crate::fixtures::chapter(&app, 2).await;
        let postgres = app.settings.database_url.starts_with("postgres");
        let id = crate::fixtures::give(&app, &c.members[0], &c.members[1].id).await;
        to_won(&app, &c.members[1], &id, "100.00").await;
        let falls_due = chrono::Utc::now() + chrono::Duration::seconds(3);
        let mut r: entities::referral::ActiveModel = entities::referral::Entity::find_by_id(&id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .into();
        r.won_at = Set(Some(falls_due - chrono::Duration::days(7)));
        r.update(&app.db).await.unwrap();
        let vars = json!({ "groupId": c.group, "from": day(-30), "to": day(0) });
        let ask = || {
            let (app, vars, token) = (&app, vars.clone(), c.leader.token.clone());
            async move {
                app.gql(Some(&token), "{ me { id } }", json!({})).await;
                let before = app.statements.get();
                let r = app.op(Some(&token), "GroupReport", vars).await;
                let wins = r["data"]["groupReport"]["unthankedWins"].clone();
                (app.statements.get() - before, wins)
            }
        };
        assert_eq!(ask().await, (if postgres { 5 } else { 4 }, json!([])));
        // Kept (on PostgreSQL, whose snapshot moves with any write in the
        // cluster, the other tests' too, once a repeat finds it unmoved).
        // The repeats must end well before the win falls due; on a
        // PostgreSQL cluster busy with other tests' writes the whole window
        // may pass without a repeat finding its snapshot unmoved, and then
        // only the listing below is checked there (SQLite's count moves with
        // this database alone).
        let mut kept = false;
        while chrono::Utc::now() < falls_due - chrono::Duration::seconds(1) {
            let (cost, wins) = ask().await;
            assert_eq!(wins, json!([]), "not due yet");
            if cost == if postgres { 1 } else { 0 } {
                kept = true;
                break;
            }
            assert!(postgres, "SQLite's state moved with nothing committed");
        }
        if !kept {
            assert!(postgres, "never kept");
            eprintln!("the cluster's snapshot moved on every repeat: nothing kept to expire");
        }
        let wait = falls_due - chrono::Utc::now() + chrono::Duration::milliseconds(100);
        tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
        assert_eq!(
            ask().await,
            (
                if postgres { 5 } else { 4 },
                json!([{ "id": id, "closedValue": "100.00" }])
            ),
            "read again once the win fell due"
        );
    }
);
