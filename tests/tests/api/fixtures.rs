//! Referral set-ups shared by the referral, partnership and subscription
//! tests, on top of the chapter helpers in `helpers.rs`.

use serde_json::{Value, json};

use crate::helpers::TestApp;
pub use crate::helpers::{Chapter, Person, day};

/// A chapter with a leader and `n` members named "Member 0"… (professions
/// "Trade 0"…, emails member.0@example.com…).
pub async fn chapter(app: &TestApp, n: usize) -> Chapter {
    let names: Vec<String> = (0..n).map(|i| format!("Member {i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    app.chapter(&names).await
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

/// Asks a member for introductions (must succeed); returns the request's id.
pub async fn ask_member(app: &TestApp, who: &Person, member: &str) -> String {
    let data = app
        .ok(
            Some(&who.token),
            "RequestReferrals",
            json!({ "input": { "memberId": member, "text": "Who do you know who needs a roofer?" } }),
        )
        .await;
    data["requestReferrals"]["id"].as_str().unwrap().to_string()
}
