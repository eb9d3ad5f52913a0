//! Partner firms: firms and API tokens (leaders), token authentication and
//! scopes, idempotent submissions, write-back, isolation, the directory,
//! balances both ways, rate limits.

use serde_json::{Value, json};

use crate::db_test;
use crate::db_test_with;
use crate::fixtures::{advance, chapter, give, give_vars, win};
use crate::helpers::{Chapter, TestApp, code, day, field};

pub const ALL_SCOPES: &[&str] = &["REFERRALS_WRITE", "REFERRALS_READ", "DIRECTORY_READ"];

/// A partner firm of the chapter's group, created by its leader.
pub async fn firm(app: &TestApp, c: &Chapter, name: &str) -> String {
    let data = app
        .ok(
            Some(&c.leader.token),
            "CreatePartnerFirm",
            json!({ "input": { "groupId": c.group, "name": name, "contactEmail": "desk@firm.example" } }),
        )
        .await;
    data["createPartnerFirm"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Issues a token for `firm`; returns its secret.
pub async fn token(app: &TestApp, leader: &str, firm: &str, scopes: &[&str]) -> String {
    let data = app
        .ok(
            Some(leader),
            "IssueApiToken",
            json!({ "input": { "partnerFirmId": firm, "scopes": scopes } }),
        )
        .await;
    data["issueApiToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn submit_vars(receiver: &str, key: &str) -> Value {
    json!({ "input": {
        "receiverId": receiver,
        "prospect": { "name": "Quinn Prospect", "email": "quinn@prospect.example", "phone": "+44 20 7946 0000",
                      "company": "Quinn & Co", "need": "A new office lease" },
        "temperature": 3,
        "note": "Met at our branch",
        "idempotencyKey": key,
    }})
}

/// Submits a referral with the firm's token; returns its id.
pub async fn submit(app: &TestApp, token: &str, receiver: &str, key: &str) -> String {
    let data = app
        .ok(Some(token), "SubmitReferral", submit_vars(receiver, key))
        .await;
    data["submitReferral"]["id"].as_str().unwrap().to_string()
}

pub async fn partner_advance(
    app: &TestApp,
    token: &str,
    referral: &str,
    status: &str,
    value: Option<&str>,
) -> Value {
    app.op(
        Some(token),
        "PartnerAdvance",
        json!({ "input": { "referralId": referral, "status": status, "closedValue": value } }),
    )
    .await
}

/// The stored form of a token: the hex SHA-256 of the whole secret.
fn sha256_hex(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// A token of the right shape the server never issued: `rx_`, 32 random
/// base62 characters, then their CRC32 as 6 zero-padded base62 digits.
fn well_formed_unknown_token() -> String {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let random: String = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .map(|b| char::from(BASE62[usize::from(*b) % 62]))
        .collect();
    let mut n = crc32fast::hash(random.as_bytes());
    let mut digits = [b'0'; 6];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let checksum: String = digits.iter().map(|&b| char::from(b)).collect();
    format!("rx_{random}{checksum}")
}

async fn set_token_column(app: &TestApp, secret: &str, column: &str, value: Value) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let hash = sha256_hex(secret);
    let col = match column {
        "expires_at" => entities::api_token::Column::ExpiresAt,
        _ => entities::api_token::Column::LastUsedAt,
    };
    let at: Option<chrono::DateTime<chrono::Utc>> = value.as_str().map(|s| s.parse().unwrap());
    entities::api_token::Entity::update_many()
        .col_expr(col, sea_orm::sea_query::Expr::value(at))
        .filter(entities::api_token::Column::SecretHash.eq(hash))
        .exec(&app.db)
        .await
        .unwrap();
}

db_test!(leaders_manage_firms_and_tokens, |app: TestApp| async move {
    let c = chapter(&app, 1).await;
    let member = &c.members[0];
    let (_, other_leader) = app.other_leader(&c.admin).await;
    let data = app
        .ok(
            Some(&c.leader.token),
            "CreatePartnerFirm",
            json!({ "input": { "groupId": c.group, "name": "  Harbour Bank  " } }),
        )
        .await;
    assert_eq!(data["createPartnerFirm"]["name"], "Harbour Bank");
    assert_eq!(data["createPartnerFirm"]["group"]["id"], json!(c.group));
    let firm_id = data["createPartnerFirm"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Who may not, and bad input: nothing written.
    let before = app.snapshot().await;
    let vars = json!({ "input": { "groupId": c.group, "name": "Nope" } });
    for (token, expected) in [
        (Some(member.token.as_str()), "FORBIDDEN"),
        (Some(other_leader.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let resp = app.op(token, "CreatePartnerFirm", vars.clone()).await;
        assert_eq!(code(&resp), expected);
    }
    for (input, f) in [
        (json!({ "groupId": c.group, "name": " " }), "input.name"),
        (
            json!({ "groupId": c.group, "name": "x".repeat(201) }),
            "input.name",
        ),
        (
            json!({ "groupId": c.group, "name": "Firm", "contactEmail": "nope" }),
            "input.contactEmail",
        ),
        (
            json!({ "groupId": "not-an-id", "name": "Firm" }),
            "input.groupId",
        ),
    ] {
        let resp = app
            .op(
                Some(&c.leader.token),
                "CreatePartnerFirm",
                json!({ "input": input }),
            )
            .await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{resp:#}");
        assert_eq!(field(&resp), f);
    }
    let unknown =
        json!({ "input": { "groupId": uuid::Uuid::new_v4().to_string(), "name": "Firm" } });
    let resp = app
        .op(Some(&c.leader.token), "CreatePartnerFirm", unknown)
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    assert_eq!(field(&resp), "input.groupId");
    let unknown_firm = json!({ "input": {
        "partnerFirmId": uuid::Uuid::new_v4().to_string(), "scopes": ["REFERRALS_READ"] } });
    let resp = app
        .op(Some(&c.leader.token), "IssueApiToken", unknown_firm)
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    assert_eq!(field(&resp), "input.partnerFirmId");

    assert_eq!(app.snapshot().await, before);

    // Issuing: the secret once, only its hash stored.
    let data = app
            .ok(
                Some(&c.leader.token),
                "IssueApiToken",
                json!({ "input": { "partnerFirmId": firm_id, "scopes": ["DIRECTORY_READ", "REFERRALS_WRITE", "DIRECTORY_READ"],
                                   "expiresAt": "2099-01-01T00:00:00Z" } }),
            )
            .await;
    let issued = &data["issueApiToken"];
    let secret = issued["secret"].as_str().unwrap();
    assert!(secret.starts_with("rx_"), "{secret}");
    assert_eq!(secret.len(), 3 + 32 + 6);
    assert!(secret[3..].chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(issued["token"]["prefix"], json!(&secret[..9]));
    assert_eq!(
        issued["token"]["scopes"],
        json!(["REFERRALS_WRITE", "DIRECTORY_READ"])
    );
    assert_eq!(issued["token"]["expiresAt"], "2099-01-01T00:00:00+00:00");
    assert_eq!(issued["token"]["lastUsedAt"], Value::Null);
    assert_eq!(issued["token"]["revokedAt"], Value::Null);
    let token_id = issued["token"]["id"].as_str().unwrap().to_string();
    {
        use sea_orm::EntityTrait;
        let row = entities::api_token::Entity::find_by_id(token_id.clone())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.secret_hash, sha256_hex(secret));
        let stored = format!("{row:?}");
        assert!(
            !stored.contains(&secret[3..]),
            "the secret is stored in clear"
        );
    }

    let before_tokens = app.snapshot().await;
    let issue = |input: Value| json!({ "input": input });
    for (input, f) in [
        (
            json!({ "partnerFirmId": firm_id, "scopes": [] }),
            "input.scopes",
        ),
        (
            json!({ "partnerFirmId": firm_id, "scopes": ["REFERRALS_READ"], "expiresAt": "2001-01-01T00:00:00Z" }),
            "input.expiresAt",
        ),
        (
            json!({ "partnerFirmId": "x", "scopes": ["REFERRALS_READ"] }),
            "input.partnerFirmId",
        ),
    ] {
        let resp = app
            .op(Some(&c.leader.token), "IssueApiToken", issue(input))
            .await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{resp:#}");
        assert_eq!(field(&resp), f);
    }
    let ok_input = json!({ "partnerFirmId": firm_id, "scopes": ["REFERRALS_READ"] });
    for (token, expected) in [
        (Some(member.token.as_str()), "FORBIDDEN"),
        (Some(other_leader.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
        (Some(secret), "FORBIDDEN"),
    ] {
        let resp = app
            .op(token, "IssueApiToken", issue(ok_input.clone()))
            .await;
        assert_eq!(code(&resp), expected, "{resp:#}");
    }
    assert_eq!(app.snapshot().await, before_tokens);
    assert_eq!(
        before_tokens
            .iter()
            .find(|t| t.0 == "api_tokens")
            .unwrap()
            .1,
        1
    );

    // Listing: leaders (and admins) see balances and tokens.
    let list = app
        .ok(
            Some(&c.leader.token),
            "PartnerFirms",
            json!({ "groupId": c.group }),
        )
        .await;
    let firms = list["group"]["partnerFirms"].as_array().unwrap();
    assert_eq!(firms.len(), 1);
    assert_eq!(firms[0]["name"], "Harbour Bank");
    assert_eq!(
        firms[0]["balance"],
        json!({ "given": 0, "received": 0, "givenValue": "0.00", "receivedValue": "0.00", "net": 0 })
    );
    assert_eq!(firms[0]["tokens"][0]["id"], json!(token_id));
    assert_eq!(firms[0]["tokens"][0]["prefix"], json!(&secret[..9]));
    app.ok(
        Some(&c.admin),
        "PartnerFirms",
        json!({ "groupId": c.group }),
    )
    .await;
    // A plain member may list the firms (to refer business to them), but
    // balances and tokens are the leaders': the contract operation is FORBIDDEN.
    let resp = app
        .op(
            Some(&member.token),
            "PartnerFirms",
            json!({ "groupId": c.group }),
        )
        .await;
    assert_eq!(code(&resp), "FORBIDDEN");
    let names = app
        .gql(
            Some(&member.token),
            "query($id: ID!) { group(id: $id) { partnerFirms { id name contactEmail } } }",
            json!({ "id": c.group }),
        )
        .await;
    assert!(names.get("errors").is_none(), "{names:#}");
    assert_eq!(
        names["data"]["group"]["partnerFirms"],
        json!([{ "id": firm_id, "name": "Harbour Bank", "contactEmail": null }])
    );
    let resp = app
        .op(
            Some(&other_leader.token),
            "PartnerFirms",
            json!({ "groupId": c.group }),
        )
        .await;
    assert_eq!(code(&resp), "FORBIDDEN");

    // Revoking: leaders only; a second revocation keeps the first time.
    let resp = app
        .op(
            Some(&member.token),
            "RevokeApiToken",
            json!({ "id": token_id }),
        )
        .await;
    assert_eq!(code(&resp), "FORBIDDEN");
    let resp = app
        .op(
            Some(&c.leader.token),
            "RevokeApiToken",
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    let first = app
        .ok(
            Some(&c.leader.token),
            "RevokeApiToken",
            json!({ "id": token_id }),
        )
        .await;
    let revoked_at = first["revokeApiToken"]["revokedAt"].clone();
    assert!(revoked_at.is_string());
    let again = app
        .ok(Some(&c.admin), "RevokeApiToken", json!({ "id": token_id }))
        .await;
    assert_eq!(again["revokeApiToken"]["revokedAt"], revoked_at);
});

db_test!(token_authentication, |app: TestApp| async move {
    let c = chapter(&app, 1).await;
    let firm_id = firm(&app, &c, "Harbour Bank").await;
    let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
    let data = app.ok(Some(&secret), "PartnerReferrals", json!({})).await;
    assert_eq!(data["partnerFirm"]["id"], json!(firm_id));
    assert_eq!(data["partnerFirm"]["name"], "Harbour Bank");

    // lastUsedAt is recorded, then not rewritten within the minute.
    let used = |app: &TestApp| {
        let db = app.db.clone();
        let hash = sha256_hex(&secret);
        async move {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            entities::api_token::Entity::find()
                .filter(entities::api_token::Column::SecretHash.eq(hash))
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .last_used_at
        }
    };
    let first_use = used(&app).await.expect("lastUsedAt recorded");
    app.ok(Some(&secret), "PartnerReferrals", json!({})).await;
    assert_eq!(
        used(&app).await,
        Some(first_use),
        "throttled to once a minute"
    );
    set_token_column(&app, &secret, "last_used_at", json!("2020-01-01T00:00:00Z")).await;
    app.ok(Some(&secret), "PartnerReferrals", json!({})).await;
    assert!(used(&app).await.unwrap() > first_use);
    let listed = app
        .ok(
            Some(&c.leader.token),
            "PartnerFirms",
            json!({ "groupId": c.group }),
        )
        .await;
    assert!(listed["group"]["partnerFirms"][0]["tokens"][0]["lastUsedAt"].is_string());

    // Malformed or made up: UNAUTHENTICATED (refused before any lookup).
    let mut typo = secret.clone().into_bytes();
    typo[10] = if typo[10] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    let unknown = well_formed_unknown_token();
    for bad in [
        typo.as_str(),
        "rx_",
        "rx_0123456789",
        unknown.as_str(),
        &format!("{secret}0"),
    ] {
        let resp = app.op(Some(bad), "PartnerReferrals", json!({})).await;
        assert_eq!(code(&resp), "UNAUTHENTICATED", "{bad}");
    }
    // With the GraphQL response media type the status says so too.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .bearer_auth(&typo)
        .json(&json!({ "query": "{ partnerFirm { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Expiry and revocation take effect on the next request.
    set_token_column(&app, &secret, "expires_at", json!("2020-01-01T00:00:00Z")).await;
    let resp = app.op(Some(&secret), "PartnerReferrals", json!({})).await;
    assert_eq!(code(&resp), "UNAUTHENTICATED");
    set_token_column(&app, &secret, "expires_at", json!("2099-01-01T00:00:00Z")).await;
    app.ok(Some(&secret), "PartnerReferrals", json!({})).await;
    let listed = app
        .ok(
            Some(&c.leader.token),
            "PartnerFirms",
            json!({ "groupId": c.group }),
        )
        .await;
    let token_id = listed["group"]["partnerFirms"][0]["tokens"][0]["id"].clone();
    app.ok(
        Some(&c.leader.token),
        "RevokeApiToken",
        json!({ "id": token_id }),
    )
    .await;
    let resp = app.op(Some(&secret), "PartnerReferrals", json!({})).await;
    assert_eq!(code(&resp), "UNAUTHENTICATED");
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
});

db_test!(
    scopes_and_member_only_operations,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let read = token(&app, &c.leader.token, &firm_id, &["REFERRALS_READ"]).await;
        let write = token(&app, &c.leader.token, &firm_id, &["REFERRALS_WRITE"]).await;
        let directory = token(&app, &c.leader.token, &firm_id, &["DIRECTORY_READ"]).await;
        let to_firm = give(&app, a, &firm_id).await;
        let submitted = submit(&app, &write, &b.id, "scope-1").await;
        let all = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;

        let before = app.snapshot().await;
        let submit_op = ("SubmitReferral", submit_vars(&a.id, "scope-2"));
        let advance_op = (
            "PartnerAdvance",
            json!({ "input": { "referralId": to_firm, "status": "ACCEPTED" } }),
        );
        let referrals_op = ("PartnerReferrals", json!({}));
        let directory_op = ("Directory", json!({}));
        for (secret, denied) in [
            (&read, vec![&submit_op, &advance_op, &directory_op]),
            (&write, vec![&referrals_op, &directory_op]),
            (&directory, vec![&submit_op, &advance_op, &referrals_op]),
        ] {
            for (op, vars) in denied {
                let resp = app.op(Some(secret), op, vars.clone()).await;
                assert_eq!(code(&resp), "FORBIDDEN", "{op}: {resp:#}");
            }
        }
        // `referral(id)` with a token reads with REFERRALS_READ only.
        let resp = app
            .op(Some(&write), "Referral", json!({ "id": submitted }))
            .await;
        assert_eq!(code(&resp), "FORBIDDEN");
        assert_eq!(
            app.ok(Some(&read), "Referral", json!({ "id": submitted }))
                .await["referral"]["id"],
            json!(submitted)
        );

        // Member-only operations never accept a token, whatever its scopes.
        for (op, vars) in [
            ("Me", json!({})),
            ("GiveReferral", give_vars(&a.id, "PORTAL", None)),
            ("MyReferrals", json!({ "role": "GIVEN" })),
            ("GroupRoster", json!({ "groupId": c.group })),
            (
                "ThankGiver",
                json!({ "referralId": submitted, "note": "thanks" }),
            ),
            ("PartnerFirms", json!({ "groupId": c.group })),
            (
                "CreatePartnerFirm",
                json!({ "input": { "groupId": c.group, "name": "Mine" } }),
            ),
            ("SignOut", json!({})),
        ] {
            let resp = app.op(Some(&all), op, vars).await;
            assert_eq!(code(&resp), "FORBIDDEN", "{op}: {resp:#}");
        }
        let resp = app
            .gql(
                Some(&all),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": a.id }),
            )
            .await;
        assert_eq!(code(&resp), "FORBIDDEN");
        // ... and partner operations never accept a member.
        for (op, vars) in [&submit_op, &referrals_op, &directory_op] {
            let resp = app.op(Some(&a.token), op, vars.clone()).await;
            assert_eq!(code(&resp), "FORBIDDEN", "{op}");
            let resp = app.op(None, op, vars.clone()).await;
            assert_eq!(code(&resp), "UNAUTHENTICATED", "{op}");
        }
        assert_eq!(app.snapshot().await, before);
    }
);

db_test!(submitting_referrals, |app: TestApp| async move {
    let c = chapter(&app, 2).await;
    let (a, b) = (&c.members[0], &c.members[1]);
    let firm_id = firm(&app, &c, "Harbour Bank").await;
    let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
    let data = app
        .ok(Some(&secret), "SubmitReferral", submit_vars(&a.id, "k-1"))
        .await;
    let r = &data["submitReferral"];
    assert_eq!(r["status"], "SUBMITTED");
    assert_eq!(r["madeInAbsence"], true);
    assert_eq!(r["absenceReason"], "PARTNER_API");
    assert_eq!(
        r["receiver"],
        json!({ "__typename": "Member", "id": a.id, "name": "Member 0" })
    );
    let id = r["id"].as_str().unwrap().to_string();

    // The receiving member sees it, from the firm, with its history.
    let mine = app
        .ok(Some(&a.token), "MyReferrals", json!({ "role": "RECEIVED" }))
        .await;
    let node = &mine["me"]["referrals"]["edges"][0]["node"];
    assert_eq!(node["id"], json!(id));
    assert_eq!(
        node["giver"],
        json!({ "__typename": "PartnerFirm", "id": firm_id, "name": "Harbour Bank" })
    );
    let seen = app
        .ok(Some(&a.token), "Referral", json!({ "id": id }))
        .await;
    assert_eq!(seen["referral"]["events"][0]["kind"], "CREATED");
    assert_eq!(
        seen["referral"]["events"][0]["actor"],
        json!({ "__typename": "PartnerFirm", "id": firm_id, "name": "Harbour Bank" })
    );

    // A receiver who is away: AWAY comes first in the table.
    app.ok(
        Some(&b.token),
        "DeclareAbsence",
        json!({ "input": { "from": day(-1), "to": day(5) } }),
    )
    .await;
    let away = app
        .ok(Some(&secret), "SubmitReferral", submit_vars(&b.id, "k-2"))
        .await;
    assert_eq!(away["submitReferral"]["absenceReason"], "AWAY");

    // Bad input, and receivers outside the group: nothing written.
    let before = app.snapshot().await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut v = submit_vars(&a.id, "k-bad");
        edit(&mut v);
        v
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(&|v| v["input"]["idempotencyKey"] = json!("")),
            "input.idempotencyKey",
        ),
        (
            with(&|v| v["input"]["idempotencyKey"] = json!("k".repeat(256))),
            "input.idempotencyKey",
        ),
        (
            with(&|v| v["input"]["idempotencyKey"] = json!("a\u{7}b")),
            "input.idempotencyKey",
        ),
        (
            with(&|v| v["input"]["temperature"] = json!(6)),
            "input.temperature",
        ),
        (
            with(&|v| v["input"]["temperature"] = json!(0)),
            "input.temperature",
        ),
        (
            with(&|v| v["input"]["prospect"]["name"] = json!("  ")),
            "input.prospect.name",
        ),
        (
            with(&|v| v["input"]["prospect"]["email"] = json!("nope")),
            "input.prospect.email",
        ),
        (
            with(&|v| v["input"]["note"] = json!("n".repeat(2001))),
            "input.note",
        ),
        (
            with(&|v| v["input"]["receiverId"] = json!("nope")),
            "input.receiverId",
        ),
    ];
    for (vars, f) in cases {
        let resp = app.op(Some(&secret), "SubmitReferral", vars).await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{resp:#}");
        assert_eq!(field(&resp), f);
    }
    let (_, outsider) = app.other_leader(&c.admin).await;
    let before_outsider = app.snapshot().await;
    for receiver in [
        outsider.id.clone(),
        uuid::Uuid::new_v4().to_string(),
        firm_id.clone(),
    ] {
        let resp = app
            .op(
                Some(&secret),
                "SubmitReferral",
                submit_vars(&receiver, "k-out"),
            )
            .await;
        assert_eq!(code(&resp), "NOT_FOUND", "{resp:#}");
        assert_eq!(field(&resp), "input.receiverId");
    }
    // A member whose seat ended is no longer a receiver either.
    app.unseat(&c.leader.token, &c.group, &b.id, &day(0)).await;
    let resp = app
        .op(
            Some(&secret),
            "SubmitReferral",
            submit_vars(&b.id, "k-left"),
        )
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    let after = app.snapshot().await;
    let changed: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x.0.clone())
        .collect();
    // Only the outsider's set-up and the ended seat's row changed.
    assert_eq!(
        before_outsider.iter().find(|t| t.0 == "referrals"),
        before.iter().find(|t| t.0 == "referrals")
    );
    assert!(!changed.contains(&"referrals".to_string()), "{changed:?}");
    assert!(
        !changed.contains(&"idempotency_keys".to_string()),
        "{changed:?}"
    );
    // 255 characters is the longest key.
    app.ok(
        Some(&secret),
        "SubmitReferral",
        submit_vars(&a.id, &"k".repeat(255)),
    )
    .await;
});

db_test!(idempotency_keys, |app: TestApp| async move {
    let c = chapter(&app, 2).await;
    let (a, b) = (&c.members[0], &c.members[1]);
    let firm_id = firm(&app, &c, "Harbour Bank").await;
    let other_firm = firm(&app, &c, "Quay Law").await;
    let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
    let second_token = token(&app, &c.leader.token, &firm_id, &["REFERRALS_WRITE"]).await;
    let other = token(&app, &c.leader.token, &other_firm, ALL_SCOPES).await;

    let first = submit(&app, &secret, &a.id, "order-17").await;
    let before = app.snapshot().await;
    // Same key, same input: the original, nothing new (any token of the firm).
    for t in [&secret, &second_token] {
        assert_eq!(submit(&app, t, &a.id, "order-17").await, first);
    }
    // It stays the original even after the referral moved on.
    app.ok(
        Some(&a.token),
        "AdvanceReferral",
        json!({ "input": { "referralId": first, "status": "ACCEPTED" } }),
    )
    .await;
    let replayed = app
        .ok(
            Some(&secret),
            "SubmitReferral",
            submit_vars(&a.id, "order-17"),
        )
        .await;
    assert_eq!(replayed["submitReferral"]["id"], json!(first));
    assert_eq!(replayed["submitReferral"]["status"], "ACCEPTED");
    let after_replays = app.snapshot().await;
    assert_eq!(
        before.iter().find(|t| t.0 == "referrals"),
        after_replays.iter().find(|t| t.0 == "referrals")
    );
    // Same key, different input: CONFLICT, nothing written.
    let before = app.snapshot().await;
    let mut changed = submit_vars(&a.id, "order-17");
    changed["input"]["temperature"] = json!(5);
    for vars in [changed, submit_vars(&b.id, "order-17")] {
        let resp = app.op(Some(&secret), "SubmitReferral", vars).await;
        assert_eq!(code(&resp), "CONFLICT", "{resp:#}");
    }
    assert_eq!(app.snapshot().await, before);
    // Keys are per firm: another firm's "order-17" is its own.
    let theirs = submit(&app, &other, &a.id, "order-17").await;
    assert_ne!(theirs, first);

    // Twenty concurrent calls with one new key: exactly one referral.
    let before_referrals = app.count("referrals").await;
    let calls =
        (0..20).map(|_| app.op(Some(&secret), "SubmitReferral", submit_vars(&b.id, "burst")));
    let results = futures_util::future::join_all(calls).await;
    let ids: std::collections::HashSet<String> = results
        .iter()
        .map(|r| {
            assert!(r.get("errors").is_none(), "{r:#}");
            r["data"]["submitReferral"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "all twenty got the same referral");
    assert_eq!(app.count("referrals").await, before_referrals + 1);
    let rows = app
        .gql(
            Some(&b.token),
            "{ me { referrals(role: RECEIVED) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(rows["data"]["me"]["referrals"]["totalCount"], 1);
});

db_test!(
    firms_advance_what_they_received_and_the_giver_learns,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;

        // A member gives to the firm (GiveReferral with the firm as receiver).
        let data = app
            .ok(
                Some(&a.token),
                "GiveReferral",
                give_vars(&firm_id, "PORTAL", None),
            )
            .await;
        let r = &data["giveReferral"];
        assert_eq!(
            r["receiver"],
            json!({ "__typename": "PartnerFirm", "id": firm_id, "name": "Harbour Bank" })
        );
        assert_eq!(r["absenceReason"], "REMOTE");
        let id = r["id"].as_str().unwrap().to_string();
        let received = app.ok(Some(&secret), "PartnerReferrals", json!({})).await;
        let list = &received["partnerFirm"]["referralsReceived"];
        assert_eq!(list["totalCount"], 1);
        assert_eq!(
            list["edges"][0]["node"],
            json!({ "id": id, "status": "SUBMITTED", "prospect": {
                "name": "Pat Prospect", "email": "pat@prospect.example", "phone": "+1 555 0100",
                "company": "Prospect Ltd", "need": "Year-end accounts" } })
        );

        // Lifecycle rules hold for firms as for members.
        let before = app.snapshot().await;
        let resp = partner_advance(&app, &secret, &id, "WON", Some("10")).await;
        assert_eq!(code(&resp), "INVALID_TRANSITION");
        let resp = app
            .op(
                Some(&secret),
                "PartnerAdvance",
                json!({ "input": { "referralId": id, "status": "ACCEPTED", "expectedVersion": 7 } }),
            )
            .await;
        assert_eq!(code(&resp), "CONFLICT");
        assert_eq!(app.snapshot().await, before);
        for status in ["ACCEPTED", "CONTACTED"] {
            let resp = partner_advance(&app, &secret, &id, status, None).await;
            assert!(resp.get("errors").is_none(), "{resp:#}");
        }
        let resp = partner_advance(&app, &secret, &id, "WON", None).await;
        assert_eq!(code(&resp), "BAD_USER_INPUT");
        assert_eq!(field(&resp), "input.closedValue");
        let won = app
            .ok(
                Some(&secret),
                "PartnerAdvance",
                json!({ "input": { "referralId": id, "status": "WON", "closedValue": "1250.00",
                                   "businessKind": "REPEAT", "note": "Signed today" } }),
            )
            .await;
        assert_eq!(
            won["advanceReferral"],
            json!({ "id": id, "status": "WON", "version": 4, "closedValue": "1250.00", "businessKind": "REPEAT" })
        );

        // The giving member sees the outcome, who acted, and counts it.
        let seen = app
            .ok(Some(&a.token), "Referral", json!({ "id": id }))
            .await;
        assert_eq!(seen["referral"]["status"], "WON");
        assert_eq!(seen["referral"]["closedValue"], "1250.00");
        let last = seen["referral"]["events"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["kind"], "STATUS_CHANGED");
        assert_eq!(last["note"], "Signed today");
        assert_eq!(last["actor"]["__typename"], "PartnerFirm");
        let me = app.ok(Some(&a.token), "Me", json!({})).await;
        assert_eq!(
            me["me"]["balance"],
            json!({ "given": 1, "received": 0, "givenValue": "1250.00", "receivedValue": "0.00", "net": 1 })
        );

        // A firm moves forward only what it received; the giver may withdraw.
        let given = submit(&app, &secret, &b.id, "w-1").await;
        let resp = partner_advance(&app, &secret, &given, "ACCEPTED", None).await;
        assert_eq!(code(&resp), "FORBIDDEN");
        let withdrawn = partner_advance(&app, &secret, &given, "WITHDRAWN", None).await;
        assert_eq!(withdrawn["data"]["advanceReferral"]["status"], "WITHDRAWN");
        // A member cannot advance what the firm received.
        let resp = advance(&app, &b.token, &id, "LOST", None).await;
        assert_eq!(code(&resp), "NOT_FOUND");
        // The member advances what the firm gave; the firm reads the outcome.
        let to_b = submit(&app, &secret, &b.id, "w-2").await;
        win(&app, &b.token, &to_b, "300").await;
        let firm_view = app.ok(Some(&secret), "PartnerReferrals", json!({})).await;
        let given_list = &firm_view["partnerFirm"]["referralsGiven"];
        assert_eq!(given_list["totalCount"], 2);
        assert_eq!(given_list["edges"][0]["node"]["id"], json!(to_b));
        assert_eq!(given_list["edges"][0]["node"]["status"], "WON");
        assert_eq!(given_list["edges"][0]["node"]["closedValue"], "300.00");
        assert_eq!(
            given_list["edges"][0]["node"]["receiver"],
            json!({ "__typename": "Member", "id": b.id, "name": "Member 1" })
        );
    }
);

db_test!(
    firms_are_isolated_from_each_other,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let firm_a = firm(&app, &c, "Harbour Bank").await;
        let firm_b = firm(&app, &c, "Quay Law").await;
        let token_a = token(&app, &c.leader.token, &firm_a, ALL_SCOPES).await;
        let token_b = token(&app, &c.leader.token, &firm_b, ALL_SCOPES).await;
        let to_b = give(&app, a, &firm_b).await;
        let from_b = submit(&app, &token_b, &b.id, "b-1").await;
        let before = app.snapshot().await;
        for id in [&to_b, &from_b] {
            let resp = app
                .op(Some(&token_a), "Referral", json!({ "id": id }))
                .await;
            assert_eq!(code(&resp), "NOT_FOUND");
            let resp = partner_advance(&app, &token_a, id, "ACCEPTED", None).await;
            assert_eq!(code(&resp), "NOT_FOUND");
        }
        assert_eq!(app.snapshot().await, before);
        let mine = app.ok(Some(&token_a), "PartnerReferrals", json!({})).await;
        assert_eq!(mine["partnerFirm"]["id"], json!(firm_a));
        assert_eq!(mine["partnerFirm"]["referralsGiven"]["totalCount"], 0);
        assert_eq!(mine["partnerFirm"]["referralsReceived"]["totalCount"], 0);
        // Through a referral's parties a token reaches no other firm's data.
        let q = "query($id: ID!) { referral(id: $id) { giver { ... on PartnerFirm { id balance { given } } } } }";
        let own = submit(&app, &token_a, &a.id, "a-1").await;
        let resp = app.gql(Some(&token_a), q, json!({ "id": own })).await;
        assert_eq!(resp["data"]["referral"]["giver"]["balance"]["given"], 1);
        let q = "query($id: ID!) { referral(id: $id) { receiver { ... on Member { email phone referrals(role: GIVEN) { totalCount } } } } }";
        let resp = app.gql(Some(&token_a), q, json!({ "id": own })).await;
        assert_eq!(code(&resp), "FORBIDDEN");
        // A firm of another group cannot reach this group's members.
        let (other_group, other_leader) = app.other_leader(&c.admin).await;
        let data = app
            .ok(
                Some(&other_leader.token),
                "CreatePartnerFirm",
                json!({ "input": { "groupId": other_group, "name": "Hill Bank" } }),
            )
            .await;
        let hill = data["createPartnerFirm"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let hill_token = token(&app, &other_leader.token, &hill, ALL_SCOPES).await;
        let resp = app
            .op(
                Some(&hill_token),
                "SubmitReferral",
                submit_vars(&a.id, "h-1"),
            )
            .await;
        assert_eq!(code(&resp), "NOT_FOUND");
        // Leaders of another group manage only their own firms.
        let resp = app
            .op(
                Some(&other_leader.token),
                "IssueApiToken",
                json!({ "input": { "partnerFirmId": firm_a, "scopes": ["REFERRALS_READ"] } }),
            )
            .await;
        assert_eq!(code(&resp), "FORBIDDEN");
        // Members may not give to a firm of a group they are not in.
        let resp = app
            .op(
                Some(&a.token),
                "GiveReferral",
                give_vars(&hill, "PORTAL", None),
            )
            .await;
        assert_eq!(code(&resp), "FORBIDDEN");
    }
);

db_test!(
    directory_shows_public_profiles_only,
    |app: TestApp| async move {
        let c = app.chapter(&["Zoe Zimmer", "Adam Abel", "Mia Moss"]).await;
        app.ok(
        Some(&c.members[1].token),
        "UpdateBrief",
        json!({ "input": { "idealReferral": "Growing bakeries", "targetMarket": "Food retail" } }),
    )
    .await;
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let secret = token(&app, &c.leader.token, &firm_id, &["DIRECTORY_READ"]).await;
        // Mia leaves the group; a member of another group is never listed.
        app.unseat(&c.leader.token, &c.group, &c.members[2].id, &day(0))
            .await;
        app.other_leader(&c.admin).await;

        let data = app.ok(Some(&secret), "Directory", json!({})).await;
        let dir = &data["directory"];
        assert_eq!(dir["totalCount"], 3);
        let names: Vec<&str> = dir["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Adam Abel", "Lea", "Zoe Zimmer"]);
        assert_eq!(
            dir["edges"][0]["node"],
            json!({ "id": c.members[1].id, "name": "Adam Abel", "profession": "Trade 1", "businessName": null,
                "brief": { "idealReferral": "Growing bakeries", "targetMarket": "Food retail" } })
        );
        let by_trade = app
            .ok(
                Some(&secret),
                "Directory",
                json!({ "profession": "  trade 1 " }),
            )
            .await;
        assert_eq!(by_trade["directory"]["totalCount"], 1);
        let paged = "query($after: String) { directory(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }";
        let page = app.gql(Some(&secret), paged, json!({})).await;
        assert_eq!(page["data"]["directory"]["pageInfo"]["hasNextPage"], true);
        let next = app
            .gql(
                Some(&secret),
                paged,
                json!({ "after": page["data"]["directory"]["pageInfo"]["endCursor"] }),
            )
            .await;
        assert_eq!(
            next["data"]["directory"]["edges"],
            json!([{ "node": { "name": "Zoe Zimmer" } }])
        );
        assert_eq!(next["data"]["directory"]["pageInfo"]["hasNextPage"], false);

        // Never emails or phone numbers, nor private figures.
        let q = "{ directory { edges { node { email phone } } } }";
        let resp = app.gql(Some(&secret), q, json!({})).await;
        assert!(resp.get("errors").is_none(), "{resp:#}");
        for e in resp["data"]["directory"]["edges"].as_array().unwrap() {
            assert_eq!(e["node"], json!({ "email": null, "phone": null }));
        }
        for private in [
            "tenure { totalDays }",
            "balance { given }",
            "memberships { role }",
        ] {
            let q = format!("{{ directory {{ edges {{ node {{ {private} }} }} }} }}");
            let resp = app.gql(Some(&secret), &q, json!({})).await;
            assert_eq!(code(&resp), "FORBIDDEN", "{private}");
        }
        let resp = app
            .op(
                Some(&secret),
                "Directory",
                json!({ "profession": "x".repeat(121) }),
            )
            .await;
        assert_eq!(field(&resp), "profession");
        let resp = app
            .op(Some(&secret), "Directory", json!({ "first": 101 }))
            .await;
        assert_eq!(code(&resp), "BAD_USER_INPUT");
    }
);

db_test!(balances_between_firm_and_group, |app: TestApp| async move {
    let c = chapter(&app, 2).await;
    let (a, b) = (&c.members[0], &c.members[1]);
    let firm_id = firm(&app, &c, "Harbour Bank").await;
    let secret = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
    // The firm gives three: one WON (1000.50), one declined, one withdrawn.
    let won = submit(&app, &secret, &a.id, "g-1").await;
    win(&app, &a.token, &won, "1000.50").await;
    let declined = submit(&app, &secret, &b.id, "g-2").await;
    assert!(
        advance(&app, &b.token, &declined, "DECLINED", None)
            .await
            .get("errors")
            .is_none()
    );
    let withdrawn = submit(&app, &secret, &b.id, "g-3").await;
    partner_advance(&app, &secret, &withdrawn, "WITHDRAWN", None).await;
    // Members give two: one WON by the firm (200), one still open.
    let to_firm = give(&app, a, &firm_id).await;
    for status in ["ACCEPTED", "CONTACTED"] {
        partner_advance(&app, &secret, &to_firm, status, None).await;
    }
    let resp = partner_advance(&app, &secret, &to_firm, "WON", Some("200")).await;
    assert!(resp.get("errors").is_none(), "{resp:#}");
    give(&app, b, &firm_id).await;

    let expected = json!({ "given": 2, "received": 2, "givenValue": "1000.50", "receivedValue": "200.00", "net": 0 });
    let own = app.ok(Some(&secret), "PartnerReferrals", json!({})).await;
    assert_eq!(own["partnerFirm"]["balance"], expected);
    let listed = app
        .ok(
            Some(&c.leader.token),
            "PartnerFirms",
            json!({ "groupId": c.group }),
        )
        .await;
    assert_eq!(listed["group"]["partnerFirms"][0]["balance"], expected);
    // Seen from the members' side: the same referrals, the other way round.
    let me_a = app.ok(Some(&a.token), "Me", json!({})).await;
    assert_eq!(
        me_a["me"]["balance"],
        json!({ "given": 1, "received": 1, "givenValue": "200.00", "receivedValue": "1000.50", "net": 0 })
    );
});

db_test_with!(
    rate_limits_answer_429,
    |s: &mut api::settings::Settings| {
        s.partners.rate_limit_per_token_per_minute = 3;
    },
    |app: TestApp| async move {
        let c = chapter(&app, 1).await;
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let busy = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let calm = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        for _ in 0..3 {
            app.ok(Some(&busy), "PartnerReferrals", json!({})).await;
        }
        let resp = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&busy)
            .json(&json!({ "query": "{ partnerFirm { id } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429);
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "RATE_LIMITED");
        // Another token, and members, are not affected.
        app.ok(Some(&calm), "PartnerReferrals", json!({})).await;
        app.ok(Some(&c.members[0].token), "Me", json!({})).await;
    }
);

db_test_with!(
    rate_limits_per_ip,
    |s: &mut api::settings::Settings| {
        s.partners.rate_limit_per_ip_per_minute = 3;
    },
    |app: TestApp| async move {
        for _ in 0..3 {
            let r = app.gql(None, "{ __typename }", json!({})).await;
            assert!(r.get("errors").is_none(), "{r:#}");
        }
        let resp = app
            .client
            .get(app.url("/graphql?query=%7B__typename%7D"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "RATE_LIMITED");
    }
);

db_test_with!(
    every_route_shares_one_caller_check,
    |s: &mut api::settings::Settings| {
        s.partners.rate_limit_per_ip_per_minute = 3;
    },
    |app: TestApp| async move {
        // Credentials are judged the same way on every route: a header that
        // is present but not text is refused, never read as anonymous.
        let garbled = reqwest::header::HeaderValue::from_bytes(b"Bearer \xffbad").unwrap();
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("authorization", garbled.clone())
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body:#}");
        let report = format!(
            "/reports/groups/{}.csv?from={}&to={}",
            uuid::Uuid::new_v4(),
            day(-30),
            day(0)
        );
        let resp = app
            .client
            .get(app.url(&report))
            .header("authorization", garbled)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "UNAUTHENTICATED");

        // The per-IP limit (3 a minute here) counts every route: those two
        // requests and one more spend it, and then the report download and
        // the WebSocket upgrade are refused like /graphql.
        app.gql(None, "{ __typename }", json!({})).await;
        let resp = app.client.get(app.url(&report)).send().await.unwrap();
        assert_eq!(resp.status(), 429);
        assert!(resp.headers().contains_key("retry-after"));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "RATE_LIMITED");
        match tokio_tungstenite::connect_async(app.ws_request()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 429)
            }
            other => panic!("the upgrade should be refused with 429: {other:?}"),
        }
    }
);
