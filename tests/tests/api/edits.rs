//! The everyday edits of the second release (insights.graphql): profile,
//! password, partnership, contact, group settings, absence cancelling,
//! referrals to one's own contacts, and balances per currency and period.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::db_test;
use crate::db_test_with;
use crate::fixtures::{advance, chapter, give, give_vars, win};
use crate::helpers::{PASSWORD, Person, TestApp, day, refused, s};
use crate::partners::{ALL_SCOPES, firm, submit, token};

// ---- helpers ----

fn months_from_today(n: u32) -> chrono::NaiveDate {
    chrono::Utc::now()
        .date_naive()
        .checked_add_months(chrono::Months::new(n))
        .unwrap()
}

/// The stored password hash of a member (to prove a refused change wrote nothing).
async fn password_hash(app: &TestApp, member: &str) -> String {
    let sql = format!("SELECT password_hash FROM members WHERE id = '{member}'");
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .expect("hash query")
        .expect("a member row");
    row.try_get::<String>("", "password_hash")
        .expect("password_hash")
}

/// Adds a contact of `owner`'s; returns its id.
async fn add_contact(app: &TestApp, owner: &Person, input: Value) -> String {
    let data = app
        .ok(Some(&owner.token), "AddContact", json!({ "input": input }))
        .await;
    s(&data["addContact"]["id"])
}

fn contact_referral_vars(contact: &str, temperature: i64) -> Value {
    json!({ "input": {
        "contactId": contact,
        "prospect": { "name": "Olga Outside", "email": "olga@outside.example", "company": "Olga AB", "need": "A new roof" },
        "temperature": temperature,
        "note": "She asked for a roofer",
    }})
}

const PROFILE: &str = "{ me { id name profession businessName phone } }";

async fn profile(app: &TestApp, token: &str) -> Value {
    let r = app.gql(Some(token), PROFILE, json!({})).await;
    assert!(r.get("errors").is_none(), "{r:#}");
    r["data"]["me"].clone()
}

async fn settings_of(app: &TestApp, token: &str, group: &str) -> Value {
    app.ok(Some(token), "GroupSettings", json!({ "id": group }))
        .await["group"]["settings"]
        .clone()
}

fn settings(follow: i64, unanswered: i64, revisit: i64, reask: i64) -> Value {
    json!({ "followUpIntervalDays": follow, "unansweredLimit": unanswered,
            "revisitAfterDays": revisit, "reaskAfterDays": reask })
}

const REFERRAL: &str = "query($id: ID!) { referral(id: $id) { id status madeInAbsence absenceReason
    nextFollowUpOn revisitOn closedValue delegate { id }
    receiver { __typename ... on Member { id } ... on Contact { id name } } } }";

async fn referral(app: &TestApp, token: &str, id: &str) -> Value {
    app.gql(Some(token), REFERRAL, json!({ "id": id })).await
}

/// The caller's partnerships with their stage history; `includeEnded` as a
/// variable (`None`: the variable left out, so the default applies).
async fn partnerships(app: &TestApp, token: &str, include_ended: Option<bool>) -> Value {
    let q = "query($ended: Boolean) { me { partnerships(first: 20, includeEnded: $ended) {
            totalCount edges { node {
            id since endedOn stage tenureDays stageHistory { stage on } } } } } }";
    let vars = include_ended.map_or(json!({}), |v| json!({ "ended": v }));
    let r = app.gql(Some(token), q, vars).await;
    assert!(r.get("errors").is_none(), "{r:#}");
    r["data"]["me"]["partnerships"].clone()
}

fn node_by_id(connection: &Value, id: &str) -> Value {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == id)
        .map(|e| e["node"].clone())
        .unwrap_or(Value::Null)
}

// ---- UpdateProfile ----

db_test!(
    update_profile_changes_only_the_given_fields,
    |app: TestApp| async move {
        let (token, id) = app
            .register("nora@example.com", "Nora Lind", "Accountant")
            .await;
        let (other_token, _) = app.register("otto@example.com", "Otto Berg", "Baker").await;

        let data = app
            .ok(
                Some(&token),
                "UpdateProfile",
                json!({ "input": { "businessName": "Lind & Co", "phone": "+46 8 123 456" } }),
            )
            .await;
        assert_eq!(
            data["updateProfile"],
            json!({ "id": id, "name": "Nora Lind", "profession": "Accountant",
                    "businessName": "Lind & Co", "phone": "+46 8 123 456" })
        );
        let data = app
            .ok(
                Some(&token),
                "UpdateProfile",
                json!({ "input": { "name": "Nora Lindqvist" } }),
            )
            .await;
        assert_eq!(
            data["updateProfile"],
            json!({ "id": id, "name": "Nora Lindqvist", "profession": "Accountant",
                    "businessName": "Lind & Co", "phone": "+46 8 123 456" })
        );
        let data = app
            .ok(
                Some(&token),
                "UpdateProfile",
                json!({ "input": { "profession": "Tax Adviser" } }),
            )
            .await;
        let expected = json!({ "id": id, "name": "Nora Lindqvist", "profession": "Tax Adviser",
                               "businessName": "Lind & Co", "phone": "+46 8 123 456" });
        assert_eq!(data["updateProfile"], expected);
        // Nothing given: nothing changes.
        let data = app
            .ok(Some(&token), "UpdateProfile", json!({ "input": {} }))
            .await;
        assert_eq!(data["updateProfile"], expected);
        assert_eq!(profile(&app, &token).await, expected);
        // The portal's Me reads the same.
        let me = app.ok(Some(&token), "Me", json!({})).await;
        assert_eq!(me["me"]["name"], "Nora Lindqvist");
        assert_eq!(me["me"]["profession"], "Tax Adviser");
        assert_eq!(me["me"]["businessName"], "Lind & Co");

        // Refused: empty name or profession, bad phone, too long; a refused
        // update changes none of the fields sent with it.
        let before = app.snapshot().await;
        let cases = [
            (json!({ "name": "" }), "input.name"),
            (json!({ "name": "   " }), "input.name"),
            (json!({ "profession": "" }), "input.profession"),
            (json!({ "profession": " \t " }), "input.profession"),
            (
                json!({ "name": "Valid Name", "profession": "" }),
                "input.profession",
            ),
            (
                json!({ "profession": "Valid Trade", "name": "" }),
                "input.name",
            ),
            (json!({ "name": "n".repeat(201) }), "input.name"),
            (json!({ "phone": "call me maybe" }), "input.phone"),
        ];
        for (input, f) in cases {
            let resp = app
                .op(Some(&token), "UpdateProfile", json!({ "input": input }))
                .await;
            refused(&resp, "BAD_USER_INPUT", Some(f), &input.to_string());
        }
        let resp = app
            .op(
                None,
                "UpdateProfile",
                json!({ "input": { "name": "Anon" } }),
            )
            .await;
        refused(&resp, "UNAUTHENTICATED", None, "no token");
        assert_eq!(app.snapshot().await, before, "refusals wrote nothing");
        assert_eq!(profile(&app, &token).await, expected);

        // The caller edits only themself: the other member is untouched.
        let other = profile(&app, &other_token).await;
        assert_eq!(other["name"], "Otto Berg");
        assert_eq!(other["profession"], "Baker");
    }
);

db_test!(
    update_profile_respects_exclusive_groups,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let exclusive = app
            .ok(
                Some(&admin),
                "CreateGroup",
                json!({ "input": { "name": "Guild", "currency": "EUR", "classificationExclusive": true } }),
            )
            .await;
        assert_eq!(exclusive["createGroup"]["classificationExclusive"], true);
        let guild = s(&exclusive["createGroup"]["id"]);
        let open = app.create_group(&admin, "Open Circle").await;

        let ann = app.person("Ann", "Plumber").await;
        let bob = app.person("Bob", "Electrician").await;
        let cat = app.person("Cat", "Carpenter").await;
        let dan = app.person("Dan", "Dentist").await;
        for p in [&ann, &bob] {
            app.seat(&admin, &guild, &p.id, "MEMBER", &day(-30)).await;
        }
        for p in [&bob, &cat, &dan] {
            app.seat(&admin, &open, &p.id, "MEMBER", &day(-30)).await;
        }

        // Bob sits in the exclusive Guild with Ann the plumber: CONFLICT,
        // whatever the case or spacing.
        let before = app.snapshot().await;
        for profession in ["Plumber", " plumber ", "PLUMBER"] {
            let resp = app
                .op(
                    Some(&bob.token),
                    "UpdateProfile",
                    json!({ "input": { "profession": profession, "name": "Bob Changed" } }),
                )
                .await;
            refused(&resp, "CONFLICT", None, profession);
        }
        assert_eq!(app.snapshot().await, before);
        let bob_now = profile(&app, &bob.token).await;
        assert_eq!(bob_now["profession"], "Electrician");
        assert_eq!(bob_now["name"], "Bob", "a refused update changes nothing");

        // In the non-exclusive group the same kind of change is fine: Cat
        // becomes a dentist like Dan; Bob a carpenter like Cat was.
        let data = app
            .ok(
                Some(&cat.token),
                "UpdateProfile",
                json!({ "input": { "profession": "Dentist" } }),
            )
            .await;
        assert_eq!(data["updateProfile"]["profession"], "Dentist");
        let data = app
            .ok(
                Some(&bob.token),
                "UpdateProfile",
                json!({ "input": { "profession": "Dentist" } }),
            )
            .await;
        assert_eq!(data["updateProfile"]["profession"], "Dentist");

        // Only active members count: once Ann has left the Guild, Bob may
        // become a plumber.
        app.unseat(&admin, &guild, &ann.id, &day(0)).await;
        let data = app
            .ok(
                Some(&bob.token),
                "UpdateProfile",
                json!({ "input": { "profession": "Plumber" } }),
            )
            .await;
        assert_eq!(data["updateProfile"]["profession"], "Plumber");

        // The open group turned exclusive (leaders' SetGroupSettings, here
        // the admin): Cat and Dan share a profession, so CONFLICT.
        let turn_on = json!({ "input": { "groupId": open, "classificationExclusive": true } });
        let resp = app
            .op(Some(&admin), "SetGroupSettings", turn_on.clone())
            .await;
        refused(&resp, "CONFLICT", None, "two dentists");
        app.ok(
            Some(&dan.token),
            "UpdateProfile",
            json!({ "input": { "profession": "Dermatologist" } }),
        )
        .await;
        let data = app
            .ok(Some(&admin), "SetGroupSettings", turn_on.clone())
            .await;
        assert_eq!(data["setGroupSettings"]["classificationExclusive"], true);
        // Now exclusive: Cat may not become a dermatologist, nor a plumber
        // (Bob holds that in the open group too).
        for profession in ["dermatologist", "Plumber"] {
            let resp = app
                .op(
                    Some(&cat.token),
                    "UpdateProfile",
                    json!({ "input": { "profession": profession } }),
                )
                .await;
            refused(&resp, "CONFLICT", None, profession);
        }
        assert_eq!(profile(&app, &cat.token).await["profession"], "Dentist");
    }
);

