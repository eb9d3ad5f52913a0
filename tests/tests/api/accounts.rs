//! Register, sign in, sessions, tokens, the Me query and the brief.

use serde_json::json;

use crate::db_test;
use crate::helpers::{PASSWORD, TestApp, code, field};

fn register_vars(email: &str, password: &str) -> serde_json::Value {
    json!({ "input": {
        "email": email, "password": password, "name": "Nora Lind",
        "profession": "Accountant", "businessName": "Lind & Co", "phone": "+46 70 123 45 67"
    }})
}

db_test!(register_then_me, |app: TestApp| async move {
    let data = app
        .ok(
            None,
            "Register",
            register_vars("Nora@Example.com", PASSWORD),
        )
        .await;
    let s = &data["register"];
    assert_eq!(s["member"]["email"], "Nora@Example.com");
    assert_eq!(s["member"]["name"], "Nora Lind");
    assert_eq!(s["member"]["profession"], "Accountant");
    assert_eq!(s["member"]["businessName"], "Lind & Co");
    assert!(s["refreshToken"].as_str().unwrap().starts_with("rxr_"));
    let token = s["accessToken"].as_str().unwrap();

    let me = app.ok(Some(token), "Me", json!({})).await;
    let me = &me["me"];
    assert_eq!(me["id"], s["member"]["id"]);
    assert_eq!(me["email"], "Nora@Example.com");
    assert_eq!(
        me["tenure"],
        json!({ "currentDays": 0, "totalDays": 0, "groupHopping": false })
    );
    assert_eq!(me["memberships"], json!([]));
    assert_eq!(
        me["balance"],
        json!({ "given": 0, "received": 0, "givenValue": "0.00", "receivedValue": "0.00", "net": 0 })
    );
    assert_eq!(
        me["brief"],
        json!({ "idealReferral": null, "targetMarket": null, "talkingPoints": null, "introTemplate": null })
    );
    // The password is stored only as an Argon2id hash.
    let stored: Vec<String> = {
        use sea_orm::EntityTrait;
        entities::member::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.password_hash)
            .collect()
    };
    assert!(
        stored[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored[0]
    );
});

db_test!(
    email_is_unique_case_insensitively,
    |app: TestApp| async move {
        app.ok(
            None,
            "Register",
            register_vars("nora@example.com", PASSWORD),
        )
        .await;
        let before = app.snapshot().await;
        let resp = app
            .op(
                None,
                "Register",
                register_vars("NORA@EXAMPLE.COM", PASSWORD),
            )
            .await;
        assert_eq!(code(&resp), "CONFLICT");
        assert_eq!(
            app.snapshot().await,
            before,
            "a refused registration wrote nothing"
        );
    }
);

