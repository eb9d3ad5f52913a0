//! Referral intelligence (insights.graphql): referral requests, their
//! answers and the referrals that answer them, due circle-backs, the sources
//! report, whom to ask next, reciprocity and the group report's tenure
//! bands. Every expected figure is worked out by hand in the comments; the
//! past (creation and win times, request days, seats) is written with the
//! test's own database connection through the entities, so the same values
//! are bound the same way on SQLite and PostgreSQL.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use entities::{RequestResponse, referral, referral_request};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::db_test;
use crate::fixtures::{advance, ask_member, chapter, give, give_vars, win};
use crate::helpers::{Person, TestApp, day, refused, s};
use crate::partners::{ALL_SCOPES, firm, submit, token};

// ---- helpers ----

/// Asserts a raw query succeeded; returns its `data`.
#[track_caller]
fn data(resp: Value) -> Value {
    assert!(resp.get("errors").is_none(), "{resp:#}");
    resp["data"].clone()
}

/// The date `offset` days from today.
fn date(offset: i64) -> NaiveDate {
    Utc::now().date_naive() + Duration::days(offset)
}

/// Now, to the whole second, so stored timestamps read back exactly.
fn now_s() -> DateTime<Utc> {
    Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap()
}

/// Midnight (UTC) starting the day `offset` days from today.
fn midnight(offset: i64) -> DateTime<Utc> {
    date(offset).and_hms_opt(0, 0, 0).unwrap().and_utc()
}

fn ids(list: &Value, pointer: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected a list, got {list:#}"))
        .iter()
        .map(|v| s(v.pointer(pointer).unwrap_or(&Value::Null)))
        .collect()
}

async fn requests(app: &TestApp) -> i64 {
    app.count("referral_requests").await
}

/// RequestReferrals with `input` (may fail).
async fn ask(app: &TestApp, who: &Person, input: Value) -> Value {
    app.op(
        Some(&who.token),
        "RequestReferrals",
        json!({ "input": input }),
    )
    .await
}

/// Asks one of the caller's contacts (must succeed); returns the request's id.
async fn ask_contact(app: &TestApp, who: &Person, contact: &str) -> String {
    let r = ask(
        app,
        who,
        json!({ "contactId": contact, "text": "Any friends who need a roofer?" }),
    )
    .await;
    s(&data(r)["requestReferrals"]["id"])
}

/// RecordRequestResponse (may fail).
async fn respond(
    app: &TestApp,
    token: Option<&str>,
    request: &str,
    response: &str,
    reason: Option<&str>,
) -> Value {
    app.op(
        token,
        "RecordRequestResponse",
        json!({ "input": { "requestId": request, "response": response, "reason": reason } }),
    )
    .await
}

/// Adds a contact of `owner`'s; returns its id.
async fn add_contact(
    app: &TestApp,
    owner: &Person,
    name: &str,
    kind: &str,
    nps: Option<i64>,
) -> String {
    let d = app
        .ok(
            Some(&owner.token),
            "AddContact",
            json!({ "input": { "name": name, "kind": kind, "npsScore": nps } }),
        )
        .await;
    s(&d["addContact"]["id"])
}

async fn set_nps(app: &TestApp, owner: &Person, contact: &str, score: i64) {
    app.ok(
        Some(&owner.token),
        "UpdateContact",
        json!({ "input": { "contactId": contact, "npsScore": score } }),
    )
    .await;
}

/// AddPartnership (`input` holds memberId or contactId, maybe since); returns its id.
async fn partner_with(app: &TestApp, who: &Person, input: Value) -> String {
    let d = app
        .ok(
            Some(&who.token),
            "AddPartnership",
            json!({ "input": input }),
        )
        .await;
    s(&d["addPartnership"]["id"])
}

async fn set_reask(app: &TestApp, token: &str, group: &str, days: i64) {
    let d = app
        .ok(
            Some(token),
            "SetGroupSettings",
            json!({ "input": { "groupId": group, "reaskAfterDays": days } }),
        )
        .await;
    assert_eq!(d["setGroupSettings"]["settings"]["reaskAfterDays"], days);
}

/// A PORTAL or ONE_TO_ONE referral with the given temperature; returns its id.
async fn give_with(
    app: &TestApp,
    giver: &Person,
    receiver: &str,
    channel: &str,
    temperature: i64,
) -> String {
    let mut vars = give_vars(receiver, channel, None);
    vars["input"]["temperature"] = json!(temperature);
    s(&app.ok(Some(&giver.token), "GiveReferral", vars).await["giveReferral"]["id"])
}

/// The receiver records a referral one of their contacts gave them.
async fn outside(app: &TestApp, receiver: &Person, contact: &str, temperature: i64) -> String {
    let d = app
        .ok(
            Some(&receiver.token),
            "RecordOutsideReferral",
            json!({ "input": { "contactId": contact, "prospect": { "name": "Olga Outside" },
                               "temperature": temperature } }),
        )
        .await;
    s(&d["recordOutsideReferral"]["id"])
}

/// The giver refers business to one of their own contacts.
async fn give_to_contact(app: &TestApp, giver: &Person, contact: &str) -> String {
    let d = app
        .ok(
            Some(&giver.token),
            "GiveReferralToContact",
            json!({ "input": { "contactId": contact, "prospect": { "name": "Otis Onward" },
                               "temperature": 3 } }),
        )
        .await;
    s(&d["giveReferralToContact"]["id"])
}

/// Moves a referral through `statuses` (each must be allowed).
async fn moves(app: &TestApp, token: &str, referral: &str, statuses: &[&str]) {
    for status in statuses {
        let r = advance(app, token, referral, status, None).await;
        assert!(r.get("errors").is_none(), "{status}: {r:#}");
    }
}

/// Moves a request into the past: asked (and written) `days` days ago.
async fn backdate_request(app: &TestApp, id: &str, days: i64) {
    referral_request::Entity::update_many()
        .set(referral_request::ActiveModel {
            asked_on: Set(date(-days)),
            created_at: Set(Utc::now() - Duration::days(days)),
            ..Default::default()
        })
        .filter(referral_request::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .expect("backdate the request");
}

async fn set_circle_back(app: &TestApp, id: &str, on: NaiveDate) {
    referral_request::Entity::update_many()
        .set(referral_request::ActiveModel {
            circle_back_on: Set(Some(on)),
            ..Default::default()
        })
        .filter(referral_request::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .expect("move the circle-back day");
}

/// Sets when a referral was made (and won).
async fn set_times(app: &TestApp, id: &str, created: DateTime<Utc>, won: Option<DateTime<Utc>>) {
    let mut row = referral::ActiveModel {
        created_at: Set(created),
        ..Default::default()
    };
    if let Some(w) = won {
        row.won_at = Set(Some(w));
    }
    referral::Entity::update_many()
        .set(row)
        .filter(referral::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .expect("move the referral in time");
}

/// The request a referral was attributed to, as stored.
async fn attributed_to(app: &TestApp, referral_id: &str) -> Option<String> {
    app.referral_row(referral_id).await.request_id
}

/// The caller's due requests (ids) on `on` (None: the default, today).
async fn due_ids(app: &TestApp, token: &str, on: Option<String>) -> Vec<String> {
    let vars = on.map_or(json!({}), |on| json!({ "on": on }));
    let d = app.ok(Some(token), "DueRequests", vars).await;
    ids(&d["dueRequests"]["edges"], "/node/id")
}

/// Requests due by `on` with the referrals that answered them.
const DUE_WITH_REFERRALS: &str = "query($on: Date) { dueRequests(on: $on, first: 100) {
    edges { node { id response circleBackOn referrals { id } } } } }";

/// Records an answer and reads the request's referrals back.
const ANSWER_WITH_REFERRALS: &str = "mutation($id: ID!, $r: RequestResponse!) {
    recordRequestResponse(input: { requestId: $id, response: $r }) {
        id response circleBackOn referrals { id } } }";

async fn referrals_of(app: &TestApp, token: &str, request: &str) -> Vec<String> {
    let d = data(
        app.gql(
            Some(token),
            ANSWER_WITH_REFERRALS,
            json!({ "id": request, "r": "YES" }),
        )
        .await,
    );
    ids(&d["recordRequestResponse"]["referrals"], "/id")
}

const SOURCES_FULL: &str = "query($m: ID, $g: ID, $from: Date!, $to: Date!, $cur: String) {
    sourcesReport(memberId: $m, groupId: $g, from: $from, to: $to, currency: $cur) {
        from to currency
        total { ...C }
        bySource { source conversion { ...C } }
        byChannel { channel conversion { ...C } }
        byTemperature { temperature conversion { ...C } }
        byPresence { madeInAbsence conversion { ...C } } } }
    fragment C on Conversion { received won lost open conversionRate wonValue medianDaysToWin }";

/// A full Conversion; the rate is won / received (0 without any).
fn conv(received: i64, won: i64, lost: i64, open: i64, value: &str, median: Option<f64>) -> Value {
    let rate = if received == 0 {
        0.0
    } else {
        won as f64 / received as f64
    };
    json!({ "received": received, "won": won, "lost": lost, "open": open,
            "conversionRate": rate, "wonValue": value, "medianDaysToWin": median })
}

/// Each breakdown's counts add up to the total's.
#[track_caller]
fn assert_breakdowns_sum(report: &Value) {
    for key in ["bySource", "byChannel", "byTemperature", "byPresence"] {
        for f in ["received", "won", "lost", "open"] {
            let sum: i64 = report[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["conversion"][f].as_i64().unwrap())
                .sum();
            assert_eq!(sum, report["total"][f].as_i64().unwrap(), "{key}.{f}");
        }
    }
}

