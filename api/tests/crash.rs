//! The real `referral-exchange` binary, stopped the hard way and the kind
//! way. The crash test: the binary under load from
//! several partner clients submitting referrals with idempotency keys is
//! killed with SIGKILL, then started again on the same database. Every
//! acknowledged referral must be there exactly once, a replay of any key
//! must return the same referral, and the database must pass its integrity
//! check. Runs on SQLite, and on PostgreSQL when `RX_TEST_POSTGRES_URL` names
//! a server (as `scripts/test` arranges). The shutdown test: SIGTERM while
//! a request is half-sent and a socket is subscribed. The trace test: spans
//! exported to a stand-in OpenTelemetry collector.

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
    start_with(url, backend, dir, run, &[]).await
}

async fn start_with(
    url: &str,
    backend: Backend,
    dir: &std::path::Path,
    run: &str,
    extra: &[(&str, String)],
) -> Server {
    let port = free_port();
    let log = std::fs::File::create(dir.join(format!("server-{run}.log"))).unwrap();
    let child = Command::new(BINARY)
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
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
    /// Answers with errors: the server failing under load, never expected.
    failed: Vec<Value>,
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

/// A fresh database for one test: a file in `dir`, or a new PostgreSQL
/// database (with the admin connection that drops it), or None when
/// PostgreSQL is not available here.
async fn database(
    backend: Backend,
    dir: &std::path::Path,
) -> Option<(String, Option<(DatabaseConnection, String)>)> {
    match backend {
        Backend::Sqlite => Some((
            format!("sqlite://{}/crash.db?mode=rwc", dir.display()),
            None,
        )),
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var("RX_TEST_POSTGRES_URL") else {
                if std::env::var("RX_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("RX_REQUIRE_POSTGRES=1 but RX_TEST_POSTGRES_URL is not set");
                }
                eprintln!("skipping the PostgreSQL variant: run the suite with scripts/test");
                return None;
            };
            let name = format!("rx_crash_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url).await.unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let (prefix, _) = admin_url.rsplit_once('/').unwrap();
            Some((format!("{prefix}/{name}"), Some((admin, name))))
        }
    }
}

async fn drop_database(admin: Option<(DatabaseConnection, String)>) {
    if let Some((admin, name)) = admin {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap();
    }
}

async fn crash_and_recover(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, admin)) = database(backend, dir.path()).await else {
        return;
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
                        let mut seen = seen.lock().unwrap();
                        if let Some(b) = body {
                            // An answer, but not an acknowledgement.
                            seen.failed.push(b);
                        }
                        seen.unknown.push((key, n));
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
    assert_eq!(seen.failed, Vec::<Value>::new(), "errors under load");

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
    drop_database(admin).await;
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

/// Sends SIGTERM to the server process.
fn sigterm(server: &Server) {
    let pid = server.child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits for the process to end on its own, with status 0.
async fn exits_cleanly(server: &mut Server) {
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("the process exits")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

/// SIGTERM while a request is half-sent and a socket is subscribed: the
/// listener closes at once, the request still gets its answer, the socket
/// its close frame (1001), and the process exits cleanly. The request's log
/// lines carry its ID.
async fn stops_gracefully(backend: Backend) {
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

    let dir = tempfile::tempdir().unwrap();
    let Some((url, admin)) = database(backend, dir.path()).await else {
        return;
    };
    let mut server = start(&url, backend, dir.path(), "graceful").await;
    let http = reqwest::Client::new();
    let token = ok(&http, &server.base, None,
        "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
        json!({ "i": { "email": "sam@example.com", "password": PASSWORD, "name": "Sam", "profession": "Notary" } }))
        .await["register"]["accessToken"].as_str().unwrap().to_string();
    let probe = http
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "shutdown-probe-1")
        .send()
        .await
        .unwrap();
    assert_eq!(probe.headers()["x-request-id"], "shutdown-probe-1");

    // A socket with a subscription running.
    let mut ws_request = format!("{}/graphql/ws", server.base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    ws_request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_request).await.unwrap();
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }).to_string(),
        ))
        .await
        .unwrap();
    socket
        .send(Message::Text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { referralReceived { id } }" } }).to_string(),
        ))
        .await
        .unwrap();

    // A request whose body is half sent.
    let address = server.base.trim_start_matches("http://").to_string();
    let body = json!({ "query": "{ __typename }" }).to_string();
    let mut half = tokio::net::TcpStream::connect(&address).await.unwrap();
    half.write_all(
        format!(
            "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    half.write_all(&body.as_bytes()[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    sigterm(&server);
    // The socket hears why it is closing.
    let close = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a close frame in time")
            .expect("a frame")
            .expect("readable");
        if let Message::Close(frame) = frame {
            break frame.expect("with a code");
        }
    };
    assert_eq!(u16::from(close.code), 1001);
    assert_eq!(
        close.reason,
        "the server is shutting down; reconnect shortly"
    );
    // No new connections…
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(&address).await.is_err(),
        "still accepting"
    );
    // …but the request in flight is answered in full.
    half.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), half.read_to_string(&mut answer))
        .await
        .expect("answered in time")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(r#"{"data":{"__typename":"Query"}}"#),
        "{answer}"
    );
    exits_cleanly(&mut server).await;

    let log = std::fs::read_to_string(dir.path().join("server-graceful.log")).unwrap();
    assert!(log.contains("SIGTERM: shutting down gracefully"), "{log}");
    assert!(log.contains("referral-exchange stopped"), "{log}");
    let probe_line = log
        .lines()
        .find(|l| l.contains("request_id=shutdown-probe-1"))
        .expect("the probe's log line carries its ID");
    assert!(
        probe_line.contains("path=/healthz") && probe_line.contains("status=200"),
        "{probe_line}"
    );
    assert!(!log.contains(&token), "tokens never reach the log");
    drop_database(admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stops_gracefully() {
    stops_gracefully(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stops_gracefully() {
    stops_gracefully(Backend::Postgres).await;
}

/// What a collector received: (path, content type, body) per request.
type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A stand-in OpenTelemetry collector: answers every POST with 200 and
/// keeps what came.
async fn collector() -> (String, Received) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let seen: Received = Arc::default();
    let kept = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
                    if let Some(end) = head_end {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let header = |name: &str| {
                            head.lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                                })
                                .unwrap_or_default()
                        };
                        let length: usize = header("content-length").parse().unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                            let body = buf[end + 4..end + 4 + length].to_vec();
                            kept.lock()
                                .unwrap()
                                .push((path, header("content-type"), body));
                            let _ = stream
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                                .await;
                            buf.drain(..end + 4 + length);
                            continue;
                        }
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (address, seen)
}

/// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, a request's spans (the request
/// with its ID, its GraphQL operation) reach the collector over OTLP/HTTP.
async fn exports_spans(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, admin)) = database(backend, dir.path()).await else {
        return;
    };
    let (endpoint, seen) = collector().await;
    let mut server = start_with(
        &url,
        backend,
        dir.path(),
        "otel",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let r: Value = http
        .post(format!("{}/graphql", server.base))
        .header("x-request-id", "otel-probe-1")
        .json(&json!({ "query": "query Me { me { id } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // SIGTERM: the server stops, and the exporter sends what it holds.
    sigterm(&server);
    exits_cleanly(&mut server).await;
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "no export reached the collector");
    eprintln!(
        "{backend:?}: {} export(s), {} bytes of spans",
        seen.len(),
        seen.iter().map(|(_, _, b)| b.len()).sum::<usize>()
    );
    let mut all = Vec::new();
    for (path, content_type, body) in &seen {
        assert_eq!(path, "/v1/traces");
        assert_eq!(content_type, "application/x-protobuf");
        all.extend_from_slice(body);
    }
    let has = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
    for needle in [
        "referral-exchange",
        "request",
        "otel-probe-1",
        "graphql",
        "UNAUTHENTICATED",
    ] {
        assert!(has(needle), "the exported spans lack {needle:?}");
    }
    drop_database(admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_exports_spans() {
    exports_spans(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_exports_spans() {
    exports_spans(Backend::Postgres).await;
}
