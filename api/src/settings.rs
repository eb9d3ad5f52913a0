//! Typed settings, read once at start from the environment.

use std::path::{Path, PathBuf};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub environment: Environment,
    pub jwt_secret: SecretString,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Access-token lifetime in seconds.
    pub access_token_ttl_secs: i64,
    /// Refresh-token lifetime in seconds.
    pub refresh_token_ttl_secs: i64,
    /// Password attempts (sign-in, password change) per account per minute
    /// (0 = unlimited).
    pub password_attempts_per_minute: u32,
    /// Password hashes (sign-in, sign-up, password change) computed at once;
    /// more wait their turn (each holds 19 MiB while it runs).
    pub password_hash_concurrency: usize,
    /// Lifetime of a leader's report-page link in seconds (30 to 3,600).
    pub report_link_ttl_secs: i64,
    /// How long this server trusts a session it read without reading it
    /// again (`RX_SESSION_CACHE_SECS`; 0 turns the view off). Changes
    /// reach every server's view through `LISTEN` (PostgreSQL) or SQLite's
    /// count of commits, checked on every request.
    pub session_cache_secs: u64,
    /// Memory the remembered sessions may take, in MiB
    /// (`RX_SESSION_CACHE_MIB`).
    pub session_cache_mib: usize,
    /// Memory the kept group reports may take, in MiB (`RX_REPORT_CACHE_MIB`;
    /// 0 keeps none): a report is kept for the caller who asked, at the
    /// database state it was read from (`domain::reports::cache`).
    pub report_cache_mib: usize,
    /// Worker threads for the HTTP server (0 = one per core).
    pub workers: usize,
    /// Partner firms: rate limits and webhook delivery.
    pub partners: PartnerSettings,
    /// What one GraphQL document may ask for, measured before validation.
    pub document_limits: DocumentLimits,
    /// Longest a GraphQL request may run before it is stopped (its
    /// transaction, if any, rolled back), in milliseconds.
    pub request_timeout_ms: u64,
    /// How long a batch loader waits for more keys, in microseconds.
    pub loader_delay_us: u64,
    /// Limits on each `/graphql/ws` connection.
    pub websocket: WebSocketLimits,
    /// Serve even when the database could lose acknowledged commits in a
    /// crash (`RX_ALLOW_WEAK_DURABILITY=1`); refused at start otherwise.
    pub allow_weak_durability: bool,
    /// How long in-flight requests may run on after SIGTERM/SIGINT before
    /// they are cut (`RX_SHUTDOWN_TIMEOUT_SECS`).
    pub shutdown_timeout_secs: u64,
    /// PostgreSQL connections in the server's pool (`RX_DB_POOL_SIZE`); the
    /// notice listener holds one more. SQLite writes through one.
    pub db_pool_size: u32,
    /// On SQLite, connections in the pool queries read through
    /// (`RX_SQLITE_READERS`). Each is a thread of its own with its own page
    /// cache and statements (about 4 MiB under load), and SQLite runs in
    /// the server's process, so more readers than twice the cores add
    /// memory, not throughput.
    pub sqlite_readers: u32,
    /// Read replicas (`DATABASE_READ_URL`, comma-separated; PostgreSQL).
    pub database_read_urls: Vec<String>,
    /// Connections per replica pool (`RX_DB_READ_POOL_SIZE`).
    pub db_read_pool_size: u32,
}

/// What one WebSocket connection may hold (see `http::ws`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebSocketLimits {
    /// Largest message (frame, or continuation frames together), in bytes
    /// (`RX_WS_MAX_MESSAGE_BYTES`); a larger one closes the socket (1009).
    pub max_message_bytes: usize,
    /// Subscriptions running at once on one socket
    /// (`RX_WS_MAX_SUBSCRIPTIONS`); another is refused with RATE_LIMITED.
    pub max_subscriptions: usize,
    /// Time from opening to an accepted `connection_init`, in milliseconds
    /// (`RX_WS_INIT_TIMEOUT_MS`); then the socket closes (4408).
    pub init_timeout_ms: u64,
    /// A socket that sends nothing, not even a pong to the server's pings,
    /// for this long is closed, in milliseconds (`RX_WS_IDLE_TIMEOUT_MS`).
    pub idle_timeout_ms: u64,
}

impl Default for WebSocketLimits {
    fn default() -> WebSocketLimits {
        WebSocketLimits {
            max_message_bytes: 64 * 1024,
            max_subscriptions: 20,
            init_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
        }
    }
}

