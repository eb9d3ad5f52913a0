//! A small chapter to test referrals in: an admin, a group, a leader and
//! members, each signed in.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub struct Person {
    pub token: String,
    pub id: String,
}

pub struct Chapter {
    pub admin: String,
    pub group: String,
    pub leader: Person,
    pub members: Vec<Person>,
}

pub fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

pub async fn group(app: &TestApp, admin: &str, name: &str) -> String {
    app.ok(
        Some(admin),
        "CreateGroup",
        json!({ "input": { "name": name, "currency": "EUR" } }),
    )
    .await["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn seat(app: &TestApp, token: &str, group: &str, member: &str, role: &str) {
    app.ok(
        Some(token),
        "AddMembership",
        json!({ "input": { "groupId": group, "memberId": member, "role": role, "joinedOn": day(-200) } }),
    )
    .await;
}

/// A chapter with a leader and `n` members (professions Trade 0..n).
pub async fn chapter(app: &TestApp, n: usize) -> Chapter {
    let admin = app.admin().await;
    let group = group(app, &admin, "Harbour Chapter").await;
    let (token, id) = app
        .register("leader@example.com", "Lea Leader", "Banker")
        .await;
    seat(app, &admin, &group, &id, "LEADER").await;
    let leader = Person { token, id };
    let mut members = Vec::new();
    for i in 0..n {
        let (token, id) = app
            .register(
                &format!("m{i}@example.com"),
                &format!("Member {i}"),
                &format!("Trade {i}"),
            )
            .await;
        seat(app, &leader.token, &group, &id, "MEMBER").await;
        members.push(Person { token, id });
    }
    Chapter {
        admin,
        group,
        leader,
        members,
    }
}

pub fn give_vars(receiver: &str, channel: &str, meeting: Option<&str>) -> Value {
    json!({ "input": {
        "receiverId": receiver,
        "prospect": { "name": "Pat Prospect", "email": "pat@prospect.example", "phone": "+1 555 0100",
                      "company": "Prospect Ltd", "need": "Year-end accounts" },
        "temperature": 4,
        "channel": channel,
        "meetingId": meeting,
    }})
}

/// Gives a PORTAL referral; returns its id.
pub async fn give(app: &TestApp, giver: &Person, receiver: &str) -> String {
    let data = app
        .ok(
            Some(&giver.token),
            "GiveReferral",
            give_vars(receiver, "PORTAL", None),
        )
        .await;
    data["giveReferral"]["id"].as_str().unwrap().to_string()
}

pub async fn advance(
    app: &TestApp,
    token: &str,
    referral: &str,
    status: &str,
    value: Option<&str>,
) -> Value {
    app.op(
        Some(token),
        "AdvanceReferral",
        json!({ "input": { "referralId": referral, "status": status, "closedValue": value } }),
    )
    .await
}

/// Moves a referral from SUBMITTED to WON with `value`.
pub async fn win(app: &TestApp, receiver: &str, referral: &str, value: &str) {
    for status in ["ACCEPTED", "CONTACTED"] {
        let r = advance(app, receiver, referral, status, None).await;
        assert!(r.get("errors").is_none(), "{r:#}");
    }
    let r = advance(app, receiver, referral, "WON", Some(value)).await;
    assert!(r.get("errors").is_none(), "{r:#}");
}
