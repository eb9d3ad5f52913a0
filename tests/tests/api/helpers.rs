//! Test harness: a fresh database per test (a SQLite file, or a new database
//! on the throwaway PostgreSQL server that `scripts/with-postgres` starts,
//! copied from one template migrated once per run, and dropped afterwards),
//! migrated by the real migrations, and the real server on a free port.

use std::collections::HashMap;
use std::sync::OnceLock;

use api::settings::Settings;
use api::startup::Application;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one async test body against a backend. Declared through `db_test!`.
pub fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let Some(app) = TestApp::spawn(backend).await else {
            return;
        };
        let database_url = app.settings.database_url.clone();
        body(app).await;
        if backend == Backend::Postgres {
            drop_database(&database_url).await;
        }
    });
}

/// Like `run`, with settings adjusted before the server is built.
pub fn run_with<C, F, Fut>(backend: Backend, configure: C, body: F)
where
    C: FnOnce(&mut Settings),
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let Some(app) = TestApp::spawn_with(backend, configure).await else {
            return;
        };
        let database_url = app.settings.database_url.clone();
        body(app).await;
        if backend == Backend::Postgres {
            drop_database(&database_url).await;
        }
    });
}

/// Declares a test on both databases whose server gets adjusted settings.
#[macro_export]
macro_rules! db_test_with {
    ($name:ident, $configure:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn sqlite() {
                $crate::helpers::run_with($crate::helpers::Backend::Sqlite, $configure, $body);
            }
            #[test]
            fn postgres() {
                $crate::helpers::run_with($crate::helpers::Backend::Postgres, $configure, $body);
            }
        }
    };
}

/// Declares a test that runs on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! db_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn sqlite() {
                $crate::helpers::run($crate::helpers::Backend::Sqlite, $body);
            }
            #[test]
            fn postgres() {
                $crate::helpers::run($crate::helpers::Backend::Postgres, $body);
            }
        }
    };
}

/// The URL of database `name` on the server `admin_url` points at.
fn with_database(admin_url: &str, name: &str) -> String {
    let (prefix, _) = admin_url
        .rsplit_once('/')
        .expect("postgres url with a database");
    format!("{prefix}/{name}")
}

/// One database per test process migrated by the real migrations, which
/// every PostgreSQL test copies (`CREATE DATABASE … TEMPLATE`).
async fn postgres_template(admin_url: &str) -> &'static str {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("rx_template_{}", uuid::Uuid::new_v4().simple());
            let admin = connect_plain(admin_url)
                .await
                .expect("connect to test PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create the template database");
            admin.close().await.ok();
            let db = connect_plain(&with_database(admin_url, &name))
                .await
                .expect("connect to the template database");
            <migration::Migrator as migration::MigratorTrait>::up(&db, None)
                .await
                .expect("migrate the template database");
            db.close().await.ok();
            name
        })
        .await
}

/// Drops a test's PostgreSQL database when the test is done. FORCE
/// (PostgreSQL 13+) ends the sessions its server's pool still holds.
pub async fn drop_database(database_url: &str) {
    let Ok(admin_url) = std::env::var("RX_TEST_POSTGRES_URL") else {
        return;
    };
    let Some((_, name)) = database_url.rsplit_once('/') else {
        return;
    };
    if let Ok(admin) = connect_plain(&admin_url).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        admin.close().await.ok();
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The test's own connection, for checking what was (not) written.
    pub db: DatabaseConnection,
    /// SQL statements the server has sent (for N+1 checks).
    pub statements: api::db::Counter,
    /// Connections the server's pools have handed out.
    pub checkouts: api::db::Counter,
    /// Stops the server and its background tasks (for restart tests).
    pub handle: api::startup::AppHandle,
    /// The settings the server was built with.
    pub settings: Settings,
    _dir: Option<tempfile::TempDir>,
}