impl WebSocketLimits {
    fn from_env() -> anyhow::Result<WebSocketLimits> {
        let d = WebSocketLimits::default();
        let limits = WebSocketLimits {
            max_message_bytes: env_number("RX_WS_MAX_MESSAGE_BYTES", d.max_message_bytes)?,
            max_subscriptions: env_number("RX_WS_MAX_SUBSCRIPTIONS", d.max_subscriptions)?,
            init_timeout_ms: env_number("RX_WS_INIT_TIMEOUT_MS", d.init_timeout_ms)?,
            idle_timeout_ms: env_number("RX_WS_IDLE_TIMEOUT_MS", d.idle_timeout_ms)?,
        };
        anyhow::ensure!(
            limits.max_message_bytes >= 1_024,
            "RX_WS_MAX_MESSAGE_BYTES must be at least 1024"
        );
        anyhow::ensure!(
            limits.max_subscriptions >= 1,
            "RX_WS_MAX_SUBSCRIPTIONS must be at least 1"
        );
        anyhow::ensure!(
            limits.init_timeout_ms >= 100 && limits.idle_timeout_ms >= 1_000,
            "RX_WS_INIT_TIMEOUT_MS must be at least 100 and RX_WS_IDLE_TIMEOUT_MS at least 1000"
        );
        Ok(limits)
    }
}

/// The limits on one GraphQL document, fragments expanded (see
/// `graphql::guard`). Defaults follow the usual hardening guidance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Lexical tokens in the document text (`RX_MAX_TOKENS`).
    pub tokens: usize,
    /// Field nesting (`RX_MAX_DEPTH`).
    pub depth: usize,
    /// Fields selected (`RX_MAX_FIELDS`).
    pub fields: u64,
    /// Aliased fields (`RX_MAX_ALIASES`).
    pub aliases: u64,
    /// Directives written (`RX_MAX_DIRECTIVES`).
    pub directives: usize,
}

impl Default for DocumentLimits {
    fn default() -> DocumentLimits {
        DocumentLimits {
            tokens: 1_000,
            depth: 10,
            fields: 1_000,
            aliases: 30,
            directives: 50,
        }
    }
}

impl DocumentLimits {
    fn from_env() -> anyhow::Result<DocumentLimits> {
        let d = DocumentLimits::default();
        let limits = DocumentLimits {
            tokens: env_number("RX_MAX_TOKENS", d.tokens)?,
            depth: env_number("RX_MAX_DEPTH", d.depth)?,
            fields: env_number("RX_MAX_FIELDS", d.fields)?,
            aliases: env_number("RX_MAX_ALIASES", d.aliases)?,
            directives: env_number("RX_MAX_DIRECTIVES", d.directives)?,
        };
        anyhow::ensure!(
            limits.tokens >= 1 && limits.depth >= 1 && limits.fields >= 1,
            "RX_MAX_TOKENS, RX_MAX_DEPTH and RX_MAX_FIELDS must be at least 1"
        );
        Ok(limits)
    }
}

/// SQLite readers unless `RX_SQLITE_READERS` says otherwise: two per core,
/// at least two. On the bench data (two cores, the whole group report at
/// 64 clients, two workers) four readers answered as many reports as ten,
/// with a peak of 78–85 MiB instead of 100–107.
pub fn default_sqlite_readers() -> u32 {
    std::thread::available_parallelism().map_or(4, |n| (2 * n.get()).clamp(2, 64) as u32)
}

/// A request runs at most 30 seconds unless `RX_REQUEST_TIMEOUT_MS` says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;

/// Rate limits and webhook delivery (see README, "Partner firms").
#[derive(Debug, Clone)]
pub struct PartnerSettings {
    /// GraphQL requests per minute from one client IP (0 = unlimited).
    pub rate_limit_per_ip_per_minute: u32,
    /// GraphQL requests per minute with one API token (0 = unlimited).
    pub rate_limit_per_token_per_minute: u32,
    /// First retry delay; each further retry waits twice as long (capped at an hour).
    pub webhook_backoff_ms: u64,
    /// Attempts before a delivery is given up as FAILED.
    pub webhook_max_attempts: i32,
    /// Longest pause between the delivery worker's rounds.
    pub webhook_poll_ms: u64,
    /// Per-attempt HTTP timeout.
    pub webhook_timeout_ms: u64,
    /// Whether webhook URLs may name loopback, private or link-local hosts.
    /// Off in production so endpoints cannot be aimed at internal services.
    pub webhook_allow_private_targets: bool,
}