async fn who_to_ask(app: &TestApp, token: &str, first: Option<i64>) -> Vec<Value> {
    let vars = first.map_or(json!({}), |f| json!({ "first": f }));
    let d = app.ok(Some(token), "WhoToAsk", vars).await;
    d["whoToAsk"].as_array().unwrap().clone()
}

async fn reciprocity(app: &TestApp, token: &str, first: Option<i64>) -> Vec<Value> {
    let vars = first.map_or(json!({}), |f| json!({ "first": f }));
    let d = app.ok(Some(token), "Reciprocity", vars).await;
    d["reciprocity"].as_array().unwrap().clone()
}

fn partner_ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| s(&r["partner"]["id"])).collect()
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&s(v))
        .unwrap_or_else(|e| panic!("{v} is not an RFC 3339 time: {e}"))
        .with_timezone(&Utc)
}

// ---- RequestReferrals ----

db_test!(
    requests_go_to_a_member_or_a_contact,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let cora = add_contact(&app, a, "Cora Client", "CLIENT", None).await;
        let pia = add_contact(&app, a, "Pia Pro", "PROFESSIONAL", Some(9)).await;

        // Text is trimmed; asked today, circle back 14 days later.
        let r = ask(
            &app,
            a,
            json!({ "memberId": b.id, "text": "  Who needs a new roof?\nAsk me.  " }),
        )
        .await;
        let to_b = &data(r)["requestReferrals"];
        assert_eq!(
            to_b,
            &json!({ "id": to_b["id"], "text": "Who needs a new roof?\nAsk me.",
                     "askedOn": day(0), "circleBackOn": day(14), "to": { "id": b.id } })
        );
        let to_b = s(&to_b["id"]);
        let r = ask(
            &app,
            a,
            json!({ "contactId": cora, "text": "Any neighbours with a leak?" }),
        )
        .await;
        let to_cora = &data(r)["requestReferrals"];
        assert_eq!(
            to_cora,
            &json!({ "id": to_cora["id"], "text": "Any neighbours with a leak?",
                     "askedOn": day(0), "circleBackOn": day(14), "to": { "id": cora } })
        );
        let to_cora = s(&to_cora["id"]);
        // 2000 characters (4000 bytes) is the most.
        let long = "é".repeat(2000);
        let r = ask(&app, a, json!({ "contactId": pia, "text": long })).await;
        assert_eq!(data(r)["requestReferrals"]["text"], long);
        assert_eq!(requests(&app).await, 3);

        // Unanswered: all three come back in 14 days, in the order asked.
        let d = app
            .ok(Some(&a.token), "DueRequests", json!({ "on": day(14) }))
            .await;
        let due = &d["dueRequests"];
        assert_eq!(due["totalCount"], 3);
        assert_eq!(
            due["edges"][0]["node"],
            json!({ "id": to_b, "text": "Who needs a new roof?\nAsk me.", "askedOn": day(0),
                    "response": null, "circleBackOn": day(14),
                    "to": { "id": b.id, "name": "Member 1" } })
        );
        assert_eq!(
            due["edges"][1]["node"],
            json!({ "id": to_cora, "text": "Any neighbours with a leak?", "askedOn": day(0),
                    "response": null, "circleBackOn": day(14),
                    "to": { "id": cora, "name": "Cora Client" } })
        );
        // They are the requester's own: the member asked sees none of them.
        assert!(due_ids(&app, &b.token, Some(day(14))).await.is_empty());
        let row = app.request_row(&to_b).await;
        assert_eq!(
            (row.response, row.answered_on, row.reason),
            (None, None, None)
        );
    }
);

db_test!(
    requests_refuse_bad_input_strangers_and_other_callers,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (a, b, gone) = (&c.members[0], &c.members[1], &c.members[2]);
        app.unseat(&c.leader.token, &c.group, &gone.id, &day(0))
            .await;
        let (_hilltop, hugo) = app.other_leader(&c.admin).await;
        let mine = add_contact(&app, a, "Cora Client", "CLIENT", None).await;
        let bs = add_contact(&app, b, "Bea Client", "CLIENT", None).await;
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let unknown = uuid::Uuid::now_v7().to_string();
        let text = "Who needs a roofer?";

        let before = app.snapshot().await;
        let cases = [
            // Exactly one of memberId / contactId.
            (
                json!({ "memberId": b.id, "contactId": mine, "text": text }),
                "BAD_USER_INPUT",
                "input.memberId",
            ),
            (json!({ "text": text }), "BAD_USER_INPUT", "input.memberId"),
            // Text: required (after trimming), at most 2000 characters.
            (
                json!({ "memberId": b.id, "text": "" }),
                "BAD_USER_INPUT",
                "input.text",
            ),
            (
                json!({ "memberId": b.id, "text": " \n\t " }),
                "BAD_USER_INPUT",
                "input.text",
            ),
            (
                json!({ "memberId": b.id, "text": "x".repeat(2001) }),
                "BAD_USER_INPUT",
                "input.text",
            ),
            (
                json!({ "contactId": mine, "text": "é".repeat(2001) }),
                "BAD_USER_INPUT",
                "input.text",
            ),
            // Not oneself.
            (
                json!({ "memberId": a.id, "text": text }),
                "BAD_USER_INPUT",
                "input.memberId",
            ),
            (
                json!({ "memberId": "not-an-id", "text": text }),
                "BAD_USER_INPUT",
                "input.memberId",
            ),
            // Members sharing no active group: another group's leader, a
            // member who left, a member who does not exist.
            (
                json!({ "memberId": hugo.id, "text": text }),
                "NOT_FOUND",
                "input.memberId",
            ),
            (
                json!({ "memberId": gone.id, "text": text }),
                "NOT_FOUND",
                "input.memberId",
            ),
            (
                json!({ "memberId": unknown, "text": text }),
                "NOT_FOUND",
                "input.memberId",
            ),
            // Someone else's contact, or no contact at all.
            (
                json!({ "contactId": bs, "text": text }),
                "NOT_FOUND",
                "input.contactId",
            ),
            (
                json!({ "contactId": unknown, "text": text }),
                "NOT_FOUND",
                "input.contactId",
            ),
        ];
        for (input, expected, f) in cases {
            let resp = ask(&app, a, input.clone()).await;
            refused(&resp, expected, Some(f), &input.to_string());
        }
        // The member who left shares nothing with anyone now, nor does the
        // admin (no seat), nor Hugo with Member 0.
        for (who, target) in [(gone, &a.id), (&hugo, &a.id)] {
            let resp = ask(&app, who, json!({ "memberId": target, "text": text })).await;
            refused(
                &resp,
                "NOT_FOUND",
                Some("input.memberId"),
                "no shared group",
            );
        }
        let resp = app
            .op(
                Some(&c.admin),
                "RequestReferrals",
                json!({ "input": { "memberId": a.id, "text": text } }),
            )
            .await;
        refused(&resp, "NOT_FOUND", Some("input.memberId"), "the admin");
        // Partner tokens and anonymous callers.
        let input = json!({ "input": { "memberId": b.id, "text": text } });
        let resp = app
            .op(Some(&secret), "RequestReferrals", input.clone())
            .await;
        refused(&resp, "FORBIDDEN", None, "partner token");
        let resp = app.op(None, "RequestReferrals", input).await;
        refused(&resp, "UNAUTHENTICATED", None, "anonymous");
        assert_eq!(app.snapshot().await, before);
        assert_eq!(requests(&app).await, 0);
    }
);