pub async fn database_for(backend: Backend) -> Option<(String, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            Some((url, Some(dir)))
        }
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var("RX_TEST_POSTGRES_URL") else {
                if std::env::var("RX_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("RX_REQUIRE_POSTGRES=1 but RX_TEST_POSTGRES_URL is not set");
                }
                eprintln!("skipping the PostgreSQL variant: run the suite with scripts/test");
                return None;
            };
            let template = postgres_template(&admin_url).await;
            let name = format!("rx_test_{}", uuid::Uuid::new_v4().simple());
            let admin = connect_plain(&admin_url)
                .await
                .expect("connect to test PostgreSQL");
            // A copy of the migrated template: no per-test migration run.
            // FILE_COPY logs the copy as one record instead of every page,
            // so the suite's streaming standby keeps up with the suite.
            // Copies from one template queue on PostgreSQL's lock; a copy that
            // still meets a lingering session on the template is retried.
            let mut tries = 0;
            while let Err(e) = admin
                .execute_unprepared(&format!(
                    "CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY"
                ))
                .await
            {
                tries += 1;
                assert!(tries < 20, "create test database from the template: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
            }
            admin.close().await.ok();
            Some((with_database(&admin_url, &name), None))
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let (database_url, dir) = database_for(backend).await?;
        if std::env::var("RX_TEST_LOG").is_ok() {
            // Kept for the life of the test process: nothing to flush.
            std::mem::forget(api::telemetry::init(false));
        }
        let mut settings = Settings::for_database(&database_url);
        settings.jwt_secret = secrecy::SecretString::from(JWT_SECRET);
        // The throwaway test cluster runs with fsync and synchronous_commit
        // off for speed (scripts/with-postgres); SQLite tests run as shipped.
        settings.allow_weak_durability = matches!(backend, Backend::Postgres);
        // Statement-count tests need a batch to gather all its keys; with the
        // suite's servers sharing two cores, a 200 µs wait can be cut short
        // by the scheduler, so the tests wait as async-graphql's default does.
        settings.loader_delay_us = 1_000;
        configure(&mut settings);
        let db = connect_plain(&database_url).await.expect("test connection");
        Some(Self::start(settings, db, dir).await)
    }

    async fn start(
        settings: Settings,
        db: DatabaseConnection,
        dir: Option<tempfile::TempDir>,
    ) -> TestApp {
        let app = Application::build(settings.clone())
            .await
            .expect("application builds");
        let port = app.port();
        let statements = app.statement_counter();
        let checkouts = app.checkout_counter();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            db,
            statements,
            checkouts,
            handle,
            settings,
            _dir: dir,
        }
    }

    /// A second server on the same database, as a scaled-out deployment
    /// runs them (its own listener, webhook worker and rate limits).
    pub async fn second_server(&self) -> TestApp {
        self.second_server_with(|_| {}).await
    }

    /// `second_server` with adjusted settings (say, a read replica).
    pub async fn second_server_with(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let db = connect_plain(&self.settings.database_url)
            .await
            .expect("test connection");
        let mut settings = self.settings.clone();
        configure(&mut settings);
        Self::start(settings, db, None).await
    }

    /// Stops this server (and its webhook worker), then builds a new
    /// `Application` on the same database, as a restart would.
    pub async fn restart(self) -> TestApp {
        self.handle.stop().await;
        Self::start(self.settings, self.db, self._dir).await
    }

    /// Stops the server and starts a new one on the same database with
    /// adjusted settings, as a redeploy with a changed configuration would.
    pub async fn restart_with(mut self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        self.handle.stop().await;
        configure(&mut self.settings);
        Self::start(self.settings, self.db, self._dir).await
    }

    /// The backends listening on this server's database (PostgreSQL).
    pub async fn listeners(&self) -> Vec<i32> {
        self.db
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index(0).unwrap())
            .collect()
    }

    /// Cuts this server's listening connection from the database's side
    /// (PostgreSQL), as a network fault or a restarted pooler would; the
    /// backend it was.
    pub async fn cut_listener(&self) -> i32 {
        let listening = self.listeners().await;
        assert_eq!(listening.len(), 1, "one listening connection per server");
        self.db
            .execute_unprepared(&format!("SELECT pg_terminate_backend({})", listening[0]))
            .await
            .unwrap();
        listening[0]
    }

    /// Signs in as the seeded demo chapter's leader (with the sign-in
    /// `seed-demo` prints); returns the access token and the group's id.
    pub async fn demo_leader(&self) -> (String, String) {
        let session = self
            .ok(
                None,
                "SignIn",
                json!({ "email": api::cli::DEMO_LEADER_EMAIL, "password": api::cli::DEMO_PASSWORD }),
            )
            .await;
        let token = session["signIn"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();
        let me = self.ok(Some(&token), "Me", json!({})).await;
        assert_eq!(me["me"]["memberships"][0]["role"], "LEADER");
        let group = me["me"]["memberships"][0]["group"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        (token, group)
    }

    /// An upgrade request for `/graphql/ws` speaking graphql-transport-ws.
    pub fn ws_request(&self) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = (self.base.replace("http://", "ws://") + "/graphql/ws")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        request
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Posts a GraphQL request and returns the whole JSON response.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request sent");
        resp.json().await.expect("JSON response")
    }

    /// Sends a contract operation by name.
    pub async fn op(&self, token: Option<&str>, name: &str, variables: Value) -> Value {
        self.gql(token, &operation(name), variables).await
    }

    /// `SignIn` with these credentials; the whole response (it may be refused).
    pub async fn sign_in(&self, email: &str, password: &str) -> Value {
        self.op(
            None,
            "SignIn",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Sends a contract operation that must succeed; returns its `data`.
    pub async fn ok(&self, token: Option<&str>, name: &str, variables: Value) -> Value {
        let resp = self.op(token, name, variables).await;
        assert!(resp.get("errors").is_none(), "{name} failed: {resp:#}");
        resp["data"].clone()
    }

    /// Records a one-to-one between the token's member and `with` on `held_on`.
    pub async fn one_to_one(&self, token: &str, with: &str, held_on: &str) {
        self.ok(
            Some(token),
            "RecordOneToOne",
            json!({ "input": { "withMemberId": with, "heldOn": held_on } }),
        )
        .await;
    }

    /// Registers a member; returns (access token, member id).
    pub async fn register(&self, email: &str, name: &str, profession: &str) -> (String, String) {
        let data = self
            .ok(
                None,
                "Register",
                json!({ "input": { "email": email, "password": PASSWORD, "name": name, "profession": profession } }),
            )
            .await;
        (
            data["register"]["accessToken"]
                .as_str()
                .unwrap()
                .to_string(),
            data["register"]["member"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    }

    /// Creates an administrator the way the CLI does, then signs in.
    pub async fn admin(&self) -> String {
        api::cli::create_admin(
            &self.settings.database_url,
            "admin@example.org",
            "Ada Admin",
            PASSWORD.to_string(),
        )
        .await
        .unwrap_or_else(|e| panic!("create admin: {e}"));
        let data = self
            .ok(
                None,
                "SignIn",
                json!({ "email": "admin@example.org", "password": PASSWORD }),
            )
            .await;
        data["signIn"]["accessToken"].as_str().unwrap().to_string()
    }

    /// A referral's row as stored.
    pub async fn referral_row(&self, id: &str) -> entities::referral::Model {
        use sea_orm::EntityTrait;
        entities::referral::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await
            .expect("referral query")
            .expect("a referral row")
    }

    /// A referral request's row as stored.
    pub async fn request_row(&self, id: &str) -> entities::referral_request::Model {
        use sea_orm::EntityTrait;
        entities::referral_request::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await
            .expect("request query")
            .expect("a request row")
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}");
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .expect("count query")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("count value")
    }

    /// Counts of every table: compared before and after a failing mutation.
    pub async fn snapshot(&self) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        for t in TABLES {
            out.push((t.to_string(), self.count(t).await));
        }
        out
    }
}

/// The test servers' signing secret, so tests can mint tokens that are
/// correctly signed but wrong in another way (expired, wrong audience…).
pub const JWT_SECRET: &str = "test-only-secret-0123456789abcdefghijklmnop";

pub const PASSWORD: &str = "correct horse battery";

pub const TABLES: &[&str] = &[
    "members",
    "groups",
    "memberships",
    "contacts",
    "partner_firms",
    "partnerships",
    "meetings",
    "attendance",
    "visitors",
    "one_to_ones",
    "absences",
    "asks",
    "referrals",
    "referral_events",
    "reward_tiers",
    "reward_awards",
    "api_tokens",
    "refresh_families",
    "refresh_tokens",
    "idempotency_keys",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
    "partnership_stages",
    "contact_nps_scores",
    "referral_requests",
];

/// The first error's `extensions.code`.
pub fn code(resp: &Value) -> &str {
    resp["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error code in {resp:#}"))
}

pub fn field(resp: &Value) -> &str {
    resp["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error field in {resp:#}"))
}