db_test!(register_rejects_bad_input, |app: TestApp| async move {
    let cases = [
        (
            register_vars("nora@example.com", "short-pass"),
            "input.password",
        ),
        (register_vars("not-an-email", PASSWORD), "input.email"),
        (register_vars("nora@example", PASSWORD), "input.email"),
        (
            json!({ "input": { "email": "a@b.co", "password": PASSWORD, "name": "   ", "profession": "Lawyer" } }),
            "input.name",
        ),
        (
            json!({ "input": { "email": "a@b.co", "password": PASSWORD, "name": "x".repeat(201), "profession": "Lawyer" } }),
            "input.name",
        ),
        (
            json!({ "input": { "email": "a@b.co", "password": PASSWORD, "name": "Al", "profession": "" } }),
            "input.profession",
        ),
        (
            json!({ "input": { "email": "a@b.co", "password": PASSWORD, "name": "Al", "profession": "Lawyer", "phone": "call me" } }),
            "input.phone",
        ),
    ];
    for (vars, expected_field) in cases {
        let resp = app.op(None, "Register", vars).await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{resp:#}");
        assert_eq!(field(&resp), expected_field);
    }
    assert_eq!(app.count("members").await, 0);
    assert_eq!(app.count("refresh_families").await, 0);
});

db_test!(sign_in_failures_look_alike, |app: TestApp| async move {
    app.ok(
        None,
        "Register",
        register_vars("nora@example.com", PASSWORD),
    )
    .await;
    let wrong_password = app
        .op(
            None,
            "SignIn",
            json!({ "email": "nora@example.com", "password": "wrong password!!" }),
        )
        .await;
    let unknown = app
        .op(
            None,
            "SignIn",
            json!({ "email": "nobody@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(code(&wrong_password), "UNAUTHENTICATED");
    assert_eq!(code(&unknown), "UNAUTHENTICATED");
    assert_eq!(
        wrong_password["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );

    let ok = app
        .ok(
            None,
            "SignIn",
            json!({ "email": "NORA@example.com", "password": PASSWORD }),
        )
        .await;
    assert!(ok["signIn"]["accessToken"].as_str().is_some());
});

db_test!(
    refresh_rotates_and_reuse_revokes_the_family,
    |app: TestApp| async move {
        let data = app
            .ok(
                None,
                "Register",
                register_vars("nora@example.com", PASSWORD),
            )
            .await;
        let first = data["register"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();

        let rotated = app
            .ok(None, "RefreshSession", json!({ "refreshToken": first }))
            .await;
        let second = rotated["refreshSession"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        let access = rotated["refreshSession"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(first, second);
        assert_eq!(
            app.ok(Some(&access), "Me", json!({})).await["me"]["email"],
            "nora@example.com"
        );

        // The old token no longer works, and presenting it revokes the family:
        let reuse = app
            .op(None, "RefreshSession", json!({ "refreshToken": first }))
            .await;
        assert_eq!(code(&reuse), "UNAUTHENTICATED");
        let after = app
            .op(None, "RefreshSession", json!({ "refreshToken": second }))
            .await;
        assert_eq!(
            code(&after),
            "UNAUTHENTICATED",
            "descendant of a reused token still worked"
        );
        let me = app.op(Some(&access), "Me", json!({})).await;
        assert_eq!(
            code(&me),
            "UNAUTHENTICATED",
            "access token of a revoked session still worked"
        );

        let junk = app
            .op(
                None,
                "RefreshSession",
                json!({ "refreshToken": "rxr_madeup" }),
            )
            .await;
        assert_eq!(code(&junk), "UNAUTHENTICATED");
    }
);

db_test!(sign_out_ends_the_session_only, |app: TestApp| async move {
    let data = app
        .ok(
            None,
            "Register",
            register_vars("nora@example.com", PASSWORD),
        )
        .await;
    let access = data["register"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = data["register"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let other = app
        .ok(
            None,
            "SignIn",
            json!({ "email": "nora@example.com", "password": PASSWORD }),
        )
        .await;
    let other_access = other["signIn"]["accessToken"].as_str().unwrap().to_string();

    assert_eq!(
        app.ok(Some(&access), "SignOut", json!({})).await["signOut"],
        true
    );
    assert_eq!(
        code(
            &app.op(None, "RefreshSession", json!({ "refreshToken": refresh }))
                .await
        ),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(&app.op(Some(&access), "Me", json!({})).await),
        "UNAUTHENTICATED"
    );
    // The other device's session is untouched.
    app.ok(Some(&other_access), "Me", json!({})).await;
    assert_eq!(
        code(&app.op(None, "SignOut", json!({})).await),
        "UNAUTHENTICATED"
    );
});

db_test!(
    bad_access_tokens_are_unauthenticated,
    |app: TestApp| async move {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let data = app
            .ok(
                None,
                "Register",
                register_vars("nora@example.com", PASSWORD),
            )
            .await;
        let access = data["register"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();
        let refresh = data["register"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        let member_id = data["register"]["member"]["id"]
            .as_str()
            .unwrap()
            .to_string();

        let parts: Vec<&str> = access.split('.').collect();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let now = chrono::Utc::now().timestamp();

        let forge = |claims: &serde_json::Value, secret: &[u8]| {
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                claims,
                &jsonwebtoken::EncodingKey::from_secret(secret),
            )
            .unwrap()
        };
        let wrong_secret = forge(&claims, b"not-the-server-secret-not-the-server-secret");
        let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let alg_none = format!("{header_none}.{}.", parts[1]);
        let tampered = {
            let mut c = claims.clone();
            c["sub"] = json!(uuid::Uuid::new_v4().to_string());
            let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
            format!("{}.{body}.{}", parts[0], parts[2])
        };
        let secret = crate::helpers::JWT_SECRET.as_bytes();
        let variant = |key: &str, value: serde_json::Value| {
            let mut c = claims.clone();
            c[key] = value;
            forge(&c, secret)
        };
        let without = |key: &str| {
            let mut c = claims.clone();
            c.as_object_mut().unwrap().remove(key);
            forge(&c, secret)
        };
        // Sanity: a token minted with the server's secret and unchanged claims works.
        let genuine = forge(&claims, secret);
        app.ok(Some(&genuine), "Me", json!({})).await;
        assert_eq!(claims["sub"], json!(member_id));

        let other_algorithm = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap();
        let cases = vec![
            ("wrong secret", wrong_secret),
            ("another algorithm (HS512, same secret)", other_algorithm),
            (
                "a string exp",
                variant("exp", json!((now + 3600).to_string())),
            ),
            ("alg none", alg_none),
            ("tampered", tampered),
            ("garbage", "not.a.jwt".to_string()),
            ("refresh token as access token", refresh),
            ("expired", variant("exp", json!(now - 3600))),
            ("not yet valid", variant("nbf", json!(now + 3600))),
            ("wrong audience", variant("aud", json!("someone-else"))),
            ("wrong issuer", variant("iss", json!("someone-else"))),
            ("wrong token type", variant("typ", json!("refresh"))),
            ("no exp", without("exp")),
            ("no sub", without("sub")),
            ("no aud", without("aud")),
        ];
        for (what, token) in cases {
            let resp = app.op(Some(&token), "Me", json!({})).await;
            assert_eq!(code(&resp), "UNAUTHENTICATED", "{what}: {resp:#}");
        }
        let anonymous = app.op(None, "Me", json!({})).await;
        assert_eq!(code(&anonymous), "UNAUTHENTICATED");
        // The server is still up and the real token still works.
        app.ok(Some(&access), "Me", json!({})).await;
    }
);

db_test!(
    update_brief_keeps_omitted_fields,
    |app: TestApp| async move {
        let (token, _) = app
            .register("nora@example.com", "Nora Lind", "Accountant")
            .await;
        let first = app
        .ok(
            Some(&token),
            "UpdateBrief",
            json!({ "input": { "idealReferral": "Family businesses changing hands", "targetMarket": "Retail, 10-50 staff" } }),
        )
        .await;
        assert_eq!(
            first["updateBrief"]["idealReferral"],
            "Family businesses changing hands"
        );
        let second = app
            .ok(
                Some(&token),
                "UpdateBrief",
                json!({ "input": { "talkingPoints": "Fixed fees\nSame-week answers" } }),
            )
            .await;
        assert_eq!(
            second["updateBrief"],
            json!({
                "idealReferral": "Family businesses changing hands",
                "targetMarket": "Retail, 10-50 staff",
                "talkingPoints": "Fixed fees\nSame-week answers",
                "introTemplate": null
            })
        );
        let me = app.ok(Some(&token), "Me", json!({})).await;
        assert_eq!(me["me"]["brief"], second["updateBrief"]);

        let too_long = app
        .op(Some(&token), "UpdateBrief", json!({ "input": { "introTemplate": "x".repeat(4001), "targetMarket": "changed" } }))
        .await;
        assert_eq!(code(&too_long), "BAD_USER_INPUT");
        assert_eq!(field(&too_long), "input.introTemplate");
        let me = app.ok(Some(&token), "Me", json!({})).await;
        assert_eq!(
            me["me"]["brief"]["targetMarket"], "Retail, 10-50 staff",
            "a refused update wrote nothing"
        );

        let anonymous = app
            .op(
                None,
                "UpdateBrief",
                json!({ "input": { "targetMarket": "x" } }),
            )
            .await;
        assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    }
);