// ---- ChangePassword ----

const NEW_PASSWORD: &str = "twelve chars";

db_test!(
    change_password_keeps_only_the_callers_session,
    |app: TestApp| async move {
        assert_eq!(NEW_PASSWORD.chars().count(), 12);
        let reg = app
            .ok(
                None,
                "Register",
                json!({ "input": { "email": "nora@example.com", "password": PASSWORD, "name": "Nora", "profession": "Accountant" } }),
            )
            .await;
        let mine = s(&reg["register"]["accessToken"]);
        let mine_refresh = s(&reg["register"]["refreshToken"]);
        let mut others = Vec::new();
        for _ in 0..2 {
            let r = app.sign_in("nora@example.com", PASSWORD).await;
            others.push((
                s(&r["data"]["signIn"]["accessToken"]),
                s(&r["data"]["signIn"]["refreshToken"]),
            ));
        }
        // Someone else's session is not touched.
        let bystander = app.person("Otto", "Baker").await;

        let data = app
            .ok(
                Some(&mine),
                "ChangePassword",
                json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }),
            )
            .await;
        assert_eq!(data["changePassword"], true);

        // The caller stays signed in, refresh token included.
        assert_eq!(
            app.ok(Some(&mine), "Me", json!({})).await["me"]["email"],
            "nora@example.com"
        );
        let rotated = app
            .ok(
                None,
                "RefreshSession",
                json!({ "refreshToken": mine_refresh }),
            )
            .await;
        app.ok(
            Some(&s(&rotated["refreshSession"]["accessToken"])),
            "Me",
            json!({}),
        )
        .await;
        // Every other session is over: access and refresh tokens.
        for (access, refresh) in &others {
            let me = app.op(Some(access), "Me", json!({})).await;
            refused(&me, "UNAUTHENTICATED", None, "other session's access token");
            let r = app
                .op(None, "RefreshSession", json!({ "refreshToken": refresh }))
                .await;
            refused(&r, "UNAUTHENTICATED", None, "other session's refresh token");
        }
        app.ok(Some(&bystander.token), "Me", json!({})).await;

        // The old password no longer signs in; the new one does.
        let old = app.sign_in("nora@example.com", PASSWORD).await;
        refused(&old, "UNAUTHENTICATED", None, "old password");
        let new = app.sign_in("Nora@Example.com", NEW_PASSWORD).await;
        assert!(new.get("errors").is_none(), "{new:#}");
        let fresh = s(&new["data"]["signIn"]["accessToken"]);
        app.ok(Some(&fresh), "Me", json!({})).await;
    }
);

db_test!(change_password_refusals, |app: TestApp| async move {
    let reg = app
        .ok(
            None,
            "Register",
            json!({ "input": { "email": "nora@example.com", "password": PASSWORD, "name": "Nora", "profession": "Accountant" } }),
        )
        .await;
    let token = s(&reg["register"]["accessToken"]);
    let id = s(&reg["register"]["member"]["id"]);
    let other = app.sign_in("nora@example.com", PASSWORD).await;
    let other_access = s(&other["data"]["signIn"]["accessToken"]);
    let hash = password_hash(&app, &id).await;
    let before = app.snapshot().await;

    // (caller, current password, new password, code, field)
    type Case<'a> = (Option<&'a str>, &'a str, String, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            Some(&token),
            "wrong password!!",
            NEW_PASSWORD.into(),
            "UNAUTHENTICATED",
            None,
        ),
        (
            Some(&token),
            "",
            NEW_PASSWORD.into(),
            "UNAUTHENTICATED",
            None,
        ),
        (
            Some(&token),
            PASSWORD,
            "eleven char".into(),
            "BAD_USER_INPUT",
            Some("newPassword"),
        ),
        (
            Some(&token),
            PASSWORD,
            String::new(),
            "BAD_USER_INPUT",
            Some("newPassword"),
        ),
        // Characters count, not bytes: eleven of them (22 bytes) are too few.
        (
            Some(&token),
            PASSWORD,
            "é".repeat(11),
            "BAD_USER_INPUT",
            Some("newPassword"),
        ),
        (
            Some(&token),
            PASSWORD,
            "x".repeat(10_000),
            "BAD_USER_INPUT",
            Some("newPassword"),
        ),
        (None, PASSWORD, NEW_PASSWORD.into(), "UNAUTHENTICATED", None),
    ];
    for (caller, current, new, expected, f) in cases {
        let resp = app
            .op(
                caller,
                "ChangePassword",
                json!({ "currentPassword": current, "newPassword": new }),
            )
            .await;
        refused(
            &resp,
            expected,
            f,
            &format!("current {current:?}, new of {} chars", new.len()),
        );
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(password_hash(&app, &id).await, hash, "password unchanged");
    // Nothing was revoked either: both sessions work, the password signs in.
    app.ok(Some(&token), "Me", json!({})).await;
    app.ok(Some(&other_access), "Me", json!({})).await;
    let ok = app.sign_in("nora@example.com", PASSWORD).await;
    assert!(ok.get("errors").is_none(), "{ok:#}");
});

db_test!(
    change_password_attempts_are_throttled_per_account,
    |app: TestApp| async move {
        let reg = app
            .ok(
                None,
                "Register",
                json!({ "input": { "email": "nora@example.com", "password": PASSWORD, "name": "Nora", "profession": "Accountant" } }),
            )
            .await;
        let token = s(&reg["register"]["accessToken"]);
        let id = s(&reg["register"]["member"]["id"]);
        let hash = password_hash(&app, &id).await;
        let (other_token, _) = app.register("otto@example.com", "Otto", "Baker").await;

        // Ten wrong attempts a minute are answered as wrong...
        for n in 1..=10 {
            let resp = app
                .op(
                    Some(&token),
                    "ChangePassword",
                    json!({ "currentPassword": format!("wrong password {n}"), "newPassword": NEW_PASSWORD }),
                )
                .await;
            refused(&resp, "UNAUTHENTICATED", None, &format!("attempt {n}"));
        }
        // ...the eleventh is throttled, even with the right password.
        let resp = app
            .op(
                Some(&token),
                "ChangePassword",
                json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }),
            )
            .await;
        refused(&resp, "RATE_LIMITED", None, "11th attempt");
        assert_eq!(
            password_hash(&app, &id).await,
            hash,
            "a throttled change wrote nothing"
        );
        // Sign-in spends the same account budget, whatever the email's case.
        let resp = app.sign_in("NORA@Example.COM", PASSWORD).await;
        refused(
            &resp,
            "RATE_LIMITED",
            None,
            "sign-in after throttled changes",
        );
        let resp = app.sign_in("nora@example.com", PASSWORD).await;
        refused(&resp, "RATE_LIMITED", None, "sign-in, same email");
        // The session itself still works, and other accounts are unaffected.
        app.ok(Some(&token), "Me", json!({})).await;
        let resp = app
            .op(
                Some(&other_token),
                "ChangePassword",
                json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }),
            )
            .await;
        assert!(resp.get("errors").is_none(), "{resp:#}");
        let resp = app.sign_in("otto@example.com", NEW_PASSWORD).await;
        assert!(resp.get("errors").is_none(), "{resp:#}");
    }
);

db_test!(
    sign_in_attempts_count_against_password_changes,
    |app: TestApp| async move {
        let (token, _) = app.register("nora@example.com", "Nora", "Accountant").await;
        for n in 1..=10 {
            let resp = app
                .sign_in("Nora@example.com", &format!("wrong password {n}"))
                .await;
            refused(&resp, "UNAUTHENTICATED", None, &format!("sign-in {n}"));
        }
        let resp = app
            .op(
                Some(&token),
                "ChangePassword",
                json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }),
            )
            .await;
        refused(
            &resp,
            "RATE_LIMITED",
            None,
            "change after ten wrong sign-ins",
        );
    }
);

db_test_with!(
    password_throttle_can_be_turned_off,
    |s: &mut api::settings::Settings| {
        s.password_attempts_per_minute = 0;
    },
    |app: TestApp| async move {
        let (token, _) = app.register("nora@example.com", "Nora", "Accountant").await;
        for n in 1..=12 {
            let resp = app
                .op(
                    Some(&token),
                    "ChangePassword",
                    json!({ "currentPassword": format!("wrong password {n}"), "newPassword": NEW_PASSWORD }),
                )
                .await;
            refused(&resp, "UNAUTHENTICATED", None, &format!("attempt {n}"));
        }
        let data = app
            .ok(
                Some(&token),
                "ChangePassword",
                json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }),
            )
            .await;
        assert_eq!(data["changePassword"], true);
    }
);

// ---- UpdatePartnership ----