pub fn contract_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/contract")
}

/// Every named operation of the contract, by name, as source text.
pub fn operations() -> &'static HashMap<String, String> {
    static OPS: OnceLock<HashMap<String, String>> = OnceLock::new();
    OPS.get_or_init(|| {
        let mut ops = HashMap::new();
        for file in [
            "portal.graphql",
            "leader.graphql",
            "partner.graphql",
            "insights.graphql",
        ] {
            let path = contract_dir().join(file);
            let src = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let doc = apollo_compiler::ast::Document::parse(src, &path).expect("contract parses");
            for def in &doc.definitions {
                if let apollo_compiler::ast::Definition::OperationDefinition(op) = def {
                    let name = op.name.as_ref().expect("named operation").to_string();
                    ops.insert(name, def.to_string());
                }
            }
        }
        ops
    })
}

pub fn operation(name: &str) -> String {
    operations()
        .get(name)
        .unwrap_or_else(|| panic!("no contract operation named {name}"))
        .clone()
}

// ---- Shared set-ups for the domain tests ----

/// A date `offset` days from today (negative: in the past), as `YYYY-MM-DD`.
pub fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

/// A signed-in member.
#[derive(Debug, Clone)]
pub struct Person {
    pub token: String,
    pub id: String,
}

/// A group with a leader appointed by the admin and plain members, all
/// seated 60 days ago.
pub struct Chapter {
    pub admin: String,
    pub group: String,
    pub leader: Person,
    pub members: Vec<Person>,
}

