//! The HTTP surface: health, GraphiQL, GET queries, media types, status
//! codes, body and document limits, persisted queries.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::db_test;
use crate::helpers::{TestApp, code};

db_test!(health_and_readiness, |app: TestApp| async move {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
});

db_test!(graphiql_and_get_queries, |app: TestApp| async move {
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.starts_with("default-src 'none'; script-src 'self'; style-src 'self';"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.to_lowercase().contains("graphiql"));
    // Self-contained: every script and style sheet comes from this server,
    // none inline, nothing from a CDN.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && !html.contains("<style"),
        "{html}"
    );
    let linked: Vec<&str> = html
        .split(['"', '\''])
        .filter(|p| p.starts_with("/graphiql/"))
        .collect();
    assert_eq!(linked.len(), 6, "{linked:?}");
    for path in linked {
        let asset = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(asset.status(), 200, "{path}");
        let kind = asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let expected = if path.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(kind.starts_with(expected), "{path}: {kind}");
        assert!(asset.bytes().await.unwrap().len() > 20, "{path}");
    }
    let missing = app
        .client
        .get(app.url("/graphiql/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // The IDE's schema query (the standard introspection query, eight
    // `ofType` levels deep) is answered in development.
    let ide = app
        .gql(
            None,
            &format!(
                "{{ __schema {{ types {{ name fields {{ name type {} {{ name }} {} }} }} }} }}",
                "{ kind ofType ".repeat(8),
                "}".repeat(8)
            ),
            serde_json::json!({}),
        )
        .await;
    assert!(ide.get("errors").is_none(), "{ide:#}");
    assert!(ide.to_string().contains("\"Member\""));

    let (token, _) = app.register("m@example.com", "Mia", "Architect").await;
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ me { name } }")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["data"]["me"]["name"],
        "Mia"
    );

    let mutation = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { signOut }")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    app.ok(Some(&token), "Me", json!({})).await;
});

db_test!(media_types_and_status_codes, |app: TestApp| async move {
    let post = |accept: &'static str, body: String| {
        app.client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(body)
            .send()
    };
    // A validation error: 400 under graphql-response+json, 200 under json.
    let invalid = json!({ "query": "{ nope }" }).to_string();
    let resp = post("application/graphql-response+json", invalid.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("data").is_none());
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let resp = post("application/json", invalid).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    // A field error (not signed in) still executes: 200 with data null.
    let resp = post(
        "application/graphql-response+json",
        json!({ "query": "{ me { name } }" }).to_string(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        code(&resp.json::<Value>().await.unwrap()),
        "UNAUTHENTICATED"
    );

    // Malformed JSON and wrong content types.
    let resp = post("application/json", "{\"query\": ".into())
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(code(&resp.json::<Value>().await.unwrap()), "BAD_USER_INPUT");
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "text/plain")
        .body("{ me { name } }")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);

    // Bodies over the limit are refused before parsing.
    let huge =
        json!({ "query": format!("{{ me {{ name }} }} # {}", "x".repeat(300 * 1024)) }).to_string();
    let resp = post("application/json", huge).await.unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(code(&resp.json::<Value>().await.unwrap()), "BAD_USER_INPUT");

    // The server is still up.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
});

db_test!(abusive_documents_are_refused, |app: TestApp| async move {
    let (token, _) = app.register("m@example.com", "Mia", "Architect").await;
    let aliases: String = (0..31).map(|i| format!("a{i}: me {{ name }} ")).collect();
    let resp = app
        .gql(Some(&token), &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases")
    );

    let deep = "{ me { memberships { group { members { edges { node { member { memberships { group { members { edges { node { member { name } } } } } } } } } } } } } }";
    let resp = app.gql(Some(&token), deep, json!({})).await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    assert!(resp.get("data").is_none() || resp["data"].is_null());

    let resp = app.gql(Some(&token), "{ me { name } ", json!({})).await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    // Wrong variable types are input errors too.
    let resp = app
        .op(
            Some(&token),
            "GroupRoster",
            json!({ "groupId": 5, "first": "ten" }),
        )
        .await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
});

