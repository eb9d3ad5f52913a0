//! No request, however it is shaped, may hold a worker for long: hostile
//! documents are measured (fragments expanded) and refused before
//! async-graphql validates them, while other clients are served.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::db_test;
use crate::db_test_with;
use crate::helpers::{TestApp, operations};

use tests::{fan_out, hostile};

async fn post(app: &TestApp, token: Option<&str>, query: &str) -> Value {
    app.gql(token, query, json!({})).await
}

db_test!(
    hostile_documents_are_refused_before_validation,
    |app: TestApp| async move {
        for (what, doc, limit) in hostile() {
            let started = Instant::now();
            let r = post(&app, None, &doc).await;
            let took = started.elapsed();
            let err = &r["errors"][0];
            assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{what}: {r:#}");
            assert_eq!(err["extensions"]["limit"], limit, "{what}: {r:#}");
            assert_eq!(err["extensions"]["field"], "query", "{what}");
            assert!(r.get("data").is_none() || r["data"].is_null(), "{what}");
            // Generous for a loaded 2-core machine: the real figure is well
            // under 100 ms (see the guard's unit tests and the README).
            assert!(took < Duration::from_secs(2), "{what} took {took:?}");
        }
        // Through a persisted query: measured the same, and never stored,
        // so its hash alone is unknown later.
        use sha2::Digest;
        let doc = fan_out(9, 10);
        let ext = json!({ "persistedQuery": { "version": 1,
            "sha256Hash": hex::encode(sha2::Sha256::digest(doc.as_bytes())) } });
        for (body, message) in [
            (json!({ "query": doc, "extensions": ext }), None),
            (json!({ "extensions": ext }), Some("PersistedQueryNotFound")),
        ] {
            let r: Value = app
                .client
                .post(app.url("/graphql"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let err = &r["errors"][0];
            assert_eq!(err["extensions"]["code"], "BAD_USER_INPUT", "{r:#}");
            match message {
                None => assert_eq!(err["extensions"]["limit"], "fields", "{r:#}"),
                Some(message) => {
                    assert_eq!(err["message"], message, "{r:#}");
                    assert_eq!(err["extensions"]["field"], "extensions", "{r:#}");
                }
            }
        }
        // The server is still up and answers.
        let r = post(&app, None, "{ __typename }").await;
        assert_eq!(r["data"]["__typename"], "Query");
    }
);

db_test!(
    every_contract_operation_fits_the_document_limits,
    |app: TestApp| async move {
        // Sent without variables: they fail later (missing variables), but
        // never on the guard's limits.
        for (name, doc) in operations() {
            let r = post(&app, None, doc).await;
            let limited = r["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| !e["extensions"]["limit"].is_null());
            assert!(limited.is_none(), "{name} passes a document limit: {r:#}");
        }
    }
);

db_test!(
    others_are_served_while_hostile_documents_are_in_flight,
    |app: TestApp| async move {
        let (token, _) = app.register("ivy@example.com", "Ivy Ortiz", "Notary").await;
        let hostile = fan_out(9, 10);
        let mut flood = Vec::new();
        for _ in 0..8 {
            let client = app.client.clone();
            let url = app.url("/graphql");
            let body = json!({ "query": hostile });
            flood.push(tokio::spawn(async move {
                for _ in 0..5 {
                    let _ = client.post(&url).json(&body).send().await;
                }
            }));
        }
        let started = Instant::now();
        let me = app.ok(Some(&token), "Me", json!({})).await;
        let took = started.elapsed();
        assert_eq!(me["me"]["name"], "Ivy Ortiz");
        assert!(
            took < Duration::from_secs(1),
            "Me took {took:?} under the flood"
        );
        for f in flood {
            f.await.unwrap();
        }
    }
);

db_test_with!(
    document_limits_are_settings,
    |s: &mut api::settings::Settings| {
        s.document_limits.aliases = 2;
        s.document_limits.depth = 3;
    },
    |app: TestApp| async move {
        let r = post(&app, None, "{ a: __typename b: __typename }").await;
        assert_eq!(r["data"]["a"], "Query", "{r:#}");
        let r = post(&app, None, "{ a: __typename b: __typename c: __typename }").await;
        assert_eq!(r["errors"][0]["extensions"]["limit"], "aliases", "{r:#}");
        let r = post(&app, None, "{ __schema { types { fields { name } } } }").await;
        assert_eq!(r["errors"][0]["extensions"]["limit"], "depth", "{r:#}");
    }
);

db_test_with!(
    a_request_past_its_deadline_is_stopped,
    |s: &mut api::settings::Settings| {
        s.request_timeout_ms = 1;
    },
    |app: TestApp| async move {
        // Registering hashes a password (tens of milliseconds): past a 1 ms
        // deadline, so it is stopped, and nothing was written.
        let before = app.count("members").await;
        let resp = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({
                "query": crate::helpers::operation("Register"),
                "variables": { "input": { "email": "slow@example.com", "password": "a long enough password",
                                          "name": "Slow Sam", "profession": "Baker" } },
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 503);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "INTERNAL",
            "{body:#}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("took longer than 1 ms"),
            "{body:#}"
        );
        // The hash finishes on the blocking pool; give it time, then check
        // that the stopped request wrote nothing.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(app.count("members").await, before);
    }
);

db_test_with!(
    production_mode_hides_the_ide_and_introspection,
    |s: &mut api::settings::Settings| {
        s.environment = api::settings::Environment::Production;
    },
    |app: TestApp| async move {
        let page = app
            .client
            .get(app.url("/graphql"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 404, "no GraphiQL in production");
        let asset = app
            .client
            .get(app.url("/graphiql/graphiql.min.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), 404, "nor its files");
        // Introspection answers nothing (async-graphql nulls the fields).
        let r = post(&app, None, "{ __schema { types { name } } }").await;
        assert!(r["data"]["__schema"].is_null(), "no introspection: {r:#}");
        assert!(!r.to_string().contains("Member"), "{r:#}");
        let r = post(
            &app,
            None,
            "{ __type(name: \"Member\") { name fields { name } } }",
        )
        .await;
        assert!(r["data"]["__type"].is_null(), "no introspection: {r:#}");
        assert!(!r.to_string().contains("email"), "{r:#}");
        // No near-miss suggestions either.
        let r = post(&app, None, "{ myContactz { totalCount } }").await;
        let message = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{r:#}");
        assert!(!message.contains("Did you mean"), "{r:#}");
        // Ordinary queries still work.
        let r = post(&app, None, "{ __typename }").await;
        assert_eq!(r["data"]["__typename"], "Query", "{r:#}");
    }
);

db_test!(csv_cells_never_run_as_formulas, |app: TestApp| async move {
    let c = app.chapter(&[]).await;
    let risky = [
        (
            "=HYPERLINK(\"http://x.example\",\"x\")",
            "+cmd|' /C calc'!A0",
        ),
        ("@SUM(1+1)", "-2+3"),
    ];
    for (i, (name, profession)) in risky.iter().enumerate() {
        let (_, id) = app
            .register(&format!("risky{i}@example.com"), name, profession)
            .await;
        app.seat(
            &c.leader.token,
            &c.group,
            &id,
            "MEMBER",
            &crate::helpers::day(-10),
        )
        .await;
    }
    let body = app
        .client
        .get(app.url(&format!(
            "/reports/groups/{}.csv?from={}&to={}",
            c.group,
            crate::helpers::day(-30),
            crate::helpers::day(0)
        )))
        .bearer_auth(&c.leader.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let cells: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_string(), r[2].to_string())
        })
        .collect();
    for (name, profession) in risky {
        assert!(
            cells.contains(&(format!("'{name}"), format!("'{profession}"))),
            "{name} / {profession} neutralised in {cells:?}"
        );
    }
    // Ordinary names are untouched.
    assert!(
        cells.contains(&("Lea".to_string(), "Banker".to_string())),
        "{cells:?}"
    );
});

/// Sends a raw HTTP/1.1 request and returns the response's status code.
async fn raw_status(app: &TestApp, head: &str, chunks: &[Vec<u8>]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before the body is all sent.
    let _ = stream.write_all(head.as_bytes()).await;
    for chunk in chunks {
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    let mut buf = vec![0u8; 1024];
    let mut got = Vec::new();
    while !got.windows(2).any(|w| w == b"\r\n") {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let line = String::from_utf8_lossy(&got);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {line:?}"))
}

db_test!(
    malformed_requests_get_4xx_never_500,
    |app: TestApp| async move {
        let post_raw = |body: Vec<u8>, accept: &'static str| {
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .header("accept", accept)
                .body(body)
                .send()
        };
        let gql = "application/graphql-response+json";
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            (
                "a JSON batch",
                br#"[{"query":"{ __typename }"}]"#.to_vec(),
                400,
            ),
            (
                "malformed JSON",
                br#"{"query": "{ __typename }""#.to_vec(),
                400,
            ),
            (
                "invalid UTF-8",
                b"{\"query\": \"{ \xff\xfe }\"}".to_vec(),
                400,
            ),
            ("no query", br#"{"variables": {}}"#.to_vec(), 400),
            (
                "unknown operation name",
                br#"{"query": "query A { __typename }", "operationName": "B"}"#.to_vec(),
                400,
            ),
            (
                "a syntax error",
                br#"{"query": "{ __typename"}"#.to_vec(),
                400,
            ),
            (
                "variables of the wrong type",
                br#"{"query": "query($f: Int) { __typename }", "variables": {"f": "x"}}"#.to_vec(),
                400,
            ),
        ];
        for (what, body, status) in cases {
            let resp = post_raw(body, gql).await.unwrap();
            assert_eq!(resp.status().as_u16(), status, "{what}");
            let r: Value = resp.json().await.unwrap();
            assert_eq!(
                r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{what}: {r:#}"
            );
        }

        // A body with no Content-Length is cut at the cap while it is read.
        let head = "POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\n";
        let mut chunks = vec![b"10000\r\n".to_vec()];
        let mut piece = vec![b' '; 0x10000];
        piece.extend_from_slice(b"\r\n");
        for _ in 0..6 {
            chunks.push(piece.clone());
            chunks.push(b"10000\r\n".to_vec());
        }
        assert_eq!(raw_status(&app, head, &chunks).await, 413);
        // The server is still up.
        let r = post(&app, None, "{ __typename }").await;
        assert_eq!(r["data"]["__typename"], "Query");
    }
);

db_test!(
    a_database_failure_leaks_nothing,
    |app: TestApp| async move {
        use sea_orm::ConnectionTrait;
        let (token, _) = app.register("lia@example.com", "Lia Berg", "Cooper").await;
        // In development, suggestions help: the same query names the field.
        let r = post(&app, Some(&token), "{ myContactz { totalCount } }").await;
        assert!(
            r["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Did you mean"),
            "{r:#}"
        );
        // Break the database under the server: a table it reads is gone.
        let drop = match app.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => "DROP TABLE referral_requests CASCADE",
            _ => "DROP TABLE referral_requests",
        };
        app.db.execute_unprepared(drop).await.unwrap();
        let due = app.op(Some(&token), "DueRequests", json!({})).await;
        let answer = app
            .op(
                Some(&token),
                "RecordRequestResponse",
                json!({ "input": { "requestId": "00000000-0000-0000-0000-000000000000",
                                   "response": "YES" } }),
            )
            .await;
        for r in [due, answer] {
            let err = &r["errors"][0];
            assert_eq!(err["extensions"]["code"], "INTERNAL", "{r:#}");
            assert_eq!(err["message"], "internal error", "{r:#}");
            let text = r.to_string().to_lowercase();
            for leak in [
                "select",
                "table",
                "referral_requests",
                "sqlite",
                "postgres",
                "relation",
                ".rs",
                "/work",
            ] {
                assert!(!text.contains(leak), "{leak} leaked: {r:#}");
            }
        }
    }
);

db_test!(
    weak_durability_is_refused_unless_allowed,
    |app: TestApp| async move {
        use api::settings::Settings;
        use api::startup::Application;
        use sea_orm::ConnectionTrait;
        // The whole app lives to the end (its temp dir holds the database).
        let app = app;
        let url = app.settings.database_url.clone();
        let strict = Settings::for_database(&url);
        assert!(!strict.allow_weak_durability, "strict by default");
        let found = api::db::durability(&api::db::connect(&url).await.unwrap())
            .await
            .unwrap();
        if url.starts_with("sqlite:") {
            // A file database as the server opens it: WAL and FULL sync.
            assert_eq!(found.weak, Vec::<String>::new());
            assert!(Application::build(strict).await.is_ok());
            // An in-memory database keeps its journal in memory: refused,
            // unless the operator says otherwise.
            let memory = Settings::for_database("sqlite::memory:");
            let refused = Application::build(memory.clone())
                .await
                .err()
                .expect("refused");
            let message = refused.to_string();
            assert!(
                message.starts_with("refusing to start: SQLite journal_mode = memory")
                    && message.ends_with("set RX_ALLOW_WEAK_DURABILITY=1 to accept the risk"),
                "{message}"
            );
            let mut allowed = memory;
            allowed.allow_weak_durability = true;
            assert!(Application::build(allowed).await.is_ok());
        } else {
            // The throwaway test cluster trades durability for speed.
            assert_eq!(found.weak.len(), 2, "{:?}", found.weak);
            let refused = Application::build(strict).await.err().expect("refused");
            let message = refused.to_string();
            assert!(
                message.contains("PostgreSQL synchronous_commit = off")
                    && message.contains("PostgreSQL fsync = off"),
                "{message}"
            );
            // synchronous_commit is the database's to set; fsync the server's.
            let (_, name) = url.rsplit_once('/').unwrap();
            app.db
                .execute_unprepared(&format!(
                    "ALTER DATABASE {name} SET synchronous_commit = on"
                ))
                .await
                .unwrap();
            let found = api::db::durability(&api::db::connect(&url).await.unwrap())
                .await
                .unwrap();
            assert_eq!(
                found.weak,
                ["PostgreSQL fsync = off (a crash can lose or corrupt committed data)"]
            );
        }
    }
);
