//! Every change to a member's row or to one of their sessions is announced
//! on PostgreSQL's `rx_session_changes` channel, with the member's id, so
//! that every server's view of signed-in sessions (`domain::auth::
//! session_view`, whose `CHANNEL` this spells out) forgets that member's
//! sessions: a sign-out, password change or edit on one server, or a write
//! by hand, reaches all of them. The notice goes out when — and only if —
//! the change commits. A member row whose only change is `last_seen_at`
//! (written every few minutes per member while they use the portal) is not
//! announced: nothing a server remembers depends on it but the decision
//! to write it again, which a server with an older value makes once more.
//! SQLite has no such channel: nothing to do there.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const FUNCTION: &str = "CREATE FUNCTION rx_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$ \
BEGIN \
  IF TG_TABLE_NAME = 'members' AND TG_OP = 'UPDATE' \
     AND to_jsonb(OLD) - 'last_seen_at' = to_jsonb(NEW) - 'last_seen_at' THEN \
    RETURN NULL; \
  END IF; \
  IF TG_TABLE_NAME = 'members' THEN \
    PERFORM pg_notify('rx_session_changes', OLD.id); \
  ELSE \
    PERFORM pg_notify('rx_session_changes', OLD.member_id); \
  END IF; \
  RETURN NULL; \
END $$";

const TABLES: [&str; 2] = ["members", "refresh_families"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(FUNCTION).await?;
        for table in TABLES {
            // Inserts need no notice: a new session or member was never
            // remembered.
            db.execute_unprepared(&format!(
                "CREATE TRIGGER trg_{table}_session_changed AFTER UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION rx_session_changed()"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for table in TABLES {
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS trg_{table}_session_changed ON {table}"
            ))
            .await?;
        }
        db.execute_unprepared("DROP FUNCTION IF EXISTS rx_session_changed()")
            .await?;
        Ok(())
    }
}