db_test!(
    detractors_and_recent_requests_are_conflicts,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (a, b, cy) = (&c.members[0], &c.members[1], &c.members[2]);
        // Member 0 and Member 1 share Harbour (re-ask 60) and Hilltop
        // (re-ask 20); Member 2 shares only Harbour with Member 0.
        let (hilltop, hugo) = app.other_leader(&c.admin).await;
        app.seat(&c.admin, &hilltop, &a.id, "MEMBER", &day(-60))
            .await;
        app.seat(&c.admin, &hilltop, &b.id, "MEMBER", &day(-60))
            .await;
        set_reask(&app, &c.leader.token, &c.group, 60).await;
        set_reask(&app, &hugo.token, &hilltop, 20).await;

        // ---- contacts: the latest NPS decides ----
        let four = add_contact(&app, a, "Dee Four", "CLIENT", Some(4)).await;
        let five = add_contact(&app, a, "Dora Five", "CLIENT", Some(5)).await;
        let fell = add_contact(&app, a, "Fay Fell", "CLIENT", Some(9)).await;
        set_nps(&app, a, &fell, 3).await;
        let rose = add_contact(&app, a, "Ray Rose", "CLIENT", Some(2)).await;
        set_nps(&app, a, &rose, 7).await;
        let unrated = add_contact(&app, a, "Una Unrated", "OTHER", None).await;
        let before = requests(&app).await;
        for (contact, who) in [(&four, "NPS 4"), (&fell, "NPS 9 then 3")] {
            let resp = ask(&app, a, json!({ "contactId": contact, "text": "Anyone?" })).await;
            refused(&resp, "CONFLICT", None, who);
        }
        assert_eq!(requests(&app).await, before);
        let to_five = ask_contact(&app, a, &five).await;
        ask_contact(&app, a, &rose).await;
        ask_contact(&app, a, &unrated).await;
        assert_eq!(requests(&app).await, before + 3);

        // ---- members: the smallest delay among the shared groups ----
        // Member 1: min(60, 20) = 20 days.
        let first = ask_member(&app, a, &b.id).await;
        let n = requests(&app).await;
        let again = json!({ "memberId": b.id, "text": "Me again" });
        refused(
            &ask(&app, a, again.clone()).await,
            "CONFLICT",
            None,
            "same day",
        );
        // An answer does not shorten the delay.
        data(respond(&app, Some(&a.token), &first, "NO", None).await);
        refused(
            &ask(&app, a, again.clone()).await,
            "CONFLICT",
            None,
            "after NO",
        );
        backdate_request(&app, &first, 19).await;
        refused(
            &ask(&app, a, again.clone()).await,
            "CONFLICT",
            None,
            "asked 19 days ago",
        );
        assert_eq!(requests(&app).await, n);
        backdate_request(&app, &first, 20).await;
        let second = s(&data(ask(&app, a, again.clone()).await)["requestReferrals"]["id"]);
        assert_ne!(second, first);
        // The new request is now the latest.
        refused(&ask(&app, a, again).await, "CONFLICT", None, "asked today");
        // Member 2: Harbour only, 60 days.
        let to_cy = ask_member(&app, a, &cy.id).await;
        backdate_request(&app, &to_cy, 59).await;
        let again = json!({ "memberId": cy.id, "text": "Me again" });
        refused(
            &ask(&app, a, again.clone()).await,
            "CONFLICT",
            None,
            "asked 59 days ago, 60-day delay",
        );
        backdate_request(&app, &to_cy, 60).await;
        data(ask(&app, a, again).await);
        // The delay is per person asked: Member 1 asks Member 0 freely.
        ask_member(&app, b, &a.id).await;

        // ---- contacts: the smallest delay among the caller's groups ----
        // Member 0 sits in Harbour (60) and Hilltop (20): 20 days.
        let again = json!({ "contactId": five, "text": "Me again" });
        backdate_request(&app, &to_five, 19).await;
        refused(
            &ask(&app, a, again.clone()).await,
            "CONFLICT",
            None,
            "contact asked 19 days ago",
        );
        backdate_request(&app, &to_five, 20).await;
        data(ask(&app, a, again).await);
        // Someone with no group at all: 90 days.
        let nina = app.person("Nina Nogroup", "Roofer").await;
        let hers = add_contact(&app, &nina, "Hal Client", "CLIENT", None).await;
        let to_hal = ask_contact(&app, &nina, &hers).await;
        let again = json!({ "contactId": hers, "text": "Me again" });
        backdate_request(&app, &to_hal, 89).await;
        let n = requests(&app).await;
        refused(
            &ask(&app, &nina, again.clone()).await,
            "CONFLICT",
            None,
            "no group, asked 89 days ago",
        );
        assert_eq!(requests(&app).await, n);
        backdate_request(&app, &to_hal, 90).await;
        data(ask(&app, &nina, again).await);
        assert_eq!(requests(&app).await, n + 1);
    }
);

// ---- RecordRequestResponse ----

db_test!(the_requester_records_answers, |app: TestApp| async move {
    let c = chapter(&app, 2).await;
    let (a, b) = (&c.members[0], &c.members[1]);
    let cora = add_contact(&app, a, "Cora Client", "CLIENT", None).await;
    // Harbour re-asks after 30 days; Member 0 also sits in Hilltop (20
    // days), which Member 1 does not.
    let (hilltop, hugo) = app.other_leader(&c.admin).await;
    app.seat(&c.admin, &hilltop, &a.id, "MEMBER", &day(-60))
        .await;
    set_reask(&app, &c.leader.token, &c.group, 30).await;
    set_reask(&app, &hugo.token, &hilltop, 20).await;
    let to_b = ask_member(&app, a, &b.id).await;
    let to_cora = ask_contact(&app, a, &cora).await;

    // NOT_NOW on the member: the shared group's 30 days (not Hilltop's 20).
    let r = respond(
        &app,
        Some(&a.token),
        &to_b,
        "NOT_NOW",
        Some("  Busy season  "),
    )
    .await;
    assert_eq!(
        data(r)["recordRequestResponse"],
        json!({ "id": to_b, "response": "NOT_NOW", "reason": "Busy season",
                    "answeredOn": day(0), "circleBackOn": day(30) })
    );
    // NOT_NOW on a contact: the smallest among the caller's groups, 20.
    let r = respond(&app, Some(&a.token), &to_cora, "NOT_NOW", None).await;
    assert_eq!(
        data(r)["recordRequestResponse"],
        json!({ "id": to_cora, "response": "NOT_NOW", "reason": null,
                    "answeredOn": day(0), "circleBackOn": day(20) })
    );
    // The delay in force when answering counts: Harbour now 45.
    set_reask(&app, &c.leader.token, &c.group, 45).await;
    let r = respond(&app, Some(&a.token), &to_b, "NOT_NOW", None).await;
    assert_eq!(data(r)["recordRequestResponse"]["circleBackOn"], day(45));
    assert_eq!(
        due_ids(&app, &a.token, Some(day(45))).await,
        [to_cora.clone(), to_b.clone()]
    );
    // YES and NO close the request.
    let r = respond(&app, Some(&a.token), &to_b, "YES", None).await;
    assert_eq!(
        data(r)["recordRequestResponse"],
        json!({ "id": to_b, "response": "YES", "reason": null,
                    "answeredOn": day(0), "circleBackOn": null })
    );
    let r = respond(&app, Some(&a.token), &to_cora, "NO", Some("Retired")).await;
    assert_eq!(
        data(r)["recordRequestResponse"],
        json!({ "id": to_cora, "response": "NO", "reason": "Retired",
                    "answeredOn": day(0), "circleBackOn": null })
    );
    assert!(due_ids(&app, &a.token, Some(day(400))).await.is_empty());

    // Only the requester: the member asked, the group's leader and the
    // admin all get NOT_FOUND, as does an unknown request.
    let firm_id = firm(&app, &c, "Harbour Bank").await;
    let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
    let before = app.snapshot().await;
    for (who, t) in [
        ("the member asked", &b.token),
        ("the leader", &c.leader.token),
        ("the admin", &c.admin),
    ] {
        let resp = respond(&app, Some(t), &to_cora, "NOT_NOW", None).await;
        refused(&resp, "NOT_FOUND", Some("input.requestId"), who);
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    let resp = respond(&app, Some(&a.token), &unknown, "YES", None).await;
    refused(&resp, "NOT_FOUND", Some("input.requestId"), "unknown");
    let long = "r".repeat(2001);
    let resp = respond(&app, Some(&a.token), &to_cora, "YES", Some(&long)).await;
    refused(&resp, "BAD_USER_INPUT", Some("input.reason"), "long reason");
    let resp = respond(&app, Some(&secret), &to_cora, "YES", None).await;
    refused(&resp, "FORBIDDEN", None, "partner token");
    let resp = respond(&app, None, &to_cora, "YES", None).await;
    refused(&resp, "UNAUTHENTICATED", None, "anonymous");
    assert_eq!(app.snapshot().await, before);
    let row = app.request_row(&to_cora).await;
    assert_eq!(row.response, Some(RequestResponse::No));
    assert_eq!(row.reason.as_deref(), Some("Retired"));
    assert_eq!(row.circle_back_on, None);
});

// ---- Referrals that answer requests ----

db_test!(
    referrals_from_the_person_asked_answer_the_latest_request,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (a, b, cy) = (&c.members[0], &c.members[1], &c.members[2]);
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;

        // Given before any request: answers nothing.
        let early = give(&app, b, &a.id).await;
        let first = ask_member(&app, a, &b.id).await;
        let due = data(
            app.gql(Some(&a.token), DUE_WITH_REFERRALS, json!({ "on": day(14) }))
                .await,
        );
        assert_eq!(
            due["dueRequests"]["edges"][0]["node"],
            json!({ "id": first, "response": null, "circleBackOn": day(14), "referrals": [] })
        );
        // Not from the person asked, or not to the requester: nothing.
        let from_cy = give(&app, cy, &a.id).await;
        let reverse = give(&app, a, &b.id).await;
        let to_cy = give(&app, b, &cy.id).await;
        let from_firm = submit(&app, &secret, &a.id, "firm-1").await;
        for r in [&early, &from_cy, &reverse, &to_cy, &from_firm] {
            assert_eq!(attributed_to(&app, r).await, None, "{r}");
        }
        assert_eq!(
            due_ids(&app, &a.token, Some(day(14))).await,
            [first.as_str()]
        );

        // Member 1 gives Member 0 a referral: it answers the request, which
        // now reads YES, answered today, nothing due.
        let answer = give(&app, b, &a.id).await;
        assert_eq!(attributed_to(&app, &answer).await, Some(first.clone()));
        let row = app.request_row(&first).await;
        assert_eq!(
            (row.response, row.answered_on, row.circle_back_on),
            (Some(RequestResponse::Yes), Some(date(0)), None)
        );
        assert!(due_ids(&app, &a.token, Some(day(400))).await.is_empty());
        // Until the next request, every referral from them counts for it;
        // the recorded YES keeps its day, and the row is not rewritten.
        referral_request::Entity::update_many()
            .set(referral_request::ActiveModel {
                answered_on: Set(Some(date(-3))),
                ..Default::default()
            })
            .filter(referral_request::Column::Id.eq(first.as_str()))
            .exec(&app.db)
            .await
            .expect("move the answer's day back");
        let answered = app.request_row(&first).await;
        let more = give(&app, b, &a.id).await;
        assert_eq!(attributed_to(&app, &more).await, Some(first.clone()));
        assert_eq!(app.request_row(&first).await, answered);

        // A second request (the first moved back past Harbour's 90 days):
        // new referrals count for it, not the first.
        backdate_request(&app, &first, 90).await;
        let second = ask_member(&app, a, &b.id).await;
        let later = give(&app, b, &a.id).await;
        assert_eq!(attributed_to(&app, &later).await, Some(second.clone()));
        assert_eq!(
            referrals_of(&app, &a.token, &first).await,
            [answer.clone(), more.clone()]
        );
        assert_eq!(referrals_of(&app, &a.token, &second).await, [later]);

        // A request answered NOT_NOW is due later, until a referral answers it.
        let to_cy_request = ask_member(&app, a, &cy.id).await;
        data(
            respond(
                &app,
                Some(&a.token),
                &to_cy_request,
                "NOT_NOW",
                Some("Ask in spring"),
            )
            .await,
        );
        let due = data(
            app.gql(Some(&a.token), DUE_WITH_REFERRALS, json!({ "on": day(90) }))
                .await,
        );
        assert_eq!(
            due["dueRequests"]["edges"],
            json!([{ "node": { "id": to_cy_request, "response": "NOT_NOW",
                               "circleBackOn": day(90), "referrals": [] } }])
        );
        let from_cy_now = give(&app, cy, &a.id).await;
        assert_eq!(
            attributed_to(&app, &from_cy_now).await,
            Some(to_cy_request.clone())
        );
        assert!(due_ids(&app, &a.token, Some(day(400))).await.is_empty());
        let row = app.request_row(&to_cy_request).await;
        assert_eq!(
            (row.response, row.circle_back_on, row.reason.as_deref()),
            (Some(RequestResponse::Yes), None, Some("Ask in spring"))
        );

        // Contacts: what the contact gives the requester (recorded by the
        // requester) answers the request to that contact; what the requester
        // gives the contact, or another contact's referral, does not.
        let cora = add_contact(&app, a, "Cora Client", "CLIENT", None).await;
        let pia = add_contact(&app, a, "Pia Pro", "PROFESSIONAL", None).await;
        let to_cora = ask_contact(&app, a, &cora).await;
        let to_her = give_to_contact(&app, a, &cora).await;
        let from_pia = outside(&app, a, &pia, 3).await;
        assert_eq!(attributed_to(&app, &to_her).await, None);
        assert_eq!(attributed_to(&app, &from_pia).await, None);
        assert_eq!(
            due_ids(&app, &a.token, Some(day(14))).await,
            [to_cora.as_str()]
        );
        let from_cora = outside(&app, a, &cora, 4).await;
        assert_eq!(attributed_to(&app, &from_cora).await, Some(to_cora.clone()));
        assert!(due_ids(&app, &a.token, Some(day(14))).await.is_empty());
        assert_eq!(referrals_of(&app, &a.token, &to_cora).await, [from_cora]);
    }
);