db_test!(
    update_partnership_moves_stages_and_ends,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (me, partner, third) = (&c.members[0], &c.members[1], &c.members[2]);
        let pia = add_contact(
            &app,
            me,
            json!({ "name": "Pia Pro", "kind": "PROFESSIONAL" }),
        )
        .await;
        let made = app
            .ok(
                Some(&me.token),
                "AddPartnership",
                json!({ "input": { "memberId": partner.id, "since": day(-100), "stage": "CREDIBILITY" } }),
            )
            .await;
        let p1 = s(&made["addPartnership"]["id"]);
        let made = app
            .ok(
                Some(&me.token),
                "AddPartnership",
                json!({ "input": { "contactId": pia, "since": day(-20) } }),
            )
            .await;
        let p2 = s(&made["addPartnership"]["id"]);
        let made = app
            .ok(
                Some(&me.token),
                "AddPartnership",
                json!({ "input": { "memberId": third.id, "since": day(-5) } }),
            )
            .await;
        let p3 = s(&made["addPartnership"]["id"]);
        // The partner's own partnership, back to me.
        let made = app
            .ok(
                Some(&partner.token),
                "AddPartnership",
                json!({ "input": { "memberId": me.id, "since": day(-50) } }),
            )
            .await;
        let theirs = s(&made["addPartnership"]["id"]);
        let (_, hugo) = app.other_leader(&c.admin).await;

        let update = |id: &str, extra: Value| {
            let mut input = json!({ "partnershipId": id });
            for (k, v) in extra.as_object().unwrap() {
                input[k] = v.clone();
            }
            json!({ "input": input })
        };
        // Forward, then backward: any direction.
        let data = app
            .ok(
                Some(&me.token),
                "UpdatePartnership",
                update(&p1, json!({ "stage": "PROFITABILITY" })),
            )
            .await;
        assert_eq!(
            data["updatePartnership"],
            json!({ "id": p1, "stage": "PROFITABILITY", "since": day(-100), "endedOn": null, "tenureDays": 100 })
        );
        let data = app
            .ok(
                Some(&me.token),
                "UpdatePartnership",
                update(&p1, json!({ "stage": "VISIBILITY" })),
            )
            .await;
        assert_eq!(
            data["updatePartnership"],
            json!({ "id": p1, "stage": "VISIBILITY", "since": day(-100), "endedOn": null, "tenureDays": 100 })
        );
        let list = partnerships(&app, &me.token, None).await;
        assert_eq!(list["totalCount"], 3);
        assert_eq!(
            node_by_id(&list, &p1)["stageHistory"],
            json!([
                { "stage": "CREDIBILITY", "on": day(-100) },
                { "stage": "PROFITABILITY", "on": day(0) },
                { "stage": "VISIBILITY", "on": day(0) },
            ])
        );
        assert_eq!(
            node_by_id(&list, &p2)["stageHistory"],
            json!([{ "stage": "VISIBILITY", "on": day(-20) }])
        );

        // Refusals: a future end, an end before `since`, someone else's or
        // an unknown partnership, no token. Nothing is written, not even
        // the stage sent along with a bad end.
        let before = app.snapshot().await;
        let unknown = uuid::Uuid::new_v4().to_string();
        let cases: Vec<(Option<&str>, Value, &str, Option<&str>)> = vec![
            (
                Some(&me.token),
                update(&p1, json!({ "endedOn": day(1) })),
                "BAD_USER_INPUT",
                Some("input.endedOn"),
            ),
            (
                Some(&me.token),
                update(&p1, json!({ "stage": "CREDIBILITY", "endedOn": day(1) })),
                "BAD_USER_INPUT",
                Some("input.endedOn"),
            ),
            (
                Some(&me.token),
                update(&p1, json!({ "endedOn": day(-101) })),
                "BAD_USER_INPUT",
                Some("input.endedOn"),
            ),
            (
                Some(&me.token),
                update(
                    &p1,
                    json!({ "stage": "PROFITABILITY", "endedOn": day(-101) }),
                ),
                "BAD_USER_INPUT",
                Some("input.endedOn"),
            ),
            (
                Some(&me.token),
                update(&p2, json!({ "endedOn": day(-21) })),
                "BAD_USER_INPUT",
                Some("input.endedOn"),
            ),
            (
                Some(&me.token),
                update(&theirs, json!({ "stage": "PROFITABILITY" })),
                "NOT_FOUND",
                None,
            ),
            (
                Some(&partner.token),
                update(&p1, json!({ "stage": "PROFITABILITY" })),
                "NOT_FOUND",
                None,
            ),
            (
                Some(&c.leader.token),
                update(&p1, json!({ "endedOn": day(0) })),
                "NOT_FOUND",
                None,
            ),
            (
                Some(&hugo.token),
                update(&p1, json!({ "stage": "PROFITABILITY" })),
                "NOT_FOUND",
                None,
            ),
            (
                Some(&me.token),
                update(&unknown, json!({ "stage": "PROFITABILITY" })),
                "NOT_FOUND",
                None,
            ),
            (
                None,
                update(&p1, json!({ "stage": "PROFITABILITY" })),
                "UNAUTHENTICATED",
                None,
            ),
        ];
        for (token, vars, expected, f) in cases {
            let resp = app.op(token, "UpdatePartnership", vars.clone()).await;
            refused(&resp, expected, f, &vars.to_string());
        }
        assert_eq!(app.snapshot().await, before);
        let list = partnerships(&app, &me.token, None).await;
        let p1_now = node_by_id(&list, &p1);
        assert_eq!(p1_now["stage"], "VISIBILITY");
        assert_eq!(p1_now["endedOn"], Value::Null);
        assert_eq!(p1_now["stageHistory"].as_array().unwrap().len(), 3);
        let other_side = partnerships(&app, &partner.token, None).await;
        assert_eq!(node_by_id(&other_side, &theirs)["stage"], "VISIBILITY");

        // Ending: tenure stops at the end; the partnership leaves the active list.
        let data = app
            .ok(
                Some(&me.token),
                "UpdatePartnership",
                update(&p1, json!({ "endedOn": day(-10) })),
            )
            .await;
        assert_eq!(
            data["updatePartnership"],
            json!({ "id": p1, "stage": "VISIBILITY", "since": day(-100), "endedOn": day(-10), "tenureDays": 90 })
        );
        // Ending today, and on the very day it began, are allowed.
        let data = app
            .ok(
                Some(&me.token),
                "UpdatePartnership",
                update(&p2, json!({ "endedOn": day(0), "stage": "CREDIBILITY" })),
            )
            .await;
        assert_eq!(
            data["updatePartnership"],
            json!({ "id": p2, "stage": "CREDIBILITY", "since": day(-20), "endedOn": day(0), "tenureDays": 20 })
        );
        let data = app
            .ok(
                Some(&me.token),
                "UpdatePartnership",
                update(&p3, json!({ "endedOn": day(-5) })),
            )
            .await;
        assert_eq!(data["updatePartnership"]["tenureDays"], 0);

        let active = app
            .ok(Some(&me.token), "MyPartnerships", json!({ "first": 10 }))
            .await;
        assert_eq!(active["me"]["partnerships"]["totalCount"], 0, "{active:#}");
        assert_eq!(active["me"]["partnerships"]["edges"], json!([]));
        let all = partnerships(&app, &me.token, Some(true)).await;
        assert_eq!(all["totalCount"], 3);
        let p1_all = node_by_id(&all, &p1);
        assert_eq!(p1_all["endedOn"], json!(day(-10)));
        assert_eq!(p1_all["tenureDays"], 90);
        assert_eq!(
            node_by_id(&all, &p2)["stageHistory"],
            json!([
                { "stage": "VISIBILITY", "on": day(-20) },
                { "stage": "CREDIBILITY", "on": day(0) },
            ])
        );
        assert_eq!(
            partnerships(&app, &me.token, Some(false)).await["totalCount"],
            0
        );
        // The partner's own partnership is untouched and still listed.
        assert_eq!(
            partnerships(&app, &partner.token, None).await["totalCount"],
            1
        );
    }
);

// ---- UpdateContact ----

const CONTACTS: &str =
    "{ myContacts(first: 20) { edges { node { id name kind email phone company npsScore } } } }";

