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

/// Applies pending migrations.
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let conn = db::connect(database_url).await?;
    db::migrate(&conn).await
}

/// The GraphQL schema (SDL) as committed in `schema.graphql`; needs no database.
pub fn export_schema() -> String {
    crate::graphql::sdl()
}