db_test!(
    a_referral_answering_a_request_waits_for_a_change_to_its_answer,
    |app: TestApp| async move {
        // The requester records an answer while a referral answering the
        // request is written: one waits for the other, even when the
        // request reads YES already (the referral's update then changes
        // nothing, but still holds the row), so the answer's check of the
        // referrals that answer the request sees this one.
        use sea_orm::{ConnectionTrait, TransactionTrait};
        let app = &app;
        let c = chapter(app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let request = ask_member(app, a, &b.id).await;
        data(respond(app, Some(&a.token), &request, "YES", None).await);
        let answered = app.request_row(&request).await;

        // Another writer holds the request (on SQLite, the database).
        let holder = app.db.begin().await.unwrap();
        holder
            .execute_raw(sea_orm::Statement::from_sql_and_values(
                holder.get_database_backend(),
                match holder.get_database_backend() {
                    sea_orm::DbBackend::Postgres => {
                        "UPDATE referral_requests SET text = text WHERE id = $1"
                    }
                    _ => "UPDATE referral_requests SET text = text WHERE id = ?",
                },
                [request.clone().into()],
            ))
            .await
            .unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        let giving = async {
            let given = app
                .ok(
                    Some(&b.token),
                    "GiveReferral",
                    give_vars(&a.id, "PORTAL", None),
                )
                .await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            given
        };
        let release = async {
            tokio::time::sleep(std::time::Duration::from_millis(600)).await;
            let early = done.load(std::sync::atomic::Ordering::SeqCst);
            holder.commit().await.unwrap();
            early
        };
        let (given, early) = tokio::join!(giving, release);
        assert!(!early, "the referral did not wait");
        let id = s(&given["giveReferral"]["id"]);
        assert_eq!(attributed_to(app, &id).await, Some(request.clone()));
        // The YES keeps its day and the row its time.
        assert_eq!(app.request_row(&request).await, answered);
    }
);

db_test!(
    a_referral_answer_stands_and_a_new_request_replaces_a_waiting_one,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);

        // A request answered by a referral stays YES: NOT_NOW or NO is
        // CONFLICT and writes nothing; YES may add a reason and keeps the
        // day the referral answered it.
        let asked = ask_member(&app, a, &b.id).await;
        let answer = give(&app, b, &a.id).await;
        backdate_request(&app, &asked, 3).await;
        let before = app.request_row(&asked).await;
        for r in ["NOT_NOW", "NO"] {
            let resp = respond(&app, Some(&a.token), &asked, r, Some("changed my mind")).await;
            refused(&resp, "CONFLICT", None, r);
            assert_eq!(app.request_row(&asked).await, before, "{r} wrote nothing");
        }
        data(respond(&app, Some(&a.token), &asked, "YES", Some("Two good leads")).await);
        let row = app.request_row(&asked).await;
        assert_eq!(
            (
                row.response,
                row.answered_on,
                row.reason.as_deref(),
                row.circle_back_on
            ),
            (
                Some(RequestResponse::Yes),
                before.answered_on,
                Some("Two good leads"),
                None
            )
        );

        // Once its only referral is withdrawn the request lists none, and
        // an answer may be recorded again.
        moves(&app, &b.token, &answer, &["WITHDRAWN"]).await;
        assert!(referrals_of(&app, &a.token, &asked).await.is_empty());
        data(respond(&app, Some(&a.token), &asked, "NO", None).await);
        assert_eq!(
            app.request_row(&asked).await.response,
            Some(RequestResponse::No)
        );

        // A request still waiting is replaced by the next one to the same
        // person: only the new one is due.
        let cy = add_contact(&app, a, "Cy Client", "CLIENT", None).await;
        let waiting = ask_contact(&app, a, &cy).await;
        backdate_request(&app, &waiting, 90).await;
        set_circle_back(&app, &waiting, date(-76)).await;
        assert_eq!(
            due_ids(&app, &a.token, Some(day(0))).await,
            std::slice::from_ref(&waiting)
        );
        let next = ask_contact(&app, a, &cy).await;
        assert_eq!(app.request_row(&waiting).await.circle_back_on, None);
        assert_eq!(due_ids(&app, &a.token, Some(day(14))).await, [next]);

        // An admin asking about a member who does not exist: NOT_FOUND.
        let r = app
            .gql(
                Some(&c.admin),
                "query($m: ID) { sourcesReport(memberId: $m, from: \"2026-01-01\", to: \"2026-01-31\") { total { received } } }",
                json!({ "m": "00000000-0000-0000-0000-000000000000" }),
            )
            .await;
        refused(&r, "NOT_FOUND", Some("memberId"), "unknown member");
    }
);

// ---- DueRequests ----

db_test!(
    due_requests_oldest_circle_back_first_with_paging,
    |app: TestApp| async move {
        let c = chapter(&app, 4).await;
        let (a, b, cy, d) = (&c.members[0], &c.members[1], &c.members[2], &c.members[3]);
        let kim = add_contact(&app, a, "Kim Client", "CLIENT", None).await;
        let kai = add_contact(&app, a, "Kai Pro", "PROFESSIONAL", None).await;
        set_reask(&app, &c.leader.token, &c.group, 30).await;

        // to Member 1: unanswered, due day +14.
        let to_b = ask_member(&app, a, &b.id).await;
        // to Member 2: NOT_NOW, due day +30.
        let to_cy = ask_member(&app, a, &cy.id).await;
        data(respond(&app, Some(&a.token), &to_cy, "NOT_NOW", None).await);
        // to Member 3: NO, never due.
        let to_d = ask_member(&app, a, &d.id).await;
        data(respond(&app, Some(&a.token), &to_d, "NO", None).await);
        // to Kim: asked 20 days ago, due 6 days ago.
        let to_kim = ask_contact(&app, a, &kim).await;
        backdate_request(&app, &to_kim, 20).await;
        set_circle_back(&app, &to_kim, date(-6)).await;
        // to Kai: YES, never due.
        let to_kai = ask_contact(&app, a, &kai).await;
        data(respond(&app, Some(&a.token), &to_kai, "YES", None).await);
        // Member 1's own request is theirs alone.
        let bs = ask_member(&app, b, &a.id).await;

        // Default: today. Only Kim's is due.
        let due = app.ok(Some(&a.token), "DueRequests", json!({})).await;
        assert_eq!(
            due["dueRequests"],
            json!({ "totalCount": 1,
                    "pageInfo": { "hasNextPage": false, "endCursor": due["dueRequests"]["pageInfo"]["endCursor"] },
                    "edges": [{ "node": { "id": to_kim, "text": "Any friends who need a roofer?",
                        "askedOn": day(-20), "response": null, "circleBackOn": day(-6),
                        "to": { "id": kim, "name": "Kim Client" } } }] })
        );
        // Before Kim's day: nothing.
        let due = app
            .ok(Some(&a.token), "DueRequests", json!({ "on": day(-7) }))
            .await;
        assert_eq!(
            due["dueRequests"],
            json!({ "totalCount": 0, "pageInfo": { "hasNextPage": false, "endCursor": null }, "edges": [] })
        );
        assert_eq!(
            due_ids(&app, &a.token, Some(day(-6))).await,
            [to_kim.as_str()]
        );
        assert_eq!(
            due_ids(&app, &a.token, Some(day(13))).await,
            [to_kim.as_str()]
        );
        assert_eq!(
            due_ids(&app, &a.token, Some(day(14))).await,
            [to_kim.clone(), to_b.clone()]
        );
        // Paging on day +30: Kim (-6), Member 1 (+14) | Member 2 (+30).
        let page = app
            .ok(
                Some(&a.token),
                "DueRequests",
                json!({ "on": day(30), "first": 2 }),
            )
            .await;
        let page = &page["dueRequests"];
        assert_eq!(page["totalCount"], 3);
        assert_eq!(page["pageInfo"]["hasNextPage"], true);
        assert_eq!(ids(&page["edges"], "/node/id"), [to_kim, to_b]);
        let next = app
            .ok(
                Some(&a.token),
                "DueRequests",
                json!({ "on": day(30), "first": 2, "after": page["pageInfo"]["endCursor"] }),
            )
            .await;
        let next = &next["dueRequests"];
        assert_eq!(next["totalCount"], 3);
        assert_eq!(next["pageInfo"]["hasNextPage"], false);
        assert_eq!(
            next["edges"],
            json!([{ "node": { "id": to_cy, "text": "Who do you know who needs a roofer?",
                "askedOn": day(0), "response": "NOT_NOW", "circleBackOn": day(30),
                "to": { "id": cy.id, "name": "Member 2" } } }])
        );
        assert_eq!(due_ids(&app, &b.token, Some(day(30))).await, [bs]);
    }
);