db_test!(
    update_contact_keeps_nps_history,
    |app: TestApp| async move {
        let mia = app.person("Mia", "Architect").await;
        let max = app.person("Max", "Plumber").await;
        let carla = add_contact(
        &app,
        &mia,
        json!({ "name": "Carla Client", "kind": "CLIENT", "email": "carla@example.net", "phone": "+49 30 1234567", "company": "Carla GmbH" }),
    )
    .await;
        let maxs = add_contact(&app, &max, json!({ "name": "Zed", "kind": "OTHER" })).await;

        let update = |token: &str, input: Value| {
            let app = &app;
            let token = token.to_string();
            async move {
                app.op(Some(&token), "UpdateContact", json!({ "input": input }))
                    .await
            }
        };
        let mut history = Vec::new();
        for (score, class) in [(9, "PROMOTER"), (7, "PASSIVE"), (3, "DETRACTOR")] {
            let resp = update(&mia.token, json!({ "contactId": carla, "npsScore": score })).await;
            history.push(json!({ "score": score, "on": day(0) }));
            assert_eq!(
                resp["data"]["updateContact"],
                json!({ "id": carla, "name": "Carla Client", "kind": "CLIENT",
                    "npsScore": score, "npsClass": class, "npsHistory": history }),
                "{resp:#}"
            );
        }
        // Only the fields given change: name and kind, the scores stay.
        let resp = update(
            &mia.token,
            json!({ "contactId": carla, "name": "Carla Berg", "kind": "PROFESSIONAL" }),
        )
        .await;
        assert_eq!(
            resp["data"]["updateContact"],
            json!({ "id": carla, "name": "Carla Berg", "kind": "PROFESSIONAL",
                "npsScore": 3, "npsClass": "DETRACTOR", "npsHistory": history }),
            "{resp:#}"
        );
        let listed = app.gql(Some(&mia.token), CONTACTS, json!({})).await;
        assert_eq!(
            listed["data"]["myContacts"]["edges"][0]["node"],
            json!({ "id": carla, "name": "Carla Berg", "kind": "PROFESSIONAL", "email": "carla@example.net",
                "phone": "+49 30 1234567", "company": "Carla GmbH", "npsScore": 3 })
        );

        // An empty email, phone or company clears it.
        let resp = update(
            &mia.token,
            json!({ "contactId": carla, "company": "", "phone": "" }),
        )
        .await;
        assert!(resp.get("errors").is_none(), "{resp:#}");
        let listed = app.gql(Some(&mia.token), CONTACTS, json!({})).await;
        assert_eq!(
            listed["data"]["myContacts"]["edges"][0]["node"],
            json!({ "id": carla, "name": "Carla Berg", "kind": "PROFESSIONAL", "email": "carla@example.net",
                "phone": null, "company": null, "npsScore": 3 })
        );

        // Class boundaries.
        let bounds =
            add_contact(&app, &mia, json!({ "name": "Bo Bounds", "kind": "CLIENT" })).await;
        let fresh = update(&mia.token, json!({ "contactId": bounds })).await;
        assert_eq!(
            fresh["data"]["updateContact"],
            json!({ "id": bounds, "name": "Bo Bounds", "kind": "CLIENT", "npsScore": null, "npsClass": null, "npsHistory": [] }),
            "{fresh:#}"
        );
        for (score, class) in [
            (10, "PROMOTER"),
            (8, "PASSIVE"),
            (6, "DETRACTOR"),
            (0, "DETRACTOR"),
        ] {
            let resp = update(
                &mia.token,
                json!({ "contactId": bounds, "npsScore": score }),
            )
            .await;
            assert_eq!(
                resp["data"]["updateContact"]["npsClass"], class,
                "{score}: {resp:#}"
            );
            assert_eq!(resp["data"]["updateContact"]["npsScore"], score);
        }
        let resp = update(&mia.token, json!({ "contactId": bounds })).await;
        let scores: Vec<Value> = resp["data"]["updateContact"]["npsHistory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["score"].clone())
            .collect();
        assert_eq!(scores, vec![json!(10), json!(8), json!(6), json!(0)]);

        // Refusals write nothing.
        let before = app.snapshot().await;
        let unknown = uuid::Uuid::new_v4().to_string();
        let cases: Vec<(Option<&str>, Value, &str, Option<&str>)> = vec![
            (
                Some(&mia.token),
                json!({ "contactId": carla, "npsScore": 11 }),
                "BAD_USER_INPUT",
                Some("input.npsScore"),
            ),
            (
                Some(&mia.token),
                json!({ "contactId": carla, "npsScore": -1, "name": "Not Applied" }),
                "BAD_USER_INPUT",
                Some("input.npsScore"),
            ),
            (
                Some(&mia.token),
                json!({ "contactId": carla, "name": "", "npsScore": 10 }),
                "BAD_USER_INPUT",
                Some("input.name"),
            ),
            (
                Some(&mia.token),
                json!({ "contactId": carla, "email": "not-an-email" }),
                "BAD_USER_INPUT",
                Some("input.email"),
            ),
            (
                Some(&mia.token),
                json!({ "contactId": maxs, "npsScore": 9 }),
                "NOT_FOUND",
                Some("input.contactId"),
            ),
            (
                Some(&max.token),
                json!({ "contactId": carla, "npsScore": 9 }),
                "NOT_FOUND",
                Some("input.contactId"),
            ),
            (
                Some(&mia.token),
                json!({ "contactId": unknown, "npsScore": 9 }),
                "NOT_FOUND",
                None,
            ),
            (
                None,
                json!({ "contactId": carla, "npsScore": 9 }),
                "UNAUTHENTICATED",
                None,
            ),
        ];
        for (token, input, expected, f) in cases {
            let resp = app
                .op(token, "UpdateContact", json!({ "input": input.clone() }))
                .await;
            refused(&resp, expected, f, &input.to_string());
        }
        assert_eq!(app.snapshot().await, before);
        let resp = update(&mia.token, json!({ "contactId": carla })).await;
        assert_eq!(
            resp["data"]["updateContact"],
            json!({ "id": carla, "name": "Carla Berg", "kind": "PROFESSIONAL",
                "npsScore": 3, "npsClass": "DETRACTOR", "npsHistory": history }),
            "{resp:#}"
        );
        let listed = app.gql(Some(&max.token), CONTACTS, json!({})).await;
        assert_eq!(
            listed["data"]["myContacts"]["edges"][0]["node"]["npsScore"],
            Value::Null
        );
        assert_eq!(
            listed["data"]["myContacts"]["edges"][0]["node"]["name"],
            "Zed"
        );
    }
);

db_test!(
    a_contacts_first_score_starts_its_history,
    |app: TestApp| async move {
        let mia = app.person("Mia", "Architect").await;
        let id = add_contact(
            &app,
            &mia,
            json!({ "name": "Nils", "kind": "CLIENT", "npsScore": 9 }),
        )
        .await;
        let data = app
            .ok(
                Some(&mia.token),
                "UpdateContact",
                json!({ "input": { "contactId": id, "npsScore": 4 } }),
            )
            .await;
        assert_eq!(
            data["updateContact"]["npsHistory"],
            json!([{ "score": 9, "on": day(0) }, { "score": 4, "on": day(0) }])
        );
        assert_eq!(data["updateContact"]["npsClass"], "DETRACTOR");
    }
);

// ---- SetGroupSettings / GroupSettings ----

db_test!(
    group_settings_defaults_and_changes,
    |app: TestApp| async move {
        let c = chapter(&app, 1).await;
        let member = &c.members[0];
        let six_months = (months_from_today(6) - chrono::Utc::now().date_naive()).num_days();
        let defaults = settings(7, 4, six_months, 90);
        // Any active member of the group reads them; so do leaders and admins.
        for token in [&member.token, &c.leader.token, &c.admin] {
            let data = app
                .ok(Some(token), "GroupSettings", json!({ "id": c.group }))
                .await;
            assert_eq!(
                data["group"],
                json!({ "id": c.group, "settings": defaults })
            );
        }

        let data = app
            .ok(
                Some(&c.leader.token),
                "SetGroupSettings",
                json!({ "input": { "groupId": c.group, "followUpIntervalDays": 3 } }),
            )
            .await;
        assert_eq!(
            data["setGroupSettings"],
            json!({ "id": c.group, "classificationExclusive": false, "settings": settings(3, 4, six_months, 90) })
        );
        // The upper bounds are allowed.
        let data = app
            .ok(
                Some(&c.leader.token),
                "SetGroupSettings",
                json!({ "input": { "groupId": c.group, "followUpIntervalDays": 90, "unansweredLimit": 20,
                                   "revisitAfterDays": 730, "reaskAfterDays": 365 } }),
            )
            .await;
        assert_eq!(
            data["setGroupSettings"]["settings"],
            settings(90, 20, 730, 365)
        );
        // And the lower ones, by an admin; exclusivity too.
        let data = app
            .ok(
                Some(&c.admin),
                "SetGroupSettings",
                json!({ "input": { "groupId": c.group, "followUpIntervalDays": 1, "unansweredLimit": 1,
                                   "revisitAfterDays": 1, "reaskAfterDays": 7, "classificationExclusive": true } }),
            )
            .await;
        assert_eq!(
            data["setGroupSettings"],
            json!({ "id": c.group, "classificationExclusive": true, "settings": settings(1, 1, 1, 7) })
        );
        // Only the fields given change.
        let data = app
            .ok(
                Some(&c.leader.token),
                "SetGroupSettings",
                json!({ "input": { "groupId": c.group, "reaskAfterDays": 30, "classificationExclusive": false } }),
            )
            .await;
        assert_eq!(
            data["setGroupSettings"],
            json!({ "id": c.group, "classificationExclusive": false, "settings": settings(1, 1, 1, 30) })
        );
        assert_eq!(
            settings_of(&app, &member.token, &c.group).await,
            settings(1, 1, 1, 30)
        );
        let roster = app
            .ok(
                Some(&member.token),
                "GroupRoster",
                json!({ "groupId": c.group }),
            )
            .await;
        assert_eq!(roster["group"]["id"], json!(c.group));
        let q = "query($id: ID!) { group(id: $id) { classificationExclusive } }";
        let r = app
            .gql(Some(&member.token), q, json!({ "id": c.group }))
            .await;
        assert_eq!(r["data"]["group"]["classificationExclusive"], false);
    }
);

db_test!(group_settings_refusals, |app: TestApp| async move {
    let c = chapter(&app, 2).await;
    let member = &c.members[0];
    let (other_group, other_leader) = app.other_leader(&c.admin).await;
    let outsider = app.person("Olaf", "Optician").await;
    app.ok(
        Some(&c.leader.token),
        "SetGroupSettings",
        json!({ "input": { "groupId": c.group, "followUpIntervalDays": 5, "unansweredLimit": 3,
                           "revisitAfterDays": 100, "reaskAfterDays": 60 } }),
    )
    .await;
    let current = settings(5, 3, 100, 60);

    let before = app.snapshot().await;
    let with = |extra: Value| {
        let mut input = json!({ "groupId": c.group });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        json!({ "input": input })
    };
    let mut cases: Vec<(Option<&str>, Value, &str, Option<String>)> = Vec::new();
    for (name, low, high) in [
        ("followUpIntervalDays", 0, 91),
        ("unansweredLimit", 0, 21),
        ("revisitAfterDays", 0, 731),
        ("reaskAfterDays", 6, 366),
    ] {
        for bad in [low, high, -1] {
            let mut vars = with(json!({}));
            vars["input"][name] = json!(bad);
            cases.push((
                Some(&c.leader.token),
                vars,
                "BAD_USER_INPUT",
                Some(format!("input.{name}")),
            ));
        }
    }
    // A bad value with good ones: nothing of it applies.
    cases.push((
        Some(&c.leader.token),
        with(json!({ "followUpIntervalDays": 2, "unansweredLimit": 21 })),
        "BAD_USER_INPUT",
        Some("input.unansweredLimit".into()),
    ));
    cases.push((
        Some(&member.token),
        with(json!({ "followUpIntervalDays": 2 })),
        "FORBIDDEN",
        None,
    ));
    // Who may change settings is decided before what they sent.
    cases.push((
        Some(&member.token),
        with(json!({ "followUpIntervalDays": 91 })),
        "FORBIDDEN",
        None,
    ));
    cases.push((
        Some(&other_leader.token),
        with(json!({ "followUpIntervalDays": 2 })),
        "FORBIDDEN",
        None,
    ));
    cases.push((
        Some(&outsider.token),
        with(json!({ "followUpIntervalDays": 2 })),
        "FORBIDDEN",
        None,
    ));
    cases.push((
        None,
        with(json!({ "followUpIntervalDays": 2 })),
        "UNAUTHENTICATED",
        None,
    ));
    cases.push((
        Some(&c.leader.token),
        json!({ "input": { "groupId": uuid::Uuid::new_v4().to_string(), "followUpIntervalDays": 2 } }),
        "NOT_FOUND",
        None,
    ));
    // The other group's leader on their own group is fine, but not here:
    // and this group's leader may not touch theirs.
    cases.push((
        Some(&c.leader.token),
        json!({ "input": { "groupId": other_group, "followUpIntervalDays": 2 } }),
        "FORBIDDEN",
        None,
    ));
    for (token, vars, expected, f) in cases {
        let resp = app.op(token, "SetGroupSettings", vars.clone()).await;
        refused(&resp, expected, f.as_deref(), &vars.to_string());
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(settings_of(&app, &member.token, &c.group).await, current);
    assert_eq!(
        settings_of(&app, &other_leader.token, &other_group).await,
        settings(
            7,
            4,
            (months_from_today(6) - chrono::Utc::now().date_naive()).num_days(),
            90
        )
    );

    // Reading: a member of another group, an outsider: FORBIDDEN; no token.
    for token in [&other_leader.token, &outsider.token] {
        let resp = app
            .op(Some(token), "GroupSettings", json!({ "id": c.group }))
            .await;
        refused(&resp, "FORBIDDEN", None, "reading another group's settings");
    }
    let resp = app
        .op(None, "GroupSettings", json!({ "id": c.group }))
        .await;
    refused(&resp, "UNAUTHENTICATED", None, "reading with no token");
    // A member who left no longer reads them.
    app.unseat(&c.leader.token, &c.group, &c.members[1].id, &day(0))
        .await;
    let resp = app
        .op(
            Some(&c.members[1].token),
            "GroupSettings",
            json!({ "id": c.group }),
        )
        .await;
    refused(&resp, "FORBIDDEN", None, "a former member");

    // Exclusivity with two active members of one profession: CONFLICT.
    let twin_a = app.person("Tia", "Notary").await;
    let twin_b = app.person("Tom", "notary").await;
    for p in [&twin_a, &twin_b] {
        app.seat(&c.leader.token, &c.group, &p.id, "MEMBER", &day(-1))
            .await;
    }
    let before = app.snapshot().await;
    let resp = app
        .op(
            Some(&c.leader.token),
            "SetGroupSettings",
            with(json!({ "classificationExclusive": true, "followUpIntervalDays": 9 })),
        )
        .await;
    refused(&resp, "CONFLICT", None, "two notaries");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(settings_of(&app, &member.token, &c.group).await, current);
    let q = "query($id: ID!) { group(id: $id) { classificationExclusive } }";
    let r = app
        .gql(Some(&member.token), q, json!({ "id": c.group }))
        .await;
    assert_eq!(r["data"]["group"]["classificationExclusive"], false);
    // Once one of them has left, it may be turned on.
    app.unseat(&c.leader.token, &c.group, &twin_b.id, &day(0))
        .await;
    let data = app
        .ok(
            Some(&c.leader.token),
            "SetGroupSettings",
            with(json!({ "classificationExclusive": true })),
        )
        .await;
    assert_eq!(data["setGroupSettings"]["classificationExclusive"], true);
    // A leader whose seat has ended leads no more.
    app.unseat(&c.admin, &c.group, &c.leader.id, &day(0)).await;
    let resp = app
        .op(
            Some(&c.leader.token),
            "SetGroupSettings",
            with(json!({ "followUpIntervalDays": 2 })),
        )
        .await;
    refused(&resp, "FORBIDDEN", None, "a former leader");
});

db_test!(
    group_settings_apply_to_what_is_scheduled_next,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        let earlier = give(&app, giver, &receiver.id).await;
        let r = advance(&app, &receiver.token, &earlier, "ACCEPTED", None).await;
        assert!(r.get("errors").is_none(), "{r:#}");
        let r = referral(&app, &receiver.token, &earlier).await;
        assert_eq!(r["data"]["referral"]["nextFollowUpOn"], json!(day(7)));

        app.ok(
            Some(&c.leader.token),
            "SetGroupSettings",
            json!({ "input": { "groupId": c.group, "followUpIntervalDays": 3, "unansweredLimit": 2, "revisitAfterDays": 10 } }),
        )
        .await;
        // What was already scheduled does not move.
        let r = referral(&app, &receiver.token, &earlier).await;
        assert_eq!(r["data"]["referral"]["nextFollowUpOn"], json!(day(7)));

        let later = give(&app, giver, &receiver.id).await;
        let r = advance(&app, &receiver.token, &later, "ACCEPTED", None).await;
        assert!(r.get("errors").is_none(), "{r:#}");
        let r = referral(&app, &receiver.token, &later).await;
        assert_eq!(
            r["data"]["referral"]["nextFollowUpOn"],
            json!(day(3)),
            "{r:#}"
        );
        let follow = |id: &str| {
            let app = &app;
            let token = receiver.token.clone();
            let id = id.to_string();
            async move {
                app.ok(
                    Some(&token),
                    "LogFollowUp",
                    json!({ "input": { "referralId": id, "outcome": "NO_ANSWER" } }),
                )
                .await["logFollowUp"]
                    .clone()
            }
        };
        assert_eq!(
            follow(&later).await,
            json!({ "id": later, "status": "ACCEPTED", "followUpCount": 1, "nextFollowUpOn": day(3), "revisitOn": null })
        );
        // The second unanswered one in a row parks it, back in 10 days.
        assert_eq!(
            follow(&later).await,
            json!({ "id": later, "status": "PARKED", "followUpCount": 2, "nextFollowUpOn": null, "revisitOn": day(10) })
        );
        // The earlier referral's next follow-up is scheduled by the new values.
        assert_eq!(
            follow(&earlier).await,
            json!({ "id": earlier, "status": "ACCEPTED", "followUpCount": 1, "nextFollowUpOn": day(3), "revisitOn": null })
        );
    }
);

// ---- CancelAbsence ----

async fn declare(app: &TestApp, who: &Person, input: Value) -> Value {
    app.ok(
        Some(&who.token),
        "DeclareAbsence",
        json!({ "input": input }),
    )
    .await["declareAbsence"]
        .clone()
}

async fn cancel(app: &TestApp, token: Option<&str>, id: &str) -> Value {
    app.op(token, "CancelAbsence", json!({ "id": id })).await
}

const MY_ABSENCES: &str = "{ myAbsences { id from to delegate { id } } }";

db_test!(
    cancel_absence_shortens_or_removes,
    |app: TestApp| async move {
        let c = app.chapter(&["Mia", "Max"]).await;
        let (mia, max) = (&c.members[0], &c.members[1]);
        let (_, hugo) = app.other_leader(&c.admin).await;

        // Started yesterday: now ends yesterday.
        let started = declare(
            &app,
            mia,
            json!({ "from": day(-1), "to": day(5), "delegateId": max.id }),
        )
        .await;
        let started_id = s(&started["id"]);
        let resp = cancel(&app, Some(&mia.token), &started_id).await;
        assert_eq!(
            resp["data"]["cancelAbsence"],
            json!({ "id": started_id, "from": day(-1), "to": day(-1), "delegate": { "id": max.id } }),
            "{resp:#}"
        );

        // Starting later: removed, returned as it was.
        let future = declare(
            &app,
            mia,
            json!({ "from": day(2), "to": day(5), "delegateId": max.id }),
        )
        .await;
        let future_id = s(&future["id"]);
        let absences_before = app.count("absences").await;
        let resp = cancel(&app, Some(&mia.token), &future_id).await;
        assert_eq!(
            resp["data"]["cancelAbsence"],
            json!({ "id": future_id, "from": day(2), "to": day(5), "delegate": { "id": max.id } }),
            "{resp:#}"
        );
        assert_eq!(app.count("absences").await, absences_before - 1);
        // Starting today: removed as well.
        let today = declare(&app, mia, json!({ "from": day(0), "to": day(3) })).await;
        let today_id = s(&today["id"]);
        let resp = cancel(&app, Some(&mia.token), &today_id).await;
        assert_eq!(
            resp["data"]["cancelAbsence"],
            json!({ "id": today_id, "from": day(0), "to": day(3), "delegate": null }),
            "{resp:#}"
        );

        // Over already (cut short before): BAD_USER_INPUT on "id".
        let long = declare(&app, mia, json!({ "from": day(-3), "to": day(3) })).await;
        let long_id = s(&long["id"]);
        let resp = cancel(&app, Some(&mia.token), &long_id).await;
        assert_eq!(
            resp["data"]["cancelAbsence"]["to"],
            json!(day(-1)),
            "{resp:#}"
        );

        // Max's own, still running.
        let maxs = declare(&app, max, json!({ "from": day(-2), "to": day(4) })).await;
        let maxs_id = s(&maxs["id"]);

        let listed = app.gql(Some(&mia.token), MY_ABSENCES, json!({})).await;
        let expected_mia = json!([
            { "id": started_id, "from": day(-1), "to": day(-1), "delegate": { "id": max.id } },
            { "id": long_id, "from": day(-3), "to": day(-1), "delegate": null },
        ]);
        assert_eq!(listed["data"]["myAbsences"], expected_mia, "{listed:#}");

        let before = app.snapshot().await;
        let cases: Vec<(Option<&str>, String, &str, Option<&str>)> = vec![
            (
                Some(&mia.token),
                long_id.clone(),
                "BAD_USER_INPUT",
                Some("id"),
            ),
            (
                Some(&mia.token),
                started_id.clone(),
                "BAD_USER_INPUT",
                Some("id"),
            ),
            (Some(&mia.token), future_id.clone(), "NOT_FOUND", None),
            (Some(&mia.token), maxs_id.clone(), "NOT_FOUND", None),
            (Some(&max.token), long_id.clone(), "NOT_FOUND", None),
            (Some(&c.leader.token), maxs_id.clone(), "NOT_FOUND", None),
            (Some(&hugo.token), long_id.clone(), "NOT_FOUND", None),
            (
                Some(&mia.token),
                uuid::Uuid::new_v4().to_string(),
                "NOT_FOUND",
                None,
            ),
            (None, maxs_id.clone(), "UNAUTHENTICATED", None),
        ];
        for (token, id, expected, f) in cases {
            let resp = cancel(&app, token, &id).await;
            refused(&resp, expected, f, &format!("cancel {id}"));
        }
        assert_eq!(app.snapshot().await, before);
        let listed = app.gql(Some(&mia.token), MY_ABSENCES, json!({})).await;
        assert_eq!(listed["data"]["myAbsences"], expected_mia);
        let listed = app.gql(Some(&max.token), MY_ABSENCES, json!({})).await;
        assert_eq!(
            listed["data"]["myAbsences"],
            json!([{ "id": maxs_id, "from": day(-2), "to": day(4), "delegate": null }])
        );
    }
);

db_test!(
    cancel_absence_ends_the_delegation,
    |app: TestApp| async move {
        let c = app.chapter(&["Gus", "Amy", "Ben"]).await;
        let (giver, amy, ben) = (&c.members[0], &c.members[1], &c.members[2]);
        let absence = declare(
            &app,
            amy,
            json!({ "from": day(-1), "to": day(10), "delegateId": ben.id }),
        )
        .await;
        let during = app
            .ok(
                Some(&giver.token),
                "GiveReferral",
                give_vars(&amy.id, "PORTAL", None),
            )
            .await;
        assert_eq!(during["giveReferral"]["madeInAbsence"], true);
        assert_eq!(during["giveReferral"]["absenceReason"], "AWAY");
        let during = s(&during["giveReferral"]["id"]);
        let delegated = app
            .ok(
                Some(&ben.token),
                "MyReferrals",
                json!({ "role": "DELEGATED" }),
            )
            .await;
        assert_eq!(delegated["me"]["referrals"]["totalCount"], 1);
        assert_eq!(
            delegated["me"]["referrals"]["edges"][0]["node"]["id"],
            json!(during)
        );
        let r = referral(&app, &ben.token, &during).await;
        assert_eq!(r["data"]["referral"]["id"], json!(during), "{r:#}");

        let resp = cancel(&app, Some(&amy.token), &s(&absence["id"])).await;
        assert_eq!(
            resp["data"]["cancelAbsence"]["to"],
            json!(day(-1)),
            "{resp:#}"
        );

        // New referrals to Amy are not made while away, and nobody covers them.
        let after = app
            .ok(
                Some(&giver.token),
                "GiveReferral",
                give_vars(&amy.id, "PORTAL", None),
            )
            .await;
        assert_ne!(after["giveReferral"]["absenceReason"], "AWAY");
        assert_eq!(after["giveReferral"]["absenceReason"], "REMOTE");
        let after = s(&after["giveReferral"]["id"]);
        let r = referral(&app, &amy.token, &after).await;
        assert_eq!(r["data"]["referral"]["delegate"], Value::Null, "{r:#}");

        // Ben sees and advances none of them any more.
        let delegated = app
            .ok(
                Some(&ben.token),
                "MyReferrals",
                json!({ "role": "DELEGATED" }),
            )
            .await;
        assert_eq!(
            delegated["me"]["referrals"]["totalCount"], 0,
            "{delegated:#}"
        );
        let before = app.snapshot().await;
        for id in [&during, &after] {
            let r = referral(&app, &ben.token, id).await;
            refused(&r, "NOT_FOUND", None, "the former delegate reads");
            let r = advance(&app, &ben.token, id, "ACCEPTED", None).await;
            refused(&r, "NOT_FOUND", None, "the former delegate advances");
            let r = app
                .op(
                    Some(&ben.token),
                    "ThankGiver",
                    json!({ "referralId": id, "note": "Thanks!" }),
                )
                .await;
            refused(&r, "NOT_FOUND", None, "the former delegate thanks");
        }
        assert_eq!(app.snapshot().await, before);

        // The referral made during the absence keeps its presence and routing.
        let r = referral(&app, &amy.token, &during).await;
        assert_eq!(r["data"]["referral"]["madeInAbsence"], true, "{r:#}");
        assert_eq!(r["data"]["referral"]["absenceReason"], "AWAY");
        assert_eq!(r["data"]["referral"]["delegate"], json!({ "id": ben.id }));
        assert_eq!(r["data"]["referral"]["status"], "SUBMITTED");
        // Amy herself handles it; the follow-ups are hers alone.
        let r = advance(&app, &amy.token, &during, "ACCEPTED", None).await;
        assert!(r.get("errors").is_none(), "{r:#}");
        let due = |token: &str| {
            let app = &app;
            let token = token.to_string();
            async move {
                app.ok(Some(&token), "DueFollowUps", json!({ "on": day(7) }))
                    .await["dueFollowUps"]["totalCount"]
                    .clone()
            }
        };
        assert_eq!(due(&amy.token).await, 1);
        assert_eq!(due(&ben.token).await, 0);
        let before = app.snapshot().await;
        let r = app
            .op(
                Some(&ben.token),
                "LogFollowUp",
                json!({ "input": { "referralId": during, "outcome": "NO_ANSWER" } }),
            )
            .await;
        refused(
            &r,
            "NOT_FOUND",
            None,
            "the former delegate logs a follow-up",
        );
        assert_eq!(app.snapshot().await, before);
    }
);

// ---- GiveReferralToContact ----

db_test!(
    give_referral_to_contact_and_record_its_outcome,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (me, other) = (&c.members[0], &c.members[1]);
        let pia = add_contact(
            &app,
            me,
            json!({ "name": "Pia Pro", "kind": "PROFESSIONAL" }),
        )
        .await;
        let partnership = app
            .ok(
                Some(&me.token),
                "AddPartnership",
                json!({ "input": { "contactId": pia, "since": day(-30) } }),
            )
            .await;
        let partnership = s(&partnership["addPartnership"]["id"]);

        let data = app
            .ok(
                Some(&me.token),
                "GiveReferralToContact",
                contact_referral_vars(&pia, 3),
            )
            .await;
        let r = &data["giveReferralToContact"];
        let id = s(&r["id"]);
        assert_eq!(
            r,
            &json!({ "id": id, "status": "SUBMITTED", "channel": "PORTAL", "madeInAbsence": false,
                     "giver": { "id": me.id }, "receiver": { "id": pia, "name": "Pia Pro" } })
        );
        let read = referral(&app, &me.token, &id).await;
        assert_eq!(read["data"]["referral"]["absenceReason"], Value::Null);
        assert_eq!(
            read["data"]["referral"]["receiver"],
            json!({ "__typename": "Contact", "id": pia, "name": "Pia Pro" })
        );
        let given = app
            .ok(Some(&me.token), "MyReferrals", json!({ "role": "GIVEN" }))
            .await;
        assert_eq!(given["me"]["referrals"]["totalCount"], 1);
        assert_eq!(
            given["me"]["referrals"]["edges"][0]["node"]["id"],
            json!(id)
        );
        assert_eq!(
            given["me"]["referrals"]["edges"][0]["node"]["temperature"],
            3
        );

        // Nobody else sees or moves it; not the group's leader either.
        let before = app.snapshot().await;
        for token in [&other.token, &c.leader.token] {
            let r = referral(&app, token, &id).await;
            refused(&r, "NOT_FOUND", None, "someone else reads it");
            let r = advance(&app, token, &id, "ACCEPTED", None).await;
            refused(&r, "NOT_FOUND", None, "someone else advances it");
        }
        for role in ["RECEIVED", "DELEGATED", "GIVEN"] {
            let list = app
                .ok(Some(&other.token), "MyReferrals", json!({ "role": role }))
                .await;
            assert_eq!(list["me"]["referrals"]["totalCount"], 0, "{role}");
        }
        assert_eq!(app.snapshot().await, before);

        // The giver records the outcome under the usual lifecycle rules, and
        // its follow-ups fall due to the giver.
        let skip = advance(&app, &me.token, &id, "WON", Some("750.00")).await;
        refused(&skip, "INVALID_TRANSITION", None, "SUBMITTED to WON");
        let mut version = 1;
        for status in ["ACCEPTED", "CONTACTED"] {
            let r = advance(&app, &me.token, &id, status, None).await;
            version += 1;
            assert_eq!(
                r["data"]["advanceReferral"],
                json!({ "id": id, "status": status, "version": version, "closedValue": null }),
                "{r:#}"
            );
        }
        let due = app
            .ok(Some(&me.token), "DueFollowUps", json!({ "on": day(7) }))
            .await;
        assert_eq!(due["dueFollowUps"]["totalCount"], 1, "{due:#}");
        assert_eq!(due["dueFollowUps"]["edges"][0]["node"]["id"], json!(id));
        let due = app
            .ok(Some(&me.token), "DueFollowUps", json!({ "on": day(6) }))
            .await;
        assert_eq!(due["dueFollowUps"]["totalCount"], 0, "{due:#}");
        let r = advance(&app, &me.token, &id, "WON", Some("750.00")).await;
        assert_eq!(
            r["data"]["advanceReferral"],
            json!({ "id": id, "status": "WON", "version": version + 1, "closedValue": "750.00" }),
            "{r:#}"
        );

        // It counts in the partnership with Pia as given by me.
        let list = app
            .ok(Some(&me.token), "MyPartnerships", json!({ "first": 10 }))
            .await;
        let node = &list["me"]["partnerships"]["edges"][0]["node"];
        assert_eq!(node["id"], json!(partnership));
        assert_eq!(
            node["balance"],
            json!({ "given": 1, "received": 0, "givenValue": "750.00", "receivedValue": "0.00", "net": 1 })
        );
        assert!(node["lastExchangeAt"].is_string(), "{node:#}");

        // What Pia passes back, recorded by me, is received in the same
        // partnership: two-way.
        app.ok(
            Some(&me.token),
            "RecordOutsideReferral",
            json!({ "input": { "contactId": pia, "prospect": { "name": "Back From Pia" }, "temperature": 2 } }),
        )
        .await;
        let list = app
            .ok(Some(&me.token), "MyPartnerships", json!({ "first": 10 }))
            .await;
        assert_eq!(list["me"]["partnerships"]["totalCount"], 1);
        let node = &list["me"]["partnerships"]["edges"][0]["node"];
        assert_eq!(
            node["balance"],
            json!({ "given": 1, "received": 1, "givenValue": "750.00", "receivedValue": "0.00", "net": 0 })
        );
        assert_eq!(node["oneWay"], false);
        let q = "query($f: Date, $t: Date) { me { partnerships(first: 5) { edges { node { balance(from: $f, to: $t) { given received givenValue } } } } } }";
        let r = app
            .gql(Some(&me.token), q, json!({ "f": day(0), "t": day(0) }))
            .await;
        assert_eq!(
            r["data"]["me"]["partnerships"]["edges"][0]["node"]["balance"],
            json!({ "given": 1, "received": 1, "givenValue": "750.00" }),
            "{r:#}"
        );
        let r = app
            .gql(Some(&me.token), q, json!({ "f": day(-60), "t": day(-1) }))
            .await;
        assert_eq!(
            r["data"]["me"]["partnerships"]["edges"][0]["node"]["balance"],
            json!({ "given": 0, "received": 0, "givenValue": "0.00" }),
            "{r:#}"
        );
        // And in my own balance.
        let me_now = app.ok(Some(&me.token), "Me", json!({})).await;
        assert_eq!(
            me_now["me"]["balance"],
            json!({ "given": 1, "received": 1, "givenValue": "750.00", "receivedValue": "0.00", "net": 0 })
        );
        // Three to a contact who gives nothing back: one-way.
        let quiet = add_contact(&app, me, json!({ "name": "Quiet Quinn", "kind": "CLIENT" })).await;
        app.ok(
            Some(&me.token),
            "AddPartnership",
            json!({ "input": { "contactId": quiet } }),
        )
        .await;
        for _ in 0..3 {
            app.ok(
                Some(&me.token),
                "GiveReferralToContact",
                contact_referral_vars(&quiet, 2),
            )
            .await;
        }
        let list = app
            .ok(Some(&me.token), "MyPartnerships", json!({ "first": 10 }))
            .await;
        let quinn = list["me"]["partnerships"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["partner"]["name"] == "Quiet Quinn")
            .unwrap()["node"]
            .clone();
        assert_eq!(quinn["oneWay"], true, "{quinn:#}");
        assert_eq!(
            quinn["balance"],
            json!({ "given": 3, "received": 0, "givenValue": "0.00", "receivedValue": "0.00", "net": 3 })
        );

        // The other member's balance is untouched.
        let other_now = app.ok(Some(&other.token), "Me", json!({})).await;
        assert_eq!(other_now["me"]["balance"]["received"], 0);
    }
);