db_test!(automatic_persisted_queries, |app: TestApp| async move {
    let (token, _) = app.register("m@example.com", "Mia", "Architect").await;
    let persisted = |doc: &str| {
        json!({ "persistedQuery": { "version": 1,
            "sha256Hash": hex::encode(Sha256::digest(doc.as_bytes())) } })
    };
    let post = |body: Value| {
        let sent = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .json(&body)
            .send();
        async { sent.await.unwrap().json::<Value>().await.unwrap() }
    };
    let query = "query Name { me { name } }";
    let ext = persisted(query);

    let unknown = post(json!({ "extensions": ext })).await;
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    let first = post(json!({ "query": query, "extensions": ext })).await;
    assert_eq!(first["data"]["me"]["name"], "Mia");
    let by_hash = post(json!({ "extensions": ext })).await;
    assert_eq!(by_hash["data"]["me"]["name"], "Mia");

    // Each hash serves its own document: a second and a third persisted
    // query (one of them a mutation) run themselves, registered and by
    // hash, and the first one's hash still runs the first.
    let other = "query Email { me { email } }";
    let mutation = "mutation Rename { updateProfile(input: { name: \"Mia B\" }) { name } }";
    for (doc, path, want) in [
        (other, "/data/me/email", "m@example.com"),
        (mutation, "/data/updateProfile/name", "Mia B"),
    ] {
        for body in [
            json!({ "query": doc, "extensions": persisted(doc) }),
            json!({ "extensions": persisted(doc) }),
        ] {
            let r = post(body).await;
            assert_eq!(r.pointer(path), Some(&json!(want)), "{doc}: {r:#}");
            assert!(r.get("errors").is_none(), "{doc}: {r:#}");
        }
    }
    let again = post(json!({ "extensions": ext })).await;
    assert_eq!(again["data"]["me"], json!({ "name": "Mia B" }), "{again:#}");

    // A mutation sent by its hash over GET is still a mutation: 405, and
    // nothing written. (Stored first by a POST that runs it, renaming to
    // Eve; then renamed back.)
    let renamed = mutation.replace("Mia B", "Eve");
    let r = post(json!({ "query": renamed, "extensions": persisted(&renamed) })).await;
    assert_eq!(r["data"]["updateProfile"]["name"], "Eve", "{r:#}");
    post(json!({ "query": mutation })).await;
    let by_get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", persisted(&renamed).to_string())])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_get.status(), 405);
    let name = post(json!({ "query": query })).await;
    assert_eq!(
        name["data"]["me"]["name"], "Mia B",
        "the GET renamed nothing"
    );

    // A hash that is not the text's is refused, and nothing runs.
    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } });
    let r = post(json!({ "query": renamed, "extensions": wrong })).await;
    assert_eq!(
        r["errors"][0]["message"],
        "provided sha does not match query"
    );
    assert_eq!(r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let name = post(json!({ "query": query })).await;
    assert_eq!(name["data"]["me"]["name"], "Mia B", "{name:#}");
});

db_test!(global_object_identification, |app: TestApp| async move {
    let admin = app.admin().await;
    let group = app
        .ok(
            Some(&admin),
            "CreateGroup",
            json!({ "input": { "name": "Harbour", "currency": "EUR" } }),
        )
        .await["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (token, me) = app.register("m@example.com", "Mia", "Architect").await;
    let (_, stranger) = app.register("s@example.com", "Sam", "Baker").await;
    let q = "query($id: ID!) { node(id: $id) { __typename id ... on Member { name } ... on Group { name } } }";
    let mine = app.gql(Some(&token), q, json!({ "id": me })).await;
    assert_eq!(
        mine["data"]["node"],
        json!({ "__typename": "Member", "id": me, "name": "Mia" })
    );
    let as_admin = app.gql(Some(&admin), q, json!({ "id": group })).await;
    assert_eq!(
        as_admin["data"]["node"],
        json!({ "__typename": "Group", "id": group, "name": "Harbour" })
    );
    // Not visible or unknown: null, without saying which.
    assert_eq!(
        app.gql(Some(&token), q, json!({ "id": stranger })).await["data"]["node"],
        Value::Null
    );
    assert_eq!(
        app.gql(Some(&token), q, json!({ "id": group })).await["data"]["node"],
        Value::Null
    );
    assert_eq!(
        app.gql(Some(&token), q, json!({ "id": "nope" })).await["data"]["node"],
        Value::Null
    );
});