// ---- SourcesReport ----

db_test!(
    sources_report_breaks_received_business_down,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (r, m1, m2) = (&c.members[0], &c.members[1], &c.members[2]);
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let client = add_contact(&app, r, "Cleo Client", "CLIENT", None).await;
        let pro = add_contact(&app, r, "Pat Pro", "PROFESSIONAL", None).await;
        let prospect = add_contact(&app, r, "Pam Prospect", "PROSPECT", None).await;
        let other = add_contact(&app, r, "Oz Other", "OTHER", None).await;
        app.one_to_one(&m2.token, &r.id, &day(0)).await;

        // Received by Member 0 (channel, temperature, outcome):
        //   from Member 1: a PORTAL 4 WON 1000.00, l PORTAL 4 WON 1.00,
        //     b PORTAL 4 LOST, k PORTAL 4 open, edge PORTAL 4 open (made at
        //     the period's first instant);
        //   from Member 2: cc ONE_TO_ONE 2 WON 500.00, d PORTAL 5 DECLINED;
        //   from the firm: e PARTNER_API 3 WON 250.50, f PARTNER_API 3 open;
        //   from contacts (PORTAL): g client 1 WON 99.99, h professional 2
        //     ACCEPTED, i prospect 5 LOST, j other 5 open.
        // Left out: w (withdrawn), old (one second before the period),
        // late (the first instant after it), given by Member 0, received by
        // Member 2.
        let a = give_with(&app, m1, &r.id, "PORTAL", 4).await;
        win(&app, &r.token, &a, "1000.00").await;
        let l = give_with(&app, m1, &r.id, "PORTAL", 4).await;
        win(&app, &r.token, &l, "1.00").await;
        let b = give_with(&app, m1, &r.id, "PORTAL", 4).await;
        moves(&app, &r.token, &b, &["ACCEPTED", "LOST"]).await;
        give_with(&app, m1, &r.id, "PORTAL", 4).await;
        let edge = give_with(&app, m1, &r.id, "PORTAL", 4).await;
        let old = give_with(&app, m1, &r.id, "PORTAL", 4).await;
        let late = give_with(&app, m1, &r.id, "PORTAL", 4).await;
        let cc = give_with(&app, m2, &r.id, "ONE_TO_ONE", 2).await;
        win(&app, &r.token, &cc, "500.00").await;
        let d = give_with(&app, m2, &r.id, "PORTAL", 5).await;
        moves(&app, &r.token, &d, &["DECLINED"]).await;
        let w = give_with(&app, m2, &r.id, "PORTAL", 4).await;
        moves(&app, &m2.token, &w, &["WITHDRAWN"]).await;
        let e = submit(&app, &secret, &r.id, "key-e").await;
        win(&app, &r.token, &e, "250.50").await;
        submit(&app, &secret, &r.id, "key-f").await;
        let g = outside(&app, r, &client, 1).await;
        win(&app, &r.token, &g, "99.99").await;
        let h = outside(&app, r, &pro, 2).await;
        moves(&app, &r.token, &h, &["ACCEPTED"]).await;
        let i = outside(&app, r, &prospect, 5).await;
        moves(&app, &r.token, &i, &["ACCEPTED", "LOST"]).await;
        outside(&app, r, &other, 5).await;
        give_with(&app, r, &m1.id, "PORTAL", 4).await;
        give_with(&app, m1, &m2.id, "PORTAL", 4).await;

        // Days to win, whole days rounded down:
        //   a 20 days old, won 10 days ago: 10;  l: 1 day 12 hours: 1;
        //   cc: 6 days 18 hours: 6;  e: 4 days: 4;  g: 3 days 23 hours: 3.
        let t0 = now_s();
        let days = Duration::days;
        set_times(&app, &a, t0 - days(20), Some(t0 - days(10))).await;
        set_times(
            &app,
            &l,
            t0 - days(15),
            Some(t0 - days(13) - Duration::hours(12)),
        )
        .await;
        set_times(
            &app,
            &cc,
            t0 - days(9),
            Some(t0 - days(2) - Duration::hours(6)),
        )
        .await;
        set_times(&app, &e, t0 - days(5), Some(t0 - days(1))).await;
        set_times(&app, &g, t0 - days(4), Some(t0 - Duration::hours(1))).await;
        set_times(&app, &edge, midnight(-30), None).await;
        set_times(&app, &old, midnight(-30) - Duration::seconds(1), None).await;
        set_times(&app, &late, midnight(1), None).await;

        let vars = json!({ "m": r.id, "from": day(-30), "to": day(0) });
        let report = data(app.gql(Some(&r.token), SOURCES_FULL, vars.clone()).await);
        let report = &report["sourcesReport"];
        assert_eq!(report["from"], day(-30));
        assert_eq!(report["to"], day(0));
        // The member's home currency (Harbour's).
        assert_eq!(report["currency"], "EUR");
        // 13 received: won a l cc e g = 5; lost b d i = 3; open k edge f h j = 5.
        // 1000.00 + 1.00 + 500.00 + 250.50 + 99.99 = 1851.49.
        // Days 1 3 4 6 10: median 4.
        assert_eq!(report["total"], conv(13, 5, 3, 5, "1851.49", Some(4.0)));
        assert_eq!(
            report["bySource"],
            json!([
                // a l b k edge cc d: won a l cc, lost b d; days 10 1 6 -> 6.
                { "source": "MEMBER", "conversion": conv(7, 3, 2, 2, "1501.00", Some(6.0)) },
                { "source": "PARTNER_FIRM", "conversion": conv(2, 1, 0, 1, "250.50", Some(4.0)) },
                { "source": "CLIENT", "conversion": conv(1, 1, 0, 0, "99.99", Some(3.0)) },
                { "source": "PROFESSIONAL", "conversion": conv(1, 0, 0, 1, "0.00", None) },
                // prospect (LOST) and other (open).
                { "source": "OTHER_CONTACT", "conversion": conv(2, 0, 1, 1, "0.00", None) },
            ])
        );
        assert_eq!(
            report["byChannel"],
            json!([
                { "channel": "ONE_TO_ONE", "conversion": conv(1, 1, 0, 0, "500.00", Some(6.0)) },
                // a l b k edge d g h i j: won a l g (10 1 3 -> 3), lost b d i.
                { "channel": "PORTAL", "conversion": conv(10, 3, 3, 4, "1100.99", Some(3.0)) },
                { "channel": "PARTNER_API", "conversion": conv(2, 1, 0, 1, "250.50", Some(4.0)) },
            ])
        );
        assert_eq!(
            report["byTemperature"],
            json!([
                { "temperature": 1, "conversion": conv(1, 1, 0, 0, "99.99", Some(3.0)) },
                // cc h.
                { "temperature": 2, "conversion": conv(2, 1, 0, 1, "500.00", Some(6.0)) },
                // e f.
                { "temperature": 3, "conversion": conv(2, 1, 0, 1, "250.50", Some(4.0)) },
                // a l b k edge: days 10 and 1, an even count: 5.5.
                { "temperature": 4, "conversion": conv(5, 2, 1, 2, "1001.00", Some(5.5)) },
                // d i j.
                { "temperature": 5, "conversion": conv(3, 0, 2, 1, "0.00", None) },
            ])
        );
        // In the member's presence: the one-to-one and what contacts told
        // them (cc g h i j); PORTAL and PARTNER_API referrals are not.
        assert_eq!(
            report["byPresence"],
            json!([
                // Days 6 3 -> 4.5.
                { "madeInAbsence": false, "conversion": conv(5, 2, 1, 2, "599.99", Some(4.5)) },
                // a l b k edge d e f: days 10 1 4 -> 4.
                { "madeInAbsence": true, "conversion": conv(8, 3, 2, 3, "1251.50", Some(4.0)) },
            ])
        );
        assert_breakdowns_sum(report);

        // The contract's operation reads the same.
        let op = app
            .ok(
                Some(&r.token),
                "SourcesReport",
                json!({ "memberId": r.id, "from": day(-30), "to": day(0) }),
            )
            .await;
        assert_eq!(op["sourcesReport"]["total"], report["total"]);
        assert_eq!(
            op["sourcesReport"]["byChannel"][1],
            json!({ "channel": "PORTAL", "conversion": { "received": 10, "won": 3, "conversionRate": 0.3 } })
        );

        // Values in another currency: none of these; counts unchanged.
        let mut usd = vars.clone();
        usd["cur"] = json!("USD");
        let in_usd = data(app.gql(Some(&r.token), SOURCES_FULL, usd).await);
        assert_eq!(in_usd["sourcesReport"]["currency"], "USD");
        assert_eq!(
            in_usd["sourcesReport"]["total"],
            conv(13, 5, 3, 5, "0.00", Some(4.0))
        );

        // The group (its leader): also Member 0's referral to Member 1 and
        // Member 1's to Member 2, both PORTAL 4 open from members: 15
        // received, 7 open, MEMBER 9 received.
        let group = data(
            app.gql(
                Some(&c.leader.token),
                SOURCES_FULL,
                json!({ "g": c.group, "from": day(-30), "to": day(0) }),
            )
            .await,
        );
        let group = &group["sourcesReport"];
        assert_eq!(group["currency"], "EUR");
        assert_eq!(group["total"], conv(15, 5, 3, 7, "1851.49", Some(4.0)));
        assert_eq!(
            group["bySource"][0],
            json!({ "source": "MEMBER", "conversion": conv(9, 3, 2, 4, "1501.00", Some(6.0)) })
        );
        assert_eq!(group["bySource"][1], report["bySource"][1]);
        assert_breakdowns_sum(group);

        // The day before the period holds only `old` (Member 1, open).
        let before = data(
            app.gql(
                Some(&r.token),
                SOURCES_FULL,
                json!({ "m": r.id, "from": day(-400), "to": day(-31) }),
            )
            .await,
        );
        let before = &before["sourcesReport"];
        let one_open = conv(1, 0, 0, 1, "0.00", None);
        assert_eq!(before["total"], one_open);
        assert_eq!(
            before["bySource"],
            json!([{ "source": "MEMBER", "conversion": one_open }])
        );
        assert_eq!(
            before["byTemperature"],
            json!([{ "temperature": 4, "conversion": one_open }])
        );
        // A period with nothing in it.
        let empty = data(
            app.gql(
                Some(&r.token),
                SOURCES_FULL,
                json!({ "m": r.id, "from": day(-400), "to": day(-32) }),
            )
            .await,
        );
        let empty = &empty["sourcesReport"];
        assert_eq!(empty["total"], conv(0, 0, 0, 0, "0.00", None));
        for key in ["bySource", "byChannel", "byTemperature", "byPresence"] {
            assert_eq!(empty[key], json!([]), "{key}");
        }
    }
);