impl PartnerSettings {
    fn from_env(production: bool) -> anyhow::Result<PartnerSettings> {
        Ok(PartnerSettings {
            rate_limit_per_ip_per_minute: env_number("RX_RATE_LIMIT_IP_PER_MINUTE", 600)?,
            rate_limit_per_token_per_minute: env_number("RX_RATE_LIMIT_TOKEN_PER_MINUTE", 120)?,
            webhook_backoff_ms: env_number("RX_WEBHOOK_BACKOFF_MS", 30_000)?,
            webhook_max_attempts: env_number("RX_WEBHOOK_MAX_ATTEMPTS", 8)?.max(1),
            webhook_poll_ms: env_number("RX_WEBHOOK_POLL_MS", 1_000)?.max(10),
            webhook_timeout_ms: env_number("RX_WEBHOOK_TIMEOUT_MS", 10_000)?.max(100),
            webhook_allow_private_targets: match std::env::var("RX_WEBHOOK_ALLOW_PRIVATE") {
                Ok(v) if !v.is_empty() => v == "1" || v.eq_ignore_ascii_case("true"),
                _ => !production,
            },
        })
    }

    /// Fast retries and loopback receivers, as tests need.
    fn for_tests() -> PartnerSettings {
        PartnerSettings {
            rate_limit_per_ip_per_minute: 0,
            rate_limit_per_token_per_minute: 0,
            webhook_backoff_ms: 50,
            webhook_max_attempts: 5,
            webhook_poll_ms: 250,
            webhook_timeout_ms: 2_000,
            webhook_allow_private_targets: true,
        }
    }
}

fn env_flag(name: &str) -> anyhow::Result<bool> {
    match std::env::var(name).ok().as_deref().map(str::trim) {
        None | Some("") | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(other) => anyhow::bail!("{name} must be 1 or 0, not {other:?}"),
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} must be a non-negative number, not {v:?}")),
        _ => Ok(default),
    }
}

/// Batch loaders wait 200 µs for more keys (see `graphql::loaders`); a
/// wait above 10 ms would only add latency.
pub const DEFAULT_LOADER_DELAY_US: u64 = 200;
pub const MAX_LOADER_DELAY_US: u64 = 10_000;

fn loader_delay_us(us: u64) -> anyhow::Result<u64> {
    anyhow::ensure!(
        us <= MAX_LOADER_DELAY_US,
        "RX_LOADER_DELAY_US must be at most {MAX_LOADER_DELAY_US} (10 ms), not {us}"
    );
    Ok(us)
}

/// A session read is trusted for a minute at most (notices keep it current
/// meanwhile; the expiry is the backstop for a listener lost without a word).
pub const DEFAULT_SESSION_CACHE_SECS: u64 = 60;
/// Sessions' rows weigh about 0.5 KiB each with short briefs (16 KiB at
/// most, with every brief field full): thousands of members in 16 MiB.
pub const DEFAULT_SESSION_CACHE_MIB: usize = 16;

/// At most an hour: the expiry is the backstop for a listener lost without
/// a word, and a longer one would leave a revocation unseen that long.
fn session_cache_secs(secs: u64) -> anyhow::Result<u64> {
    if secs > 3600 {
        anyhow::bail!("RX_SESSION_CACHE_SECS must be at most 3600, not {secs}");
    }
    Ok(secs)
}

fn session_cache_mib(mib: usize) -> anyhow::Result<usize> {
    if !(1..=4096).contains(&mib) {
        anyhow::bail!("RX_SESSION_CACHE_MIB must be between 1 and 4096, not {mib}");
    }
    Ok(mib)
}

/// A leader's whole report for a group of 40 (its rows, pairs and lists)
/// weighs some tens of KiB: hundreds of leaders' dashboards in 16 MiB.
pub const DEFAULT_REPORT_CACHE_MIB: usize = 16;

fn report_cache_mib(mib: usize) -> anyhow::Result<usize> {
    if mib > 4096 {
        anyhow::bail!("RX_REPORT_CACHE_MIB must be between 0 and 4096, not {mib}");
    }
    Ok(mib)
}

/// A report link lasts ten minutes unless `RX_REPORT_LINK_TTL_SECS` says otherwise.
pub const DEFAULT_REPORT_LINK_TTL_SECS: i64 = 600;

