//! Partnerships with members and outside contacts, their balances, tenure
//! and the one-way flag.

use serde_json::{Value, json};

use crate::db_test;
use crate::fixtures::{chapter, day, give, win};
use crate::helpers::{TestApp, code, field};

db_test!(
    partnerships_with_members_and_contacts,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (me, partner, quiet) = (&c.members[0], &c.members[1], &c.members[2]);
        let contact = app
            .ok(
                Some(&me.token),
                "AddContact",
                json!({ "input": { "name": "Pia Pro", "kind": "PROFESSIONAL" } }),
            )
            .await["addContact"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let made = app
        .ok(Some(&me.token), "AddPartnership", json!({ "input": { "memberId": partner.id, "since": day(-100), "stage": "CREDIBILITY" } }))
        .await;
        assert_eq!(made["addPartnership"]["since"], json!(day(-100)));
        assert_eq!(made["addPartnership"]["stage"], "CREDIBILITY");
        assert_eq!(
            made["addPartnership"]["partner"],
            json!({ "__typename": "Member", "id": partner.id, "name": "Member 1" })
        );
        app.ok(
            Some(&me.token),
            "AddPartnership",
            json!({ "input": { "contactId": contact } }),
        )
        .await;
        app.ok(
            Some(&me.token),
            "AddPartnership",
            json!({ "input": { "memberId": quiet.id, "since": day(-10) } }),
        )
        .await;

        let before = app.snapshot().await;
        for (vars, expected, f) in [
            (json!({ "input": {} }), "BAD_USER_INPUT", Some("input")),
            (
                json!({ "input": { "memberId": partner.id, "contactId": contact } }),
                "BAD_USER_INPUT",
                Some("input"),
            ),
            (
                json!({ "input": { "memberId": me.id } }),
                "BAD_USER_INPUT",
                Some("input.memberId"),
            ),
            (
                json!({ "input": { "memberId": quiet.id, "since": day(1) } }),
                "BAD_USER_INPUT",
                Some("input.since"),
            ),
            (
                json!({ "input": { "memberId": partner.id } }),
                "CONFLICT",
                None,
            ),
            (
                json!({ "input": { "contactId": uuid::Uuid::new_v4().to_string() } }),
                "NOT_FOUND",
                None,
            ),
        ] {
            let resp = app.op(Some(&me.token), "AddPartnership", vars).await;
            assert_eq!(code(&resp), expected, "{resp:#}");
            if let Some(f) = f {
                assert_eq!(field(&resp), f);
            }
        }
        assert_eq!(app.snapshot().await, before);

        // me → partner: 3 referrals (one WON 300.00), partner → me: none: one-way.
        let r = give(&app, me, &partner.id).await;
        win(&app, &partner.token, &r, "300.00").await;
        give(&app, me, &partner.id).await;
        give(&app, me, &partner.id).await;
        // the contact passes one referral, recorded by me.
        app.ok(
        Some(&me.token),
        "RecordOutsideReferral",
        json!({ "input": { "contactId": contact, "prospect": { "name": "Via Contact" }, "temperature": 3 } }),
    )
    .await;
        // quiet → me: one, so that partnership is two-way-ish (0 given by me, 1 received).
        give(&app, quiet, &me.id).await;

        let list = app
            .ok(Some(&me.token), "MyPartnerships", json!({ "first": 10 }))
            .await;
        let edges = list["me"]["partnerships"]["edges"].as_array().unwrap();
        assert_eq!(list["me"]["partnerships"]["totalCount"], 3);
        let by_name = |name: &str| -> Value {
            edges
                .iter()
                .find(|e| e["node"]["partner"]["name"] == name)
                .unwrap()["node"]
                .clone()
        };
        let p = by_name("Member 1");
        assert_eq!(p["tenureDays"], 100);
        assert_eq!(p["oneWay"], true);
        assert!(p["lastExchangeAt"].is_string());
        assert_eq!(p["partner"]["profession"], "Trade 1");
        assert_eq!(
            p["balance"],
            json!({ "given": 3, "received": 0, "givenValue": "300.00", "receivedValue": "0.00", "net": 3 })
        );
        let pc = by_name("Pia Pro");
        assert_eq!(
            pc["partner"],
            json!({ "__typename": "Contact", "id": contact, "name": "Pia Pro", "kind": "PROFESSIONAL" })
        );
        assert_eq!(
            pc["balance"],
            json!({ "given": 0, "received": 1, "givenValue": "0.00", "receivedValue": "0.00", "net": -1 })
        );
        assert_eq!(pc["oneWay"], false);
        let q = by_name("Member 2");
        assert_eq!(q["oneWay"], false);
        assert_eq!(q["tenureDays"], 10);
        assert_eq!(q["balance"]["received"], 1);

        // Over a period: today holds everything, last year nothing.
        let q = "query($f: Date, $t: Date) { me { partnerships(first: 10) { edges { node {
            partner { ... on Member { name } ... on Contact { name } } balance(from: $f, to: $t) { given givenValue } } } } } }";
        let period = |f: String, t: String| {
            let app = &app;
            let token = me.token.clone();
            async move {
                let r = app.gql(Some(&token), q, json!({ "f": f, "t": t })).await;
                r["data"]["me"]["partnerships"]["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["node"]["partner"]["name"] == "Member 1")
                    .unwrap()["node"]["balance"]
                    .clone()
            }
        };
        assert_eq!(
            period(day(0), day(0)).await,
            json!({ "given": 3, "givenValue": "300.00" })
        );
        assert_eq!(
            period(day(-400), day(-1)).await,
            json!({ "given": 0, "givenValue": "0.00" })
        );
    }
);
