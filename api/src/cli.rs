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