db_test!(
    give_referral_to_contact_refusals,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (me, other) = (&c.members[0], &c.members[1]);
        let mine = add_contact(
            &app,
            me,
            json!({ "name": "Pia Pro", "kind": "PROFESSIONAL" }),
        )
        .await;
        let theirs = add_contact(&app, other, json!({ "name": "Quin", "kind": "CLIENT" })).await;
        let (_, hugo) = app.other_leader(&c.admin).await;

        let before = app.snapshot().await;
        let mut bad_prospect = contact_referral_vars(&mine, 3);
        bad_prospect["input"]["prospect"]["name"] = json!("  ");
        let mut bad_email = contact_referral_vars(&mine, 3);
        bad_email["input"]["prospect"]["email"] = json!("nope");
        let mut long_note = contact_referral_vars(&mine, 3);
        long_note["input"]["note"] = json!("n".repeat(2001));
        let cases: Vec<(Option<&str>, Value, &str, Option<&str>)> = vec![
            (
                Some(&me.token),
                contact_referral_vars(&theirs, 3),
                "NOT_FOUND",
                Some("input.contactId"),
            ),
            (
                Some(&other.token),
                contact_referral_vars(&mine, 3),
                "NOT_FOUND",
                Some("input.contactId"),
            ),
            (
                Some(&hugo.token),
                contact_referral_vars(&mine, 3),
                "NOT_FOUND",
                Some("input.contactId"),
            ),
            (
                Some(&me.token),
                contact_referral_vars(&uuid::Uuid::new_v4().to_string(), 3),
                "NOT_FOUND",
                Some("input.contactId"),
            ),
            (
                Some(&me.token),
                contact_referral_vars("not-an-id", 3),
                "BAD_USER_INPUT",
                Some("input.contactId"),
            ),
            (
                Some(&me.token),
                contact_referral_vars(&mine, 0),
                "BAD_USER_INPUT",
                Some("input.temperature"),
            ),
            (
                Some(&me.token),
                contact_referral_vars(&mine, 6),
                "BAD_USER_INPUT",
                Some("input.temperature"),
            ),
            (
                Some(&me.token),
                bad_prospect,
                "BAD_USER_INPUT",
                Some("input.prospect.name"),
            ),
            (
                Some(&me.token),
                bad_email,
                "BAD_USER_INPUT",
                Some("input.prospect.email"),
            ),
            (
                Some(&me.token),
                long_note,
                "BAD_USER_INPUT",
                Some("input.note"),
            ),
            (
                None,
                contact_referral_vars(&mine, 3),
                "UNAUTHENTICATED",
                None,
            ),
        ];
        for (token, vars, expected, f) in cases {
            let resp = app.op(token, "GiveReferralToContact", vars.clone()).await;
            refused(&resp, expected, f, &vars["input"].to_string());
        }
        assert_eq!(app.snapshot().await, before);
    }
);