impl TestApp {
    /// Registers a member; the email is derived from the name.
    pub async fn person(&self, name: &str, profession: &str) -> Person {
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let (token, id) = self.register(&email, name, profession).await;
        Person { token, id }
    }

    pub async fn create_group(&self, admin: &str, name: &str) -> String {
        let data = self
            .ok(
                Some(admin),
                "CreateGroup",
                json!({ "input": { "name": name, "currency": "EUR" } }),
            )
            .await;
        data["createGroup"]["id"].as_str().unwrap().to_string()
    }

    /// Seats a member (must succeed).
    pub async fn seat(&self, token: &str, group: &str, member: &str, role: &str, joined: &str) {
        self.ok(
            Some(token),
            "AddMembership",
            json!({ "input": { "groupId": group, "memberId": member, "role": role, "joinedOn": joined } }),
        )
        .await;
    }

    /// Ends a member's seat (must succeed).
    pub async fn unseat(&self, token: &str, group: &str, member: &str, left: &str) {
        self.ok(
            Some(token),
            "EndMembership",
            json!({ "groupId": group, "memberId": member, "leftOn": left }),
        )
        .await;
    }

    /// The admin, group "Harbour" led by Lea (Banker), and one plain member
    /// per name (professions "Trade 0", "Trade 1", …).
    pub async fn chapter(&self, names: &[&str]) -> Chapter {
        let admin = self.admin().await;
        let group = self.create_group(&admin, "Harbour").await;
        let leader = self.person("Lea", "Banker").await;
        self.seat(&admin, &group, &leader.id, "LEADER", &day(-60))
            .await;
        let mut members = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let p = self.person(name, &format!("Trade {i}")).await;
            self.seat(&leader.token, &group, &p.id, "MEMBER", &day(-60))
                .await;
            members.push(p);
        }
        Chapter {
            admin,
            group,
            leader,
            members,
        }
    }

    /// A second group with its own leader: someone who leads, but not `Harbour`.
    pub async fn other_leader(&self, admin: &str) -> (String, Person) {
        let group = self.create_group(admin, "Hilltop").await;
        let leader = self.person("Hugo", "Florist").await;
        self.seat(admin, &group, &leader.id, "LEADER", &day(-60))
            .await;
        (group, leader)
    }
}

/// A connection without sqlx's idle reaper, as the server's (see
/// `api::db::connect`: sqlx 0.9.0's reaper can spin a worker for good).
pub async fn connect_plain(url: impl Into<String>) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = sea_orm::ConnectOptions::new(url.into());
    options
        .idle_timeout(None::<std::time::Duration>)
        .max_lifetime(None::<std::time::Duration>)
        .sqlx_logging(false);
    sea_orm::Database::connect(options).await
}

/// A JSON string's text (panics on anything else).
pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

/// Asserts a response failed with `expected` (and `expected_field`, if given).
#[track_caller]
pub fn refused(resp: &Value, expected: &str, expected_field: Option<&str>, what: &str) {
    assert!(
        resp.get("errors").is_some(),
        "{what}: expected {expected}, got {resp:#}"
    );
    assert_eq!(code(resp), expected, "{what}: {resp:#}");
    if let Some(f) = expected_field {
        assert_eq!(field(resp), f, "{what}: {resp:#}");
    }
}
