//! What this server remembers of signed-in sessions, so that on PostgreSQL
//! a member's bearer token costs no statement: the member's row and the
//! fact that the session was not revoked, as last read, kept current by the
//! database.
//!
//! - Triggers on `members` and `refresh_families` (migration 8) send the
//!   member's id on [`CHANNEL`] with every change to either row; the notice
//!   relay's listening connection hears them, on every server, and the
//!   member's entries are forgotten.
//! - This server forgets at once, after its commit, what it changed itself
//!   (sign-in, sign-out, password, profile), so its own client never sees
//!   its change late. Another server's change takes effect here when its
//!   notice arrives, a moment after that server's commit.
//! - The view serves only while the relay listens: closed until the first
//!   `LISTEN`, emptied and closed when the connection is lost (notices sent
//!   meanwhile are gone), emptied again when listening anew. An entry also
//!   expires after the configured time, a backstop for a connection that
//!   dies without a word.
//! - SQLite has writers outside the server (the CLI) and no way to hear
//!   them: no relay opens its view, and a token costs its one statement.
//!
//! A read that began before a change was heard must not be remembered after
//! it: every forgetting moves a generation on, and a read is remembered only
//! if the generation it began at is still current.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use entities::member;

/// The PostgreSQL channel the triggers of migration 8 notify on (the
/// payload is the member's id). The migration spells it out: keep in step.
pub const CHANNEL: &str = "rx_session_changes";

pub struct SessionView {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    open: bool,
    generation: u64,
    /// Entries by member, then by session.
    members: HashMap<String, Vec<Entry>>,
    len: usize,
}

struct Entry {
    session_id: String,
    member: Arc<member::Model>,
    read_at: Instant,
}

/// Where a read of a session began, for [`SessionView::remember`].
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

impl SessionView {
    /// A view whose entries last `ttl` (zero: it never serves) and which
    /// holds at most `capacity` sessions (when full, it starts again empty).
    pub fn new(ttl: Duration, capacity: usize) -> SessionView {
        SessionView {
            ttl,
            capacity,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves nothing half-written that a
        // reader could trust: every change is one map operation.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The member behind `session_id`, if remembered, still fresh and the
    /// view is open.
    pub fn get(&self, member_id: &str, session_id: &str) -> Option<Arc<member::Model>> {
        let inner = self.lock();
        if !inner.open {
            return None;
        }
        inner
            .members
            .get(member_id)?
            .iter()
            .find(|e| e.session_id == session_id && e.read_at.elapsed() < self.ttl)
            .map(|e| e.member.clone())
    }

    /// Taken before reading a session from the database.
    pub fn generation(&self) -> Generation {
        Generation(self.lock().generation)
    }

    /// Remembers a live session read since `read_from`, unless something
    /// was forgotten since then or the view is closed.
    pub fn remember(&self, read_from: Generation, session_id: &str, member: Arc<member::Model>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if !inner.open || inner.generation != read_from.0 {
            return;
        }
        if inner.len >= self.capacity {
            inner.members.clear();
            inner.len = 0;
        }
        let entries = inner.members.entry(member.id.clone()).or_default();
        let before = entries.len();
        let now = Instant::now();
        entries.retain(|e| e.session_id != session_id && now - e.read_at < self.ttl);
        entries.push(Entry {
            session_id: session_id.to_string(),
            member,
            read_at: now,
        });
        let after = entries.len();
        inner.len = inner.len + after - before;
    }

    /// Forgets every session of `member_id` (its row or a session changed).
    pub fn forget(&self, member_id: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        if let Some(gone) = inner.members.remove(member_id) {
            inner.len -= gone.len();
        }
    }

    /// The relay listens: serve from now on, starting empty.
    pub fn open(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.members.clear();
        inner.len = 0;
        inner.open = true;
    }

    /// The relay stopped listening: serve nothing, forget everything.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.members.clear();
        inner.len = 0;
        inner.open = false;
    }

    /// Sessions remembered now.
    pub fn len(&self) -> usize {
        self.lock().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> Arc<member::Model> {
        Arc::new(crate::members::rows::named(id.to_string(), id.to_string()))
    }

    fn open_view(ttl_ms: u64, capacity: usize) -> SessionView {
        let view = SessionView::new(Duration::from_millis(ttl_ms), capacity);
        view.open();
        view
    }

    #[test]
    fn a_remembered_session_is_served_until_its_member_is_forgotten() {
        let view = open_view(60_000, 10);
        let g = view.generation();
        view.remember(g, "s1", member("m1"));
        assert_eq!(view.get("m1", "s1").unwrap().id, "m1");
        assert!(view.get("m1", "s2").is_none(), "another session");
        assert!(view.get("m2", "s1").is_none(), "another member");
        view.forget("m1");
        assert!(view.get("m1", "s1").is_none());
        assert!(view.is_empty());
    }

    #[test]
    fn a_read_begun_before_a_change_was_heard_is_not_remembered() {
        let view = open_view(60_000, 10);
        let before = view.generation();
        // Any member's change: the generation is the view's, not the member's.
        view.forget("someone else");
        view.remember(before, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_none());
        let after = view.generation();
        view.remember(after, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_some());
    }

    #[test]
    fn a_closed_view_serves_and_keeps_nothing() {
        let view = SessionView::new(Duration::from_secs(60), 10);
        let g = view.generation();
        view.remember(g, "s1", member("m1"));
        assert!(view.is_empty(), "never opened");
        view.open();
        let g = view.generation();
        view.remember(g, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_some());
        view.close();
        assert!(view.get("m1", "s1").is_none());
        assert!(view.is_empty());
        // A read begun while open, finished after the listener was lost
        // and found again, is not kept: notices may have been missed.
        let g = view.generation();
        view.close();
        view.open();
        view.remember(g, "s1", member("m1"));
        assert!(view.is_empty());
    }

    #[test]
    fn entries_expire_and_a_zero_lifetime_keeps_nothing() {
        let view = open_view(30, 10);
        let g = view.generation();
        view.remember(g, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(view.get("m1", "s1").is_none(), "expired");
        let off = open_view(0, 10);
        let g = off.generation();
        off.remember(g, "s1", member("m1"));
        assert!(off.is_empty());
    }

    #[test]
    fn the_view_never_holds_more_than_its_capacity() {
        let view = open_view(60_000, 3);
        for i in 0..10 {
            let g = view.generation();
            view.remember(g, &format!("s{i}"), member(&format!("m{}", i % 4)));
            assert!(view.len() <= 3, "{} entries", view.len());
        }
        // The latest is always kept; one session per key however often read.
        assert!(view.get("m1", "s9").is_some());
        let g = view.generation();
        view.remember(g, "s9", member("m1"));
        view.remember(g, "s9", member("m1"));
        assert_eq!(
            view.len(),
            view.lock().members.values().map(Vec::len).sum::<usize>()
        );
        assert!(view.len() <= 3);
    }
}