// ---- Balances per currency and over a period ----

db_test!(member_balances_per_currency, |app: TestApp| async move {
    let c = chapter(&app, 1).await;
    let euro_peer = &c.members[0];
    let dollars = app
        .ok(
            Some(&c.admin),
            "CreateGroup",
            json!({ "input": { "name": "Dollar Club", "currency": "USD" } }),
        )
        .await;
    assert_eq!(dollars["createGroup"]["currency"], "USD");
    let usd = s(&dollars["createGroup"]["id"]);
    let both = app.person("Bea Both", "Broker").await;
    let usd_peer = app.person("Uma", "Upholsterer").await;
    // Bea's Dollar Club seat is the older one (100 days against 30).
    app.seat(&c.admin, &usd, &both.id, "MEMBER", &day(-100))
        .await;
    app.seat(&c.admin, &usd, &usd_peer.id, "MEMBER", &day(-100))
        .await;
    app.seat(&c.leader.token, &c.group, &both.id, "MEMBER", &day(-30))
        .await;

    // Bea gives one in each group, both won; and receives one in each, won.
    let eur_given = give(&app, &both, &euro_peer.id).await;
    win(&app, &euro_peer.token, &eur_given, "100.00").await;
    let usd_given = give(&app, &both, &usd_peer.id).await;
    win(&app, &usd_peer.token, &usd_given, "250.50").await;
    let eur_received = give(&app, euro_peer, &both.id).await;
    win(&app, &both.token, &eur_received, "40.00").await;
    let usd_received = give(&app, &usd_peer, &both.id).await;
    win(&app, &both.token, &usd_received, "60.25").await;
    // One more open one in USD: counted, no value.
    give(&app, &usd_peer, &both.id).await;

    let q = "{ me { balance { given received givenValue receivedValue net }
                        balances { currency given received givenValue receivedValue net } } }";
    let r = app.gql(Some(&both.token), q, json!({})).await;
    assert!(r.get("errors").is_none(), "{r:#}");
    // Values in the home currency (the longest-held active seat: USD);
    // counts of everything.
    assert_eq!(
        r["data"]["me"]["balance"],
        json!({ "given": 2, "received": 3, "givenValue": "250.50", "receivedValue": "60.25", "net": -1 })
    );
    assert_eq!(
        r["data"]["me"]["balances"],
        json!([
            { "currency": "EUR", "given": 1, "received": 1, "givenValue": "100.00", "receivedValue": "40.00", "net": 0 },
            { "currency": "USD", "given": 1, "received": 2, "givenValue": "250.50", "receivedValue": "60.25", "net": -1 },
        ])
    );
    let me = app.ok(Some(&both.token), "Me", json!({})).await;
    assert_eq!(me["me"]["balance"], r["data"]["me"]["balance"]);
    // Asked for in a currency.
    let q_in = "query($c: String) { me { balance(currency: $c) { givenValue receivedValue } } }";
    let r = app
        .gql(Some(&both.token), q_in, json!({ "c": "EUR" }))
        .await;
    assert_eq!(
        r["data"]["me"]["balance"],
        json!({ "givenValue": "100.00", "receivedValue": "40.00" }),
        "{r:#}"
    );
    let r = app
        .gql(Some(&both.token), q_in, json!({ "c": "EURO" }))
        .await;
    refused(&r, "BAD_USER_INPUT", Some("currency"), "currency EURO");
    // Over an empty past period: nothing.
    let q_period = "query($f: Date, $t: Date) { me { balance(from: $f, to: $t) { given givenValue }
                        balances(from: $f, to: $t) { currency given } } }";
    let r = app
        .gql(
            Some(&both.token),
            q_period,
            json!({ "f": day(-30), "t": day(-1) }),
        )
        .await;
    assert_eq!(
        r["data"]["me"],
        json!({ "balance": { "given": 0, "givenValue": "0.00" }, "balances": [] }),
        "{r:#}"
    );
    let r = app
        .gql(
            Some(&both.token),
            q_period,
            json!({ "f": day(0), "t": day(0) }),
        )
        .await;
    assert_eq!(
        r["data"]["me"],
        json!({ "balance": { "given": 2, "givenValue": "250.50" },
                    "balances": [{ "currency": "EUR", "given": 1 }, { "currency": "USD", "given": 1 }] }),
        "{r:#}"
    );

    // A member with one currency: one row.
    let r = app.gql(Some(&euro_peer.token), q, json!({})).await;
    assert_eq!(
        r["data"]["me"]["balances"],
        json!([{ "currency": "EUR", "given": 1, "received": 1, "givenValue": "40.00", "receivedValue": "100.00", "net": 0 }])
    );
    assert_eq!(r["data"]["me"]["balance"]["givenValue"], "40.00");

    // Leaving the Dollar Club makes EUR the home currency.
    app.unseat(&c.admin, &usd, &both.id, &day(0)).await;
    let r = app.gql(Some(&both.token), q, json!({})).await;
    assert_eq!(
        r["data"]["me"]["balance"],
        json!({ "given": 2, "received": 3, "givenValue": "100.00", "receivedValue": "40.00", "net": -1 })
    );
    assert_eq!(r["data"]["me"]["balances"].as_array().unwrap().len(), 2);
});