fn report_link_ttl() -> anyhow::Result<i64> {
    let ttl: i64 = env_number("RX_REPORT_LINK_TTL_SECS", DEFAULT_REPORT_LINK_TTL_SECS)?;
    anyhow::ensure!(
        (30..=3_600).contains(&ttl),
        "RX_REPORT_LINK_TTL_SECS must be between 30 and 3600 seconds, not {ttl}"
    );
    Ok(ttl)
}

pub const DEFAULT_DATA_DIR: &str = "data";
pub const DEFAULT_DB_FILE: &str = "referral-exchange.db";
const MIN_SECRET_LEN: usize = 32;

impl Settings {
    pub fn loader_delay(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.loader_delay_us)
    }

    /// Reads the environment. In development a missing JWT secret is generated
    /// once and kept beside the SQLite database so sessions survive restarts.
    pub fn from_env() -> anyhow::Result<Settings> {
        let environment = match std::env::var("RX_ENV").ok().as_deref() {
            Some("production") => Environment::Production,
            Some("development") | Some("") | None => Environment::Development,
            Some(other) => {
                anyhow::bail!("RX_ENV must be 'production' or 'development', not {other:?}")
            }
        };
        let data_dir = PathBuf::from(DEFAULT_DATA_DIR);
        let database_url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                std::fs::create_dir_all(&data_dir)
                    .with_context(|| format!("creating {}", data_dir.display()))?;
                format!("sqlite://{}/{}?mode=rwc", DEFAULT_DATA_DIR, DEFAULT_DB_FILE)
            }
        };
        let jwt_secret = match std::env::var("RX_JWT_SECRET") {
            Ok(secret) if !secret.is_empty() => {
                if secret.len() < MIN_SECRET_LEN {
                    anyhow::bail!("RX_JWT_SECRET must be at least {MIN_SECRET_LEN} characters");
                }
                SecretString::from(secret)
            }
            _ if environment == Environment::Production => {
                anyhow::bail!("RX_JWT_SECRET is required when RX_ENV=production")
            }
            _ => development_secret(&data_dir)?,
        };
        let bind = std::env::var("RX_BIND").unwrap_or_else(|_| "127.0.0.1:8080".to_string());
        let workers = std::env::var("RX_WORKERS")
            .ok()
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        Ok(Settings {
            database_url,
            bind,
            environment,
            jwt_secret,
            max_body_bytes: 256 * 1024,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            password_attempts_per_minute: env_number("RX_PASSWORD_ATTEMPTS_PER_MINUTE", 10)?,
            password_hash_concurrency: match env_number(
                "RX_PASSWORD_HASH_CONCURRENCY",
                domain::auth::passwords::default_hash_concurrency(),
            )? {
                0 => anyhow::bail!("RX_PASSWORD_HASH_CONCURRENCY must be at least 1"),
                n => n,
            },
            report_link_ttl_secs: report_link_ttl()?,
            session_cache_secs: session_cache_secs(env_number(
                "RX_SESSION_CACHE_SECS",
                DEFAULT_SESSION_CACHE_SECS,
            )?)?,
            session_cache_mib: session_cache_mib(env_number(
                "RX_SESSION_CACHE_MIB",
                DEFAULT_SESSION_CACHE_MIB,
            )?)?,
            report_cache_mib: report_cache_mib(env_number(
                "RX_REPORT_CACHE_MIB",
                DEFAULT_REPORT_CACHE_MIB,
            )?)?,
            workers,
            partners: PartnerSettings::from_env(environment == Environment::Production)?,
            document_limits: DocumentLimits::from_env()?,
            request_timeout_ms: match env_number(
                "RX_REQUEST_TIMEOUT_MS",
                DEFAULT_REQUEST_TIMEOUT_MS,
            )? {
                0 => anyhow::bail!("RX_REQUEST_TIMEOUT_MS must be at least 1"),
                ms => ms,
            },
            loader_delay_us: loader_delay_us(env_number(
                "RX_LOADER_DELAY_US",
                DEFAULT_LOADER_DELAY_US,
            )?)?,
            websocket: WebSocketLimits::from_env()?,
            allow_weak_durability: env_flag("RX_ALLOW_WEAK_DURABILITY")?,
            shutdown_timeout_secs: env_number("RX_SHUTDOWN_TIMEOUT_SECS", 30)?,
            db_pool_size: match env_number("RX_DB_POOL_SIZE", crate::db::DEFAULT_POOL_SIZE)? {
                0 => anyhow::bail!("RX_DB_POOL_SIZE must be at least 1"),
                n => n,
            },
            sqlite_readers: match env_number("RX_SQLITE_READERS", default_sqlite_readers())? {
                0 => anyhow::bail!("RX_SQLITE_READERS must be at least 1"),
                n => n,
            },
            database_read_urls: std::env::var("DATABASE_READ_URL")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_string)
                .collect(),
            db_read_pool_size: match env_number(
                "RX_DB_READ_POOL_SIZE",
                crate::db::DEFAULT_POOL_SIZE,
            )? {
                0 => anyhow::bail!("RX_DB_READ_POOL_SIZE must be at least 1"),
                n => n,
            },
        })
    }

    /// Settings for tests and embedding: explicit database, random secret,
    /// no rate limits, fast webhook retries and loopback webhook targets.
    pub fn for_database(database_url: impl Into<String>) -> Settings {
        Settings {
            database_url: database_url.into(),
            bind: "127.0.0.1:0".into(),
            environment: Environment::Development,
            jwt_secret: SecretString::from(domain::auth::random_token(48)),
            max_body_bytes: 256 * 1024,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            password_attempts_per_minute: 10,
            password_hash_concurrency: domain::auth::passwords::default_hash_concurrency(),
            report_link_ttl_secs: DEFAULT_REPORT_LINK_TTL_SECS,
            session_cache_secs: DEFAULT_SESSION_CACHE_SECS,
            session_cache_mib: DEFAULT_SESSION_CACHE_MIB,
            report_cache_mib: DEFAULT_REPORT_CACHE_MIB,
            workers: 2,
            partners: PartnerSettings::for_tests(),
            document_limits: DocumentLimits::default(),
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            loader_delay_us: DEFAULT_LOADER_DELAY_US,
            websocket: WebSocketLimits::default(),
            allow_weak_durability: false,
            shutdown_timeout_secs: 30,
            db_pool_size: crate::db::DEFAULT_POOL_SIZE,
            sqlite_readers: default_sqlite_readers(),
            database_read_urls: Vec::new(),
            db_read_pool_size: crate::db::DEFAULT_POOL_SIZE,
        }
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    pub fn jwt_secret_bytes(&self) -> &[u8] {
        self.jwt_secret.expose_secret().as_bytes()
    }
}