db_test!(
    sources_report_is_for_the_member_their_leaders_and_admins,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (r, m1, gone) = (&c.members[0], &c.members[1], &c.members[2]);
        let (hilltop, hugo) = app.other_leader(&c.admin).await;
        app.unseat(&c.leader.token, &c.group, &gone.id, &day(0))
            .await;
        let won = give(&app, m1, &r.id).await;
        win(&app, &r.token, &won, "10.00").await;
        let period = |scope: Value| {
            let mut v = json!({ "from": day(-7), "to": day(0) });
            for (k, x) in scope.as_object().unwrap() {
                v[k] = x.clone();
            }
            v
        };
        // Won the same day it was made: 0 days.
        let expected = json!({ "received": 1, "won": 1, "lost": 0, "open": 0,
            "conversionRate": 1.0, "wonValue": "10.00", "medianDaysToWin": 0.0 });
        // The member, the admin, and a leader of a group they sit in.
        for (who, t) in [
            ("the member", &r.token),
            ("the admin", &c.admin),
            ("the leader", &c.leader.token),
        ] {
            let d = app
                .ok(
                    Some(t),
                    "SourcesReport",
                    period(json!({ "memberId": r.id })),
                )
                .await;
            assert_eq!(d["sourcesReport"]["total"], expected, "{who}");
        }
        // Another member, another group's leader, and a leader about a
        // member who has left: NOT_FOUND.
        for (who, t, m) in [
            ("another member", &m1.token, &r.id),
            ("another group's leader", &hugo.token, &r.id),
            ("a member who left", &c.leader.token, &gone.id),
        ] {
            let resp = app
                .op(Some(t), "SourcesReport", period(json!({ "memberId": m })))
                .await;
            refused(&resp, "NOT_FOUND", Some("memberId"), who);
        }
        // The group: its leaders and admins; a plain member is FORBIDDEN,
        // and so is another group's leader.
        for t in [&c.leader.token, &c.admin] {
            let d = app
                .ok(
                    Some(t),
                    "SourcesReport",
                    period(json!({ "groupId": c.group })),
                )
                .await;
            assert_eq!(d["sourcesReport"]["total"], expected);
        }
        for (who, t) in [("a member", &r.token), ("Hugo", &hugo.token)] {
            let resp = app
                .op(
                    Some(t),
                    "SourcesReport",
                    period(json!({ "groupId": c.group })),
                )
                .await;
            refused(&resp, "FORBIDDEN", None, who);
        }
        // Hugo's own group is his to read (nothing received there).
        let d = app
            .ok(
                Some(&hugo.token),
                "SourcesReport",
                period(json!({ "groupId": hilltop })),
            )
            .await;
        assert_eq!(d["sourcesReport"]["total"], conv(0, 0, 0, 0, "0.00", None));
        // Exactly one scope, and a period in order.
        for scope in [json!({}), json!({ "memberId": r.id, "groupId": c.group })] {
            let resp = app
                .op(Some(&r.token), "SourcesReport", period(scope.clone()))
                .await;
            refused(
                &resp,
                "BAD_USER_INPUT",
                Some("memberId"),
                &scope.to_string(),
            );
        }
        for scope in [json!({ "memberId": r.id }), json!({ "groupId": c.group })] {
            let resp = app
                .op(
                    Some(&c.leader.token),
                    "SourcesReport",
                    json!({ "memberId": scope["memberId"], "groupId": scope["groupId"],
                            "from": day(0), "to": day(-1) }),
                )
                .await;
            refused(&resp, "BAD_USER_INPUT", Some("to"), &scope.to_string());
        }
    }
);

// ---- WhoToAsk ----

db_test!(
    who_to_ask_ranks_promoters_and_partners_given_to_first,
    |app: TestApp| async move {
        let c = chapter(&app, 5).await;
        let a = &c.members[0];
        let (m1, m2, m3, m4) = (&c.members[1], &c.members[2], &c.members[3], &c.members[4]);
        // Nobody yet: no partners, no clients.
        assert!(who_to_ask(&app, &a.token, None).await.is_empty());

        // Candidates and their scores (NPS: promoter 3, passive 1, 5-6 -1;
        // + referrals given, at most 5; + 1 for a partner of a year or
        // more; + 2 after a YES, - 2 after a NO):
        // Quinn: promoter 9, partner 400 days, given 2: 3 + 2 + 1 = 6 (first tier).
        let quinn = add_contact(&app, a, "Quinn Promoter", "PROFESSIONAL", Some(9)).await;
        partner_with(&app, a, json!({ "contactId": quinn, "since": day(-400) })).await;
        for _ in 0..2 {
            give_to_contact(&app, a, &quinn).await;
        }
        // Member 4: partner today, given 6: min(6, 5) = 5 (first tier).
        partner_with(&app, a, json!({ "memberId": m4.id })).await;
        for _ in 0..6 {
            give(&app, a, &m4.id).await;
        }
        // Member 1: partner 400 days, given 2: 2 + 1 = 3 (first tier).
        partner_with(&app, a, json!({ "memberId": m1.id, "since": day(-400) })).await;
        for _ in 0..2 {
            give(&app, a, &m1.id).await;
        }
        // Cora: promoter 10, client: 3 (first tier; fewer given than Member 1).
        let cora = add_contact(&app, a, "Cora Client", "CLIENT", Some(10)).await;
        // Carl: NPS 6 (-1), given 1: 0 (not first tier: given to, but not
        // a partner).
        let carl = add_contact(&app, a, "Carl Client", "CLIENT", Some(6)).await;
        give_to_contact(&app, a, &carl).await;
        // Member 2: partner, said YES 100 days ago: 2.
        partner_with(&app, a, json!({ "memberId": m2.id })).await;
        let yes = ask_member(&app, a, &m2.id).await;
        data(respond(&app, Some(&a.token), &yes, "YES", None).await);
        backdate_request(&app, &yes, 100).await;
        // Pia: passive 8: 1.
        let pia = add_contact(&app, a, "Pia Passive", "PROFESSIONAL", Some(8)).await;
        // Abe and Ann: clients without a score: 0 each, by name.
        let ann = add_contact(&app, a, "Ann Client", "CLIENT", None).await;
        let abe = add_contact(&app, a, "Abe Client", "CLIENT", None).await;
        // Member 3: partner, said NO 100 days ago: -2.
        partner_with(&app, a, json!({ "memberId": m3.id })).await;
        let no = ask_member(&app, a, &m3.id).await;
        data(respond(&app, Some(&a.token), &no, "NO", None).await);
        backdate_request(&app, &no, 100).await;

        let list = who_to_ask(&app, &a.token, None).await;
        // First tier (promoters, and partners given to) by score, then
        // given: Quinn 6, Member 4 5, Member 1 3 (given 2), Cora 3 (given
        // 0); then Member 2 2, Pia 1, Carl 0 (given 1), Abe 0, Ann 0,
        // Member 3 -2.
        let expected = [
            &quinn, &m4.id, &m1.id, &cora, &m2.id, &pia, &carl, &abe, &ann, &m3.id,
        ];
        assert_eq!(partner_ids(&list), expected.map(String::clone), "{list:#?}");
        assert_eq!(
            list[0]["partner"],
            json!({ "id": quinn, "name": "Quinn Promoter", "npsScore": 9 })
        );
        assert_eq!(
            list[1]["partner"],
            json!({ "id": m4.id, "name": "Member 4" })
        );
        for row in &list {
            let reason = s(&row["reason"]);
            assert!(
                reason.len() > 10 && reason.ends_with('.'),
                "a sentence: {reason}"
            );
        }
        let reason = |i: usize| s(&list[i]["reason"]);
        for (i, parts) in [
            (
                0,
                &[
                    "promoter (NPS 9)",
                    "you gave them 2 referrals",
                    "your partner for 13 months",
                ][..],
            ),
            (1, &["You gave them 6 referrals"][..]),
            (
                2,
                &["You gave them 2 referrals", "your partner for 13 months"][..],
            ),
            (3, &["promoter (NPS 10)", "you have not asked them yet"][..]),
            (4, &["they said yes"][..]),
            (5, &["passive (NPS 8)"][..]),
            (6, &["(NPS 6)", "you gave them 1 referral "][..]),
            (9, &["they said no"][..]),
        ] {
            for part in parts {
                assert!(
                    reason(i).contains(part),
                    "{i}: {:?} lacks {part:?}",
                    reason(i)
                );
            }
        }
        // first: the best ones only.
        let top = who_to_ask(&app, &a.token, Some(3)).await;
        assert_eq!(partner_ids(&top), partner_ids(&list[..3]));
        assert!(who_to_ask(&app, &a.token, Some(0)).await.is_empty());
    }
);