db_test!(
    partnership_balance_per_currency,
    |app: TestApp| async move {
        // Two members who share a EUR chapter and a USD club: one partnership,
        // referrals in both currencies (each pinned to its group by a meeting).
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let dollars = app
            .ok(
                Some(&c.admin),
                "CreateGroup",
                json!({ "input": { "name": "Dollar Club", "currency": "USD" } }),
            )
            .await;
        let usd = s(&dollars["createGroup"]["id"]);
        app.seat(&c.admin, &usd, &a.id, "MEMBER", &day(-10)).await;
        app.seat(&c.admin, &usd, &b.id, "MEMBER", &day(-10)).await;
        let meeting = |group: String, token: String| {
            let app = &app;
            async move {
                let m = app
                    .ok(
                        Some(&token),
                        "ScheduleMeeting",
                        json!({ "groupId": group, "heldOn": day(0) }),
                    )
                    .await;
                s(&m["scheduleMeeting"]["id"])
            }
        };
        let eur_meeting = meeting(c.group.clone(), c.leader.token.clone()).await;
        let usd_meeting = meeting(usd.clone(), c.admin.clone()).await;
        let give_at = |giver: &Person, receiver: &str, m: &str| {
            let (app, token, vars) = (
                &app,
                giver.token.clone(),
                give_vars(receiver, "MEETING", Some(m)),
            );
            async move {
                let r = app.ok(Some(&token), "GiveReferral", vars).await;
                s(&r["giveReferral"]["id"])
            }
        };
        let r1 = give_at(a, &b.id, &eur_meeting).await;
        win(&app, &b.token, &r1, "100.00").await;
        let r2 = give_at(a, &b.id, &usd_meeting).await;
        win(&app, &b.token, &r2, "70.00").await;
        let r3 = give_at(b, &a.id, &usd_meeting).await;
        win(&app, &a.token, &r3, "5.25").await;
        app.ok(
            Some(&a.token),
            "AddPartnership",
            json!({ "input": { "memberId": b.id } }),
        )
        .await;
        let q = "query($c: String) { me { partnerships(first: 5) { edges { node {
                    balance(currency: $c) { given received givenValue receivedValue net }
                    balances { currency given received givenValue receivedValue net } } } } } }";
        let node = |r: &Value| r["data"]["me"]["partnerships"]["edges"][0]["node"].clone();
        // Two currencies: the default is a's home currency (the EUR
        // chapter, the older seat); counts include everything.
        let r = app.gql(Some(&a.token), q, json!({})).await;
        assert!(r.get("errors").is_none(), "{r:#}");
        assert_eq!(
            node(&r)["balance"],
            json!({ "given": 2, "received": 1, "givenValue": "100.00", "receivedValue": "0.00", "net": 1 })
        );
        assert_eq!(
            node(&r)["balances"],
            json!([
                { "currency": "EUR", "given": 1, "received": 0, "givenValue": "100.00", "receivedValue": "0.00", "net": 1 },
                { "currency": "USD", "given": 1, "received": 1, "givenValue": "70.00", "receivedValue": "5.25", "net": 0 },
            ])
        );
        let r = app.gql(Some(&a.token), q, json!({ "c": "USD" })).await;
        assert_eq!(
            node(&r)["balance"],
            json!({ "given": 2, "received": 1, "givenValue": "70.00", "receivedValue": "5.25", "net": 1 }),
            "{r:#}"
        );
        let r = app.gql(Some(&a.token), q, json!({ "c": "usd!" })).await;
        refused(&r, "BAD_USER_INPUT", Some("currency"), "currency usd!");
    }
);

