//! The crash test: the real `referral-exchange` binary under load from
//! several partner clients submitting referrals with idempotency keys is
//! killed with SIGKILL, then started again on the same database. Every
//! acknowledged referral must be there exactly once, a replay of any key
//! must return the same referral, and the database must pass its integrity
//! check. Runs on SQLite, and on PostgreSQL when `RX_TEST_POSTGRES_URL` names
//! a server (as `scripts/test` arranges).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const BINARY: &str = env!("CARGO_BIN_EXE_referral-exchange");
const PASSWORD: &str = "correct horse battery";
const CLIENTS: usize = 6;
/// Acknowledged referrals before the kill: enough to be mid-load.
const ACKED_BEFORE_KILL: usize = 200;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(url: &str, backend: Backend, dir: &std::path::Path, run: &str) -> Server {
    let port = free_port();
    let log = std::fs::File::create(dir.join(format!("server-{run}.log"))).unwrap();
    let child = Command::new(BINARY)
        .arg("serve")
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("RX_BIND", format!("127.0.0.1:{port}"))
        .env(
            "RX_JWT_SECRET",
            "crash-test-secret-crash-test-secret-0123456789",
        )
        .env("RX_RATE_LIMIT_IP_PER_MINUTE", "0")
        .env("RX_RATE_LIMIT_TOKEN_PER_MINUTE", "0")
        .env("RX_WORKERS", "2")
        // The throwaway PostgreSQL cluster runs without fsync; SQLite runs
        // as shipped (WAL, synchronous FULL) and must pass the check.
        .env(
            "RX_ALLOW_WEAK_DURABILITY",
            if backend == Backend::Postgres {
                "1"
            } else {
                "0"
            },
        )
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start the server binary");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

async fn gql(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    vars: Value,
) -> Value {
    let mut req = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": vars }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

async fn ok(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    vars: Value,
) -> Value {
    let r = gql(client, base, token, query, vars).await;
    assert!(r.get("errors").is_none(), "{query}: {r:#}");
    r["data"].clone()
}

/// Admin, one group with two members, a partner firm and its write token.
async fn world(url: &str, base: &str) -> (String, Vec<String>) {
    let c = reqwest::Client::new();
    api::cli::create_admin(url, "admin@example.org", "Ada Admin", PASSWORD.into())
        .await
        .unwrap();
    let admin = ok(
        &c,
        base,
        None,
        "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { accessToken } }",
        json!({ "e": "admin@example.org", "p": PASSWORD }),
    )
    .await["signIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = Some(admin.as_str());
    let group = ok(
        &c,
        base,
        admin,
        "mutation($i: GroupInput!) { createGroup(input: $i) { id } }",
        json!({ "i": { "name": "Harbour", "currency": "EUR" } }),
    )
    .await["createGroup"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut members = Vec::new();
    for name in ["Mia", "Noah"] {
        let id = ok(&c, base, None, "mutation($i: RegisterInput!) { register(input: $i) { member { id } } }",
            json!({ "i": { "email": format!("{}@example.com", name.to_lowercase()), "password": PASSWORD, "name": name, "profession": "Trade" } }))
            .await["register"]["member"]["id"].as_str().unwrap().to_string();
        ok(
            &c,
            base,
            admin,
            "mutation($i: MembershipInput!) { addMembership(input: $i) { role } }",
            json!({ "i": { "groupId": group, "memberId": id, "role": "MEMBER" } }),
        )
        .await;
        members.push(id);
    }
    let firm = ok(
        &c,
        base,
        admin,
        "mutation($i: PartnerFirmInput!) { createPartnerFirm(input: $i) { id } }",
        json!({ "i": { "groupId": group, "name": "Harbour Bank" } }),
    )
    .await["createPartnerFirm"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = ok(
        &c,
        base,
        admin,
        "mutation($i: ApiTokenInput!) { issueApiToken(input: $i) { secret } }",
        json!({ "i": { "partnerFirmId": firm, "scopes": ["REFERRALS_WRITE"] } }),
    )
    .await["issueApiToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    (secret, members)
}

const SUBMIT: &str = "mutation($i: SubmitReferralInput!) { submitReferral(input: $i) { id } }";

/// The same input every time a key is sent, as a replaying client would.
fn submission(key: &str, members: &[String], n: usize) -> Value {
    json!({ "i": {
        "receiverId": members[n % members.len()],
        "prospect": { "name": format!("Prospect {key}"), "email": "p@prospect.example" },
        "temperature": 3,
        "idempotencyKey": key,
    }})
}

/// What the clients saw: keys acknowledged with an id, and keys sent whose
/// answer never came (the server died under them).
#[derive(Default)]
struct Seen {
    acked: BTreeMap<String, String>,
    unknown: Vec<(String, usize)>,
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn integrity(db: &DatabaseConnection, backend: Backend) {
    match backend {
        Backend::Sqlite => {
            let row = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    "PRAGMA integrity_check",
                ))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "ok");
            let broken = db
                .query_all_raw(Statement::from_string(
                    db.get_database_backend(),
                    "PRAGMA foreign_key_check",
                ))
                .await
                .unwrap();
            assert!(broken.is_empty(), "foreign keys broken after the crash");
        }
        Backend::Postgres => {
            // amcheck verifies every B-tree index against its table.
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS amcheck")
                .await
                .unwrap();
            let checked = count(
                db,
                "SELECT CAST(COUNT(bt_index_check(c.oid, true)) AS BIGINT) FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE a.amname = 'btree' AND n.nspname = 'public'",
            )
            .await;
            assert!(checked > 10, "indexes checked: {checked}");
        }
    }
}

async fn crash_and_recover(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (url, admin) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}/crash.db?mode=rwc", dir.path().display()),
            None,
        ),
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var("RX_TEST_POSTGRES_URL") else {
                if std::env::var("RX_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("RX_REQUIRE_POSTGRES=1 but RX_TEST_POSTGRES_URL is not set");
                }
                eprintln!("skipping the PostgreSQL crash test: run the suite with scripts/test");
                return;
            };
            let name = format!("rx_crash_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url).await.unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let (prefix, _) = admin_url.rsplit_once('/').unwrap();
            (format!("{prefix}/{name}"), Some((admin, name)))
        }
    };

    let mut server = start(&url, backend, dir.path(), "first").await;
    let (secret, members) = world(&url, &server.base).await;

    // Several clients submit until the server dies under them.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (base, secret, members, seen) = (
            server.base.clone(),
            secret.clone(),
            members.clone(),
            seen.clone(),
        );
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for n in 0.. {
                let key = format!("client{c}-{n}");
                let sent = http
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&secret)
                    .json(&json!({ "query": SUBMIT, "variables": submission(&key, &members, n) }))
                    .send()
                    .await;
                let body: Option<Value> = match sent {
                    Ok(r) => r.json().await.ok(),
                    Err(_) => None,
                };
                match body
                    .as_ref()
                    .and_then(|b| b["data"]["submitReferral"]["id"].as_str())
                {
                    Some(id) => {
                        seen.lock().unwrap().acked.insert(key, id.to_string());
                    }
                    None => {
                        if let Some(b) = &body {
                            assert!(b.get("errors").is_some(), "{b}");
                        }
                        seen.lock().unwrap().unknown.push((key, n));
                        return;
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().acked.len() < ACKED_BEFORE_KILL {
        assert!(
            Instant::now() < deadline,
            "too slow to acknowledge referrals"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.start_kill().unwrap(); // SIGKILL
    let status = server.child.wait().await.unwrap();
    assert!(!status.success(), "killed, not exited: {status:?}");
    for c in clients {
        c.await.unwrap();
    }
    let seen = Arc::into_inner(seen).unwrap().into_inner().unwrap();
    assert!(seen.acked.len() >= ACKED_BEFORE_KILL);
    assert_eq!(
        seen.unknown.len(),
        CLIENTS,
        "every client lost its last request"
    );

    // The database as the crash left it (SQLite recovers its WAL on open).
    let db = Database::connect(&url).await.unwrap();
    integrity(&db, backend).await;
    for (key, id) in &seen.acked {
        let n = count(
            &db,
            &format!("SELECT CAST(COUNT(*) AS BIGINT) FROM referrals WHERE id = '{id}'"),
        )
        .await;
        assert_eq!(n, 1, "acknowledged {key} → {id} is there exactly once");
    }

    // Started again: replays return the acknowledged referral; keys whose
    // answer was lost are settled once, whichever side of the crash they fell.
    let mut server = start(&url, backend, dir.path(), "second").await;
    let http = reqwest::Client::new();
    for (key, id) in &seen.acked {
        let n: usize = key.rsplit_once('-').unwrap().1.parse().unwrap();
        let again = ok(
            &http,
            &server.base,
            Some(&secret),
            SUBMIT,
            submission(key, &members, n),
        )
        .await;
        assert_eq!(again["submitReferral"]["id"], json!(id), "replay of {key}");
    }
    for (key, n) in &seen.unknown {
        let send = || {
            ok(
                &http,
                &server.base,
                Some(&secret),
                SUBMIT,
                submission(key, &members, *n),
            )
        };
        let first = send().await;
        assert_eq!(first, send().await, "replay of {key}");
    }
    let keys = (seen.acked.len() + seen.unknown.len()) as i64;
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS BIGINT) FROM referrals").await,
        keys,
        "one referral per key"
    );
    integrity(&db, backend).await;

    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    db.close().await.unwrap();
    if let Some((admin, name)) = admin {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap();
    }
    let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-output/crash");
    std::fs::create_dir_all(&kept).unwrap();
    for run in ["first", "second"] {
        let from = dir.path().join(format!("server-{run}.log"));
        let _ = std::fs::copy(
            &from,
            kept.join(format!("{backend:?}-{run}.log").to_lowercase()),
        );
    }
    eprintln!(
        "{backend:?}: {} acknowledged before SIGKILL, {} lost answers settled on replay",
        seen.acked.len(),
        seen.unknown.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_sigkill() {
    crash_and_recover(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_sigkill() {
    crash_and_recover(Backend::Postgres).await;
}