db_test!(
    who_to_ask_leaves_out_detractors_the_recently_asked_and_new_members,
    |app: TestApp| async move {
        let c = chapter(&app, 5).await;
        let a = &c.members[0];
        let (m1, m2, m3) = (&c.members[1], &c.members[2], &c.members[3]);
        let twenty_nine = app.person("Twenty Nine", "Glazier").await;
        app.seat(
            &c.leader.token,
            &c.group,
            &twenty_nine.id,
            "MEMBER",
            &day(-29),
        )
        .await;
        let thirty = app.person("Thirty Days", "Tiler").await;
        app.seat(&c.leader.token, &c.group, &thirty.id, "MEMBER", &day(-30))
            .await;

        // Contacts: a latest NPS below 5 is never suggested (5 is).
        add_contact(&app, a, "Dee Four", "CLIENT", Some(4)).await;
        let five = add_contact(&app, a, "Dora Five", "CLIENT", Some(5)).await;
        let fell = add_contact(&app, a, "Fay Fell", "CLIENT", Some(9)).await;
        set_nps(&app, a, &fell, 3).await;
        let grumpy = add_contact(&app, a, "Ivy Grumpy", "OTHER", Some(2)).await;
        partner_with(&app, a, json!({ "contactId": grumpy })).await;
        // Prospects and others only as partners.
        add_contact(&app, a, "Paul Prospect", "PROSPECT", None).await;
        add_contact(&app, a, "Otto Other", "OTHER", None).await;
        let pete = add_contact(&app, a, "Pete Prospect", "PROSPECT", None).await;
        partner_with(&app, a, json!({ "contactId": pete })).await;
        // Asked within the delay (Harbour's 90 days): 89 days ago is too
        // recent, 90 days ago is not.
        let nell = add_contact(&app, a, "Nell Ninety", "CLIENT", None).await;
        let to_nell = ask_contact(&app, a, &nell).await;
        backdate_request(&app, &to_nell, 90).await;
        let ned = add_contact(&app, a, "Ned Eightynine", "CLIENT", None).await;
        let to_ned = ask_contact(&app, a, &ned).await;
        backdate_request(&app, &to_ned, 89).await;
        // Members, all partners: asked today; left the group; partnership
        // ended; seated 29 days ago (too new) and 30 days ago (fine).
        // Member 4 is in the group but no partner: not a candidate.
        for m in [&m1.id, &m2.id, &twenty_nine.id, &thirty.id] {
            partner_with(&app, a, json!({ "memberId": m })).await;
        }
        let ended = partner_with(&app, a, json!({ "memberId": m3.id })).await;
        app.ok(
            Some(&a.token),
            "UpdatePartnership",
            json!({ "input": { "partnershipId": ended, "endedOn": day(0) } }),
        )
        .await;
        ask_member(&app, a, &m1.id).await;
        app.unseat(&c.leader.token, &c.group, &m2.id, &day(0)).await;

        // Left: Nell, Pete, Thirty Days (0 each, by name), Dora (NPS 5: -1).
        let list = who_to_ask(&app, &a.token, None).await;
        assert_eq!(
            partner_ids(&list),
            [nell, pete, thirty.id.clone(), five.clone()],
            "{list:#?}"
        );
        assert_eq!(
            list[3]["partner"],
            json!({ "id": five, "name": "Dora Five", "npsScore": 5 })
        );
        assert!(
            s(&list[0]["reason"])
                .contains(&format!("no answer yet to your request of {}", day(-90)))
        );
        assert!(s(&list[2]["reason"]).contains("your partner for 0 days"));
        // Twenty Nine becomes a candidate on the 30th day.
        entities::membership::Entity::update_many()
            .set(entities::membership::ActiveModel {
                joined_on: Set(date(-30)),
                ..Default::default()
            })
            .filter(entities::membership::Column::MemberId.eq(twenty_nine.id.clone()))
            .exec(&app.db)
            .await
            .expect("move the seat");
        let list = who_to_ask(&app, &a.token, None).await;
        assert_eq!(list.len(), 5, "{list:#?}");
        assert!(partner_ids(&list).contains(&twenty_nine.id));
    }
);

// ---- Reciprocity ----

db_test!(
    reciprocity_lists_who_gave_more_than_they_got,
    |app: TestApp| async move {
        let c = chapter(&app, 4).await;
        let a = &c.members[0];
        let (m1, m2, m3) = (&c.members[1], &c.members[2], &c.members[3]);
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let kim = add_contact(&app, a, "Kim Client", "CLIENT", None).await;
        let kai = add_contact(&app, a, "Kai Pro", "PROFESSIONAL", None).await;
        let t0 = now_s();
        let days = Duration::days;
        let placed = |id: String, ago: i64| {
            let app = &app;
            async move {
                set_times(app, &id, t0 - days(ago), None).await;
                id
            }
        };

        // Member 1 gave 3 in the last year (364, 10 and 2 days ago; one 366
        // days old and one withdrawn do not count); Member 0 gave back 1.
        placed(give(&app, m1, &a.id).await, 364).await;
        placed(give(&app, m1, &a.id).await, 10).await;
        placed(give(&app, m1, &a.id).await, 2).await;
        placed(give(&app, m1, &a.id).await, 366).await;
        let w = give(&app, m1, &a.id).await;
        moves(&app, &m1.token, &w, &["WITHDRAWN"]).await;
        give(&app, a, &m1.id).await;
        // The firm gave 2 (30 and 1 days ago), got nothing.
        placed(submit(&app, &secret, &a.id, "f1").await, 30).await;
        placed(submit(&app, &secret, &a.id, "f2").await, 1).await;
        // Kim gave 1 (5 days ago).
        placed(outside(&app, a, &kim, 3).await, 5).await;
        // Member 3 gave 4, withdrew 3 (the one left: 3 days ago); Member 0's
        // referral to them is 366 days old.
        placed(give(&app, m3, &a.id).await, 3).await;
        for _ in 0..3 {
            let r = give(&app, m3, &a.id).await;
            moves(&app, &m3.token, &r, &["WITHDRAWN"]).await;
        }
        placed(give(&app, a, &m3.id).await, 366).await;
        // Member 2 gave 2 (4 and 20 days ago); Member 0 gave 2, one withdrawn.
        placed(give(&app, m2, &a.id).await, 4).await;
        placed(give(&app, m2, &a.id).await, 20).await;
        give(&app, a, &m2.id).await;
        let back = give(&app, a, &m2.id).await;
        moves(&app, &a.token, &back, &["WITHDRAWN"]).await;
        // Kai: 1 each way, even.
        outside(&app, a, &kai, 3).await;
        give_to_contact(&app, a, &kai).await;

        // Differences: firm 2, Member 1 3 - 1 = 2 (the firm gave last, 1
        // day ago vs 2); then Member 3 1, Member 2 2 - 1 = 1, Kim 1 (last
        // 3, 4 and 5 days ago).
        let rows = reciprocity(&app, &a.token, None).await;
        let expected = [
            (json!({ "id": firm_id, "name": "Harbour Bank" }), 2, 0, 1),
            (json!({ "id": m1.id, "name": "Member 1" }), 3, 1, 2),
            (json!({ "id": m3.id, "name": "Member 3" }), 1, 0, 3),
            (json!({ "id": m2.id, "name": "Member 2" }), 2, 1, 4),
            (json!({ "id": kim, "name": "Kim Client" }), 1, 0, 5),
        ];
        assert_eq!(rows.len(), expected.len(), "{rows:#?}");
        for (row, (partner, received, given, last)) in rows.iter().zip(&expected) {
            assert_eq!(&row["partner"], partner, "{row:#}");
            assert_eq!(row["receivedFrom"], *received, "{row:#}");
            assert_eq!(row["givenTo"], *given, "{row:#}");
            assert_eq!(at(&row["lastReceivedAt"]), t0 - days(*last), "{row:#}");
        }
        let top = reciprocity(&app, &a.token, Some(2)).await;
        assert_eq!(partner_ids(&top), [firm_id.clone(), m1.id.clone()]);
        assert!(reciprocity(&app, &a.token, Some(0)).await.is_empty());
        // Member 1 gave more than they got from Member 0: they owe nobody.
        assert!(reciprocity(&app, &m1.token, None).await.is_empty());
    }
);