db_test!(
    partner_firm_balance_over_a_period,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let won = submit(&app, &secret, &a.id, "p-1").await;
        win(&app, &a.token, &won, "1000.50").await;
        submit(&app, &secret, &b.id, "p-2").await;
        give(&app, a, &firm_id).await;

        let q = "query($f: Date, $t: Date) { partnerFirm { balance(from: $f, to: $t) { given received givenValue receivedValue net } } }";
        let all = json!({ "given": 2, "received": 1, "givenValue": "1000.50", "receivedValue": "0.00", "net": 1 });
        let none = json!({ "given": 0, "received": 0, "givenValue": "0.00", "receivedValue": "0.00", "net": 0 });
        let r = app.gql(Some(&secret), q, json!({})).await;
        assert_eq!(r["data"]["partnerFirm"]["balance"], all, "{r:#}");
        let r = app
            .gql(Some(&secret), q, json!({ "f": day(-1), "t": day(1) }))
            .await;
        assert_eq!(r["data"]["partnerFirm"]["balance"], all, "{r:#}");
        let r = app
            .gql(Some(&secret), q, json!({ "f": day(-400), "t": day(-1) }))
            .await;
        assert_eq!(r["data"]["partnerFirm"]["balance"], none, "{r:#}");
        // Leaders read it too, through their group's firms.
        let q_leader = "query($g: ID!, $f: Date, $t: Date) { group(id: $g) { partnerFirms { id balance(from: $f, to: $t) { given received givenValue receivedValue net } } } }";
        let r = app
            .gql(
                Some(&c.leader.token),
                q_leader,
                json!({ "g": c.group, "f": day(0), "t": day(0) }),
            )
            .await;
        assert_eq!(
            r["data"]["group"]["partnerFirms"][0]["balance"], all,
            "{r:#}"
        );
        let r = app
            .gql(
                Some(&c.leader.token),
                q_leader,
                json!({ "g": c.group, "f": day(-10), "t": day(-1) }),
            )
            .await;
        assert_eq!(
            r["data"]["group"]["partnerFirms"][0]["balance"], none,
            "{r:#}"
        );
        // A period needs both ends, in order.
        let r = app
            .gql(Some(&secret), q, json!({ "f": day(0), "t": day(-1) }))
            .await;
        refused(&r, "BAD_USER_INPUT", Some("to"), "to before from");
        let r = app.gql(Some(&secret), q, json!({ "f": day(0) })).await;
        refused(&r, "BAD_USER_INPUT", Some("from"), "only from");
    }
);

// ---- Every operation: partner tokens and anonymous callers ----

db_test!(
    the_edits_refuse_partner_tokens_and_anonymous_callers,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let me = &c.members[0];
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let contact = add_contact(
            &app,
            me,
            json!({ "name": "Pia Pro", "kind": "PROFESSIONAL" }),
        )
        .await;
        let partnership = app
            .ok(
                Some(&me.token),
                "AddPartnership",
                json!({ "input": { "contactId": contact } }),
            )
            .await;
        let partnership = s(&partnership["addPartnership"]["id"]);
        let absence = declare(&app, me, json!({ "from": day(0), "to": day(3) })).await;
        let absence = s(&absence["id"]);

        let ops: Vec<(&str, Value)> = vec![
            ("UpdateProfile", json!({ "input": { "name": "Changed" } })),
            (
                "ChangePassword",
                json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD }),
            ),
            (
                "UpdatePartnership",
                json!({ "input": { "partnershipId": partnership, "stage": "PROFITABILITY" } }),
            ),
            (
                "UpdateContact",
                json!({ "input": { "contactId": contact, "npsScore": 9 } }),
            ),
            (
                "SetGroupSettings",
                json!({ "input": { "groupId": c.group, "followUpIntervalDays": 3 } }),
            ),
            ("GroupSettings", json!({ "id": c.group })),
            ("CancelAbsence", json!({ "id": absence })),
            ("GiveReferralToContact", contact_referral_vars(&contact, 3)),
        ];
        let before = app.snapshot().await;
        for (op, vars) in &ops {
            let resp = app.op(Some(&secret), op, vars.clone()).await;
            refused(
                &resp,
                "FORBIDDEN",
                None,
                &format!("{op} with a partner token"),
            );
            let resp = app.op(None, op, vars.clone()).await;
            refused(
                &resp,
                "UNAUTHENTICATED",
                None,
                &format!("{op} with no token"),
            );
            let resp = app.op(Some("not-a-token"), op, vars.clone()).await;
            refused(
                &resp,
                "UNAUTHENTICATED",
                None,
                &format!("{op} with a bad token"),
            );
        }
        assert_eq!(app.snapshot().await, before);
        // Nothing moved.
        assert_eq!(profile(&app, &me.token).await["name"], "Member 0");
        assert_eq!(
            settings_of(&app, &me.token, &c.group).await["followUpIntervalDays"],
            7
        );
        let list = partnerships(&app, &me.token, None).await;
        assert_eq!(node_by_id(&list, &partnership)["stage"], "VISIBILITY");
        let signed = app.sign_in("member.0@example.com", PASSWORD).await;
        assert!(signed.get("errors").is_none(), "{signed:#}");
    }
);
