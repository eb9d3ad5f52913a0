//! The command-line entry points beside `serve`, as functions the binary
//! calls and tests may call too: each takes a database URL (or nothing) and
//! answers in plain values, never in domain types.

use crate::db;

/// What `seed-demo` did.
pub struct DemoSeeded {
    pub created: bool,
    pub members: usize,
    pub meetings: usize,
    pub referrals: usize,
}

/// The demo leader's sign-in, as printed by `seed-demo`.
pub const DEMO_LEADER_EMAIL: &str = domain::demo::LEADER_EMAIL;
pub const DEMO_PASSWORD: &str = domain::demo::DEMO_PASSWORD;

/// The administrator `create-admin` made or promoted: (name, email).
pub async fn create_admin(
    database_url: &str,
    email: &str,
    name: &str,
    password: String,
) -> anyhow::Result<(String, String)> {
    let conn = db::connect(database_url).await?;
    db::migrate(&conn).await?;
    let admin = domain::auth::service::create_admin(&conn, email, name, password)
        .await
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    Ok((admin.name, admin.email))
}

/// Loads the demo chapter (idempotent).
pub async fn seed_demo(database_url: &str) -> anyhow::Result<DemoSeeded> {
    let conn = db::connect(database_url).await?;
    db::migrate(&conn).await?;
    let seeded = domain::demo::seed(&conn)
        .await
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    Ok(DemoSeeded {
        created: seeded.created,
        members: seeded.members,
        meetings: seeded.meetings,
        referrals: seeded.referrals,
    })
}

/// The bench accounts' password, as `seed-bench` prints it.
pub const BENCH_PASSWORD: &str = domain::bench_seed::BENCH_PASSWORD;
/// The bench administrator's email.
pub const BENCH_ADMIN_EMAIL: &str = domain::bench_seed::ADMIN_EMAIL;
/// The bench accounts' emails, `{n}` from 1.
pub const BENCH_EMAIL_PATTERN: &str = domain::bench_seed::ACCOUNT_EMAIL_PATTERN;

/// The email of bench account `n` (from 1); account 1 leads the first group.
pub fn bench_email(n: usize) -> String {
    domain::bench_seed::account_email(n)
}

/// What `seed-bench` makes.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub members: usize,
    pub groups: usize,
    pub referrals: usize,
    pub accounts: usize,
    pub years: u32,
    /// The range ends the day before; `None` is today (UTC).
    pub today: Option<chrono::NaiveDate>,
    /// Progress lines on standard error.
    pub progress: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        use domain::bench_seed::*;
        BenchOptions {
            members: DEFAULT_MEMBERS,
            groups: DEFAULT_GROUPS,
            referrals: DEFAULT_REFERRALS,
            accounts: DEFAULT_ACCOUNTS,
            years: DEFAULT_YEARS,
            today: None,
            progress: true,
        }
    }
}

/// What `seed-bench` wrote (the domain's summary: row counts, the first
/// group and the seeded range) and how many accounts can sign in.
#[derive(Debug, Clone)]
pub struct BenchSeeded {
    pub written: domain::bench_seed::Summary,
    pub accounts: usize,
}

impl std::ops::Deref for BenchSeeded {
    type Target = domain::bench_seed::Summary;

    fn deref(&self) -> &domain::bench_seed::Summary {
        &self.written
    }
}

impl BenchSeeded {
    /// The one-line JSON summary `seed-bench` prints for bench scripts.
    pub fn summary_line(&self) -> String {
        serde_json::json!({
            "members": self.members,
            "admins": self.admins,
            "groups": self.groups,
            "memberships": self.memberships,
            "partnerFirms": self.partner_firms,
            "partnerships": self.partnerships,
            "absences": self.absences,
            "meetings": self.meetings,
            "attendance": self.attendance,
            "visitors": self.visitors,
            "oneToOnes": self.one_to_ones,
            "referrals": self.referrals,
            "referralEvents": self.referral_events,
            "from": self.from.to_string(),
            "to": self.to.to_string(),
            "firstGroupId": self.first_group_id,
            "firstGroupLeaderEmail": bench_email(1),
            "accounts": self.accounts,
            "accountEmailPattern": BENCH_EMAIL_PATTERN,
            "adminEmail": BENCH_ADMIN_EMAIL,
            "password": BENCH_PASSWORD,
            "seconds": (self.seconds * 10.0).round() / 10.0,
        })
        .to_string()
    }
}

/// Fills an empty database with the deterministic benchmark network;
/// refuses (writing nothing) when it already has members.
pub async fn seed_bench(database_url: &str, options: BenchOptions) -> anyhow::Result<BenchSeeded> {
    let conn = db::connect(database_url).await?;
    db::migrate(&conn).await?;
    let params = domain::bench_seed::Params {
        members: options.members,
        groups: options.groups,
        referrals: options.referrals,
        accounts: options.accounts,
        years: options.years,
        today: options
            .today
            .unwrap_or_else(|| chrono::Utc::now().date_naive()),
    };
    let progress = |line: &str| {
        if options.progress {
            eprintln!("{line}");
        }
    };
    let result = domain::bench_seed::seed(&conn, &params, &progress).await;
    conn.close().await.ok();
    Ok(BenchSeeded {
        written: result?,
        accounts: params.accounts,
    })
}

/// What `backup` wrote.
pub struct BackupWritten {
    pub path: std::path::PathBuf,
    pub bytes: u64,
}

/// A consistent copy of a live SQLite database at `path` (`VACUUM INTO`: one
/// read transaction, so writers carry on and the copy is a single moment).
/// PostgreSQL has its own tool for this; the error says how to use it.
pub async fn backup(database_url: &str, path: &std::path::Path) -> anyhow::Result<BackupWritten> {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    if !db::is_sqlite(database_url) {
        anyhow::bail!(
            "no backup written: for PostgreSQL use its own tool, which takes a consistent \
             snapshot while the server runs, e.g.\n  pg_dump --format=custom --file={} \"$DATABASE_URL\"\n\
             and restore with pg_restore --dbname=<empty database> {}",
            path.display(),
            path.display()
        );
    }
    if path.exists() {
        anyhow::bail!("{} already exists; choose a new file", path.display());
    }
    let target = path
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
    // Read-only: a wrong path or working directory must not create an empty
    // database (and then copy it as if it were the real one).
    let read_only = database_url.replace("mode=rwc", "mode=ro");
    let conn = sea_orm::Database::connect(&read_only)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database to back up: {e}"))?;
    let migrated = conn
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
        ))
        .await?
        .and_then(|row| row.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0);
    if migrated == 0 {
        anyhow::bail!("{read_only} is not a referral-exchange database; nothing written");
    }
    conn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Sqlite,
        "VACUUM INTO ?",
        [target.into()],
    ))
    .await
    .map_err(|e| anyhow::anyhow!("backup to {} failed: {e}", path.display()))?;
    conn.close().await?;
    let bytes = std::fs::metadata(path)?.len();
    Ok(BackupWritten {
        path: path.to_path_buf(),
        bytes,
    })
}

/// Applies pending migrations.
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let conn = db::connect(database_url).await?;
    db::migrate(&conn).await
}

/// The GraphQL schema (SDL) as committed in `schema.graphql`; needs no database.
pub fn export_schema() -> String {
    crate::graphql::sdl()
}