fn development_secret(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_string();
        if existing.len() >= MIN_SECRET_LEN {
            return Ok(SecretString::from(existing));
        }
    }
    std::fs::create_dir_all(data_dir)?;
    let secret = domain::auth::random_token(48);
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a development JWT secret");
    Ok(SecretString::from(secret))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_delay_is_bounded() {
        assert_eq!(loader_delay_us(0).unwrap(), 0);
        assert_eq!(loader_delay_us(DEFAULT_LOADER_DELAY_US).unwrap(), 200);
        assert_eq!(loader_delay_us(10_000).unwrap(), 10_000);
        let refused = loader_delay_us(10_001).unwrap_err().to_string();
        assert!(refused.contains("RX_LOADER_DELAY_US"), "{refused}");
    }

    #[test]
    fn the_session_view_is_bounded() {
        assert_eq!(session_cache_secs(0).unwrap(), 0);
        assert_eq!(session_cache_secs(DEFAULT_SESSION_CACHE_SECS).unwrap(), 60);
        assert_eq!(session_cache_secs(3600).unwrap(), 3600);
        let refused = session_cache_secs(3601).unwrap_err().to_string();
        assert!(refused.contains("RX_SESSION_CACHE_SECS"), "{refused}");
        assert_eq!(session_cache_mib(DEFAULT_SESSION_CACHE_MIB).unwrap(), 16);
        for bad in [0, 4097] {
            let refused = session_cache_mib(bad).unwrap_err().to_string();
            assert!(refused.contains("RX_SESSION_CACHE_MIB"), "{refused}");
        }
    }

    #[test]
    fn the_report_cache_is_bounded() {
        assert_eq!(report_cache_mib(0).unwrap(), 0);
        assert_eq!(report_cache_mib(DEFAULT_REPORT_CACHE_MIB).unwrap(), 16);
        assert_eq!(report_cache_mib(4096).unwrap(), 4096);
        let refused = report_cache_mib(4097).unwrap_err().to_string();
        assert!(refused.contains("RX_REPORT_CACHE_MIB"), "{refused}");
    }

    #[test]
    fn sqlite_readers_default_to_at_least_two() {
        // Two readers let a long report and a short query run side by
        // side, on any machine.
        assert!(
            default_sqlite_readers() >= 2,
            "{}",
            default_sqlite_readers()
        );
    }
}