// ---- GroupReport tenure bands ----

db_test!(group_report_tenure_bands, |app: TestApp| async move {
    let c = chapter(&app, 0).await;
    let lea = &c.leader;
    // Tenure on `to` (yesterday): joined on to - n days.
    let mut seated = Vec::new();
    for (name, tenure) in [
        ("Tess Oneeightytwo", 182),
        ("Tom Oneeightythree", 183),
        ("Tia Threesixtyfour", 364),
        ("Ted Threesixtyfive", 365),
        ("Uma Seventwentynine", 729),
        ("Ugo Seventhirty", 730),
    ] {
        let p = app.person(name, &format!("Trade {tenure}")).await;
        app.seat(&lea.token, &c.group, &p.id, "MEMBER", &day(-1 - tenure))
            .await;
        seated.push(p);
    }
    let (tess, tom, tia, _ted, uma, ugo) = (
        &seated[0], &seated[1], &seated[2], &seated[3], &seated[4], &seated[5],
    );
    // Seated today (after `to`) and gone before `from`: no rows.
    let newbie = app.person("Nora Newbie", "Trade new").await;
    app.seat(&lea.token, &c.group, &newbie.id, "MEMBER", &day(0))
        .await;
    let early = app.person("Lars Left", "Trade left").await;
    app.seat(&lea.token, &c.group, &early.id, "MEMBER", &day(-400))
        .await;
    app.unseat(&lea.token, &c.group, &early.id, &day(-20)).await;

    // Received in the period (5 days ago at noon), all from Lea: Tess 3
    // (one WON 100.00, won 3 days ago), Tom 1, Tia 3, Uma 1 (WON 50.25,
    // won 3 days ago), Ugo 1 (and 1 withdrawn, and 1 made today).
    let in_period = midnight(-5) + Duration::hours(12);
    let won_at = midnight(-3) + Duration::hours(12);
    for (p, n) in [(tess, 2), (tom, 1), (tia, 3), (ugo, 1)] {
        for _ in 0..n {
            let r = give(&app, lea, &p.id).await;
            set_times(&app, &r, in_period, None).await;
        }
    }
    for (p, value) in [(tess, "100.00"), (uma, "50.25")] {
        let won = give(&app, lea, &p.id).await;
        win(&app, &p.token, &won, value).await;
        set_times(&app, &won, in_period, Some(won_at)).await;
    }
    let withdrawn = give(&app, lea, &ugo.id).await;
    moves(&app, &lea.token, &withdrawn, &["WITHDRAWN"]).await;
    set_times(&app, &withdrawn, in_period, None).await;
    give(&app, lea, &ugo.id).await;

    let bands = |from: i64, to: i64, token: String| {
        let app = &app;
        let group = c.group.clone();
        async move {
            app.op(
                Some(&token),
                "GroupTenureBands",
                json!({ "groupId": group, "from": day(from), "to": day(to) }),
            )
            .await
        }
    };
    // Period: 14 days (2 weeks) ending yesterday. Tenure on that day:
    // Lea 59 and Tess 182: "<6m"; Tom 183 and Tia 364: "6-12m"; Ted 365
    // and Uma 729: "1-2y"; Ugo 730: "2y+". Nora (seated after `to`)
    // and Lars (gone before `from`) have no rows.
    //   <6m: 0 + 3 = 3 received -> 3 / 2 members / 2 weeks = 0.75; 100.00.
    //   6-12m: 1 + 3 = 4 -> 4 / 2 / 2 = 1.0.
    //   1-2y: 0 + 1 = 1 -> 1 / 2 / 2 = 0.25; 50.25.
    //   2y+: 1 (withdrawn and today's left out) -> 1 / 1 / 2 = 0.5.
    let r = bands(-14, -1, lea.token.clone()).await;
    assert_eq!(
        data(r)["groupReport"]["tenureBands"],
        json!([
            { "band": "<6m", "members": 2, "receivedPerWeek": 0.75, "wonValue": "100.00" },
            { "band": "6-12m", "members": 2, "receivedPerWeek": 1.0, "wonValue": "0.00" },
            { "band": "1-2y", "members": 2, "receivedPerWeek": 0.25, "wonValue": "50.25" },
            { "band": "2y+", "members": 1, "receivedPerWeek": 0.5, "wonValue": "0.00" },
        ])
    );
    // Ending today (14 days again): everyone a day older, Nora seated.
    //   <6m: Lea 60, Nora 0: 0 received -> 0.0.
    //   6-12m: Tess 183, Tom 184: 3 + 1 = 4 -> 4 / 2 / 2 = 1.0; 100.00.
    //   1-2y: Tia 365, Ted 366: 3 + 0 -> 3 / 2 / 2 = 0.75.
    //   2y+: Uma 730, Ugo 731: 1 + (1 + 1 today) = 3 -> 0.75; 50.25.
    // The admin reads it too.
    let r = bands(-13, 0, c.admin.clone()).await;
    assert_eq!(
        data(r)["groupReport"]["tenureBands"],
        json!([
            { "band": "<6m", "members": 2, "receivedPerWeek": 0.0, "wonValue": "0.00" },
            { "band": "6-12m", "members": 2, "receivedPerWeek": 1.0, "wonValue": "100.00" },
            { "band": "1-2y", "members": 2, "receivedPerWeek": 0.75, "wonValue": "0.00" },
            { "band": "2y+", "members": 2, "receivedPerWeek": 0.75, "wonValue": "50.25" },
        ])
    );
    // A 3-day period holding only today's referral to Ugo: 3/7 of a
    // week, so 1 / 2 members / (3 / 7).
    let r = bands(-2, 0, lea.token.clone()).await;
    assert_eq!(
        data(r)["groupReport"]["tenureBands"][3],
        json!({ "band": "2y+", "members": 2, "receivedPerWeek": 1.0 / 2.0 / (3.0 / 7.0),
                    "wonValue": "0.00" })
    );
    // Empty bands are left out: Hugo's group has only him (60 days).
    let (hilltop, hugo) = app.other_leader(&c.admin).await;
    let r = app
        .op(
            Some(&hugo.token),
            "GroupTenureBands",
            json!({ "groupId": hilltop, "from": day(-14), "to": day(-1) }),
        )
        .await;
    assert_eq!(
        data(r)["groupReport"]["tenureBands"],
        json!([{ "band": "<6m", "members": 1, "receivedPerWeek": 0.0, "wonValue": "0.00" }])
    );
    // Leaders only.
    let r = bands(-14, -1, tess.token.clone()).await;
    refused(&r, "FORBIDDEN", None, "a member");
    let r = bands(-14, -1, hugo.token.clone()).await;
    refused(&r, "FORBIDDEN", None, "another group's leader");
});

// ---- Every operation: callers and `first` ----

db_test!(
    insights_refuse_partner_tokens_anonymous_callers_and_bad_first,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let request = ask_member(&app, a, &b.id).await;
        let ops: Vec<(&str, Value)> = vec![
            (
                "RequestReferrals",
                json!({ "input": { "memberId": a.id, "text": "Anyone?" } }),
            ),
            (
                "RecordRequestResponse",
                json!({ "input": { "requestId": request, "response": "NO" } }),
            ),
            ("DueRequests", json!({ "on": day(30) })),
            (
                "SourcesReport",
                json!({ "memberId": a.id, "from": day(-7), "to": day(0) }),
            ),
            ("WhoToAsk", json!({})),
            ("Reciprocity", json!({})),
            (
                "GroupTenureBands",
                json!({ "groupId": c.group, "from": day(-7), "to": day(0) }),
            ),
        ];
        let before = app.snapshot().await;
        let before_requests = requests(&app).await;
        for (op, vars) in &ops {
            let resp = app.op(Some(&secret), op, vars.clone()).await;
            refused(&resp, "FORBIDDEN", None, &format!("{op}, partner token"));
            let resp = app.op(None, op, vars.clone()).await;
            refused(&resp, "UNAUTHENTICATED", None, &format!("{op}, no token"));
            let resp = app.op(Some("not-a-token"), op, vars.clone()).await;
            refused(&resp, "UNAUTHENTICATED", None, &format!("{op}, bad token"));
        }
        assert_eq!(app.snapshot().await, before);
        assert_eq!(requests(&app).await, before_requests);
        assert_eq!(app.request_row(&request).await.response, None);

        // `first`: 0-100.
        for op in ["WhoToAsk", "Reciprocity"] {
            for bad in [-1, 101] {
                let resp = app.op(Some(&a.token), op, json!({ "first": bad })).await;
                refused(
                    &resp,
                    "BAD_USER_INPUT",
                    Some("first"),
                    &format!("{op} {bad}"),
                );
            }
            for fine in [0, 100] {
                app.ok(Some(&a.token), op, json!({ "first": fine })).await;
            }
        }
    }
);
