//! What this server remembers of signed-in sessions, so that a member's
//! bearer token costs no statement: the member's row and the fact that the
//! session was not revoked, as last read, kept current by the database.
//!
//! - Triggers on `members` and `refresh_families` (migration 8) send the
//!   member's id on [`CHANNEL`] with every change to either row; the notice
//!   relay's listening connection hears them, on every server, and the
//!   member's entries are forgotten.
//! - This server forgets at once, after its commit, what it changed itself
//!   (sign-in, sign-out, password, profile), so its own client never sees
//!   its change late. Another server's change takes effect here when its
//!   notice arrives, a moment after that server's commit.
//! - The view serves only while the relay listens and the triggers are in
//!   place: closed until the first `LISTEN`, emptied and closed as soon as
//!   the connection is seen lost (notices sent meanwhile are gone), emptied
//!   again when listening anew. An entry also expires after the configured
//!   time, a backstop for a connection that dies without a word.
//! - SQLite has writers outside the server (the CLI, another server on
//!   the same file, a hand edit) that cannot notify, but it counts every
//!   commit: the view opens watching that count ([`Commits`], SQLite's
//!   `PRAGMA data_version`, read without a statement), and forgets
//!   everything whenever it has moved on. A change by anyone takes effect
//!   on the next request; any write (the server's own included, a member's
//!   last-seen time too) costs each remembered session one read to come
//!   back.
//!
//! A read that began before its member's change was heard must not be
//! remembered after it: every forgetting moves the member's count on (and
//! opening, closing or starting again empty moves an epoch on), and a read
//! is remembered only if the counts it began at are still current. Only
//! reads made on the primary are remembered (`Caller::of_session`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use entities::member;

/// The PostgreSQL channel the triggers of migration 8 notify on (the
/// payload is the member's id). The migration spells it out: keep in step.
pub const CHANNEL: &str = "rx_session_changes";

/// The triggers that announce changes (migration 8): the view opens only
/// when all of them are there and enabled.
pub const TRIGGERS: [&str; 2] = [
    "trg_members_session_changed",
    "trg_refresh_families_session_changed",
];

/// A count that only grows, and grows whenever anyone commits a change to
/// the database (SQLite's `PRAGMA data_version`, read on a connection of
/// its own).
pub trait Commits: Send + Sync {
    /// The count now; `None` when it could not be read at once (then the
    /// lookup serves nothing). Called on every lookup, outside the view's
    /// lock.
    fn count(&self) -> Option<i64>;
}

pub struct SessionView {
    ttl: Duration,
    /// Most bytes the remembered rows may take (their text counted).
    budget: usize,
    /// What the view watches instead of notices (SQLite), once set.
    commits: OnceLock<Box<dyn Commits>>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    open: bool,
    /// Moves on whenever everything is forgotten (open, close, full, the
    /// watched count of commits moved on).
    epoch: u64,
    /// Moves on, per member, whenever that member is forgotten; emptied
    /// with each new epoch.
    changes: HashMap<String, u64>,
    /// Entries by member, then by session.
    members: HashMap<String, Vec<Entry>>,
    bytes: usize,
    len: usize,
    /// The count of commits the entries were read after (watching
    /// [`Commits`]).
    commits_seen: Option<i64>,
}

struct Entry {
    session_id: String,
    member: Arc<member::Model>,
    read_at: Instant,
    bytes: usize,
}

/// Where a read of a member's session began, for [`SessionView::remember`].
#[derive(Debug, Clone, Copy)]
pub struct Generation {
    epoch: u64,
    member: u64,
}

/// Members whose changes are counted before the count starts again (with a
/// new epoch, which forgets everything: a bound on the counts' memory).
const MAX_COUNTED_CHANGES: usize = 100_000;

/// What an entry is taken to weigh: the row, its text, and the key.
fn weight(session_id: &str, m: &member::Model) -> usize {
    std::mem::size_of::<Entry>()
        + std::mem::size_of::<member::Model>()
        + session_id.len()
        + crate::members::rows::text_bytes(m)
}

impl Inner {
    /// Forgets every entry and every read in flight.
    fn reset(&mut self) {
        self.epoch += 1;
        self.changes.clear();
        self.members.clear();
        self.bytes = 0;
        self.len = 0;
    }
}

impl SessionView {
    /// A view whose entries last `ttl` (zero: it never serves) and whose
    /// rows take at most `budget` bytes (when full, it starts again empty).
    pub fn new(ttl: Duration, budget: usize) -> SessionView {
        SessionView {
            ttl,
            budget,
            commits: OnceLock::new(),
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves nothing a reader could
        // misread: each change keeps the counts and maps in step.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The member behind `session_id`, if remembered, still fresh and the
    /// view is open (and, watching a change count, nothing was committed
    /// since the entries were read).
    pub fn get(&self, member_id: &str, session_id: &str) -> Option<Arc<member::Model>> {
        if self.ttl.is_zero() {
            return None;
        }
        // Read before the lock, so no lookup waits on SQLite under it. Any
        // count read after this lookup began will do: a commit it misses
        // came later, and the next lookup sees it.
        let commits = match self.commits.get() {
            Some(watched) => Some(watched.count()?),
            None => None,
        };
        self.lookup(commits, member_id, session_id)
    }

    /// `get` with the count of commits read (`None`: not watched).
    fn lookup(
        &self,
        commits: Option<i64>,
        member_id: &str,
        session_id: &str,
    ) -> Option<Arc<member::Model>> {
        let mut inner = self.lock();
        if !inner.open {
            return None;
        }
        if let Some(now) = commits {
            match inner.commits_seen {
                Some(seen) if now == seen => {}
                // Read before a lookup that has already moved the view on:
                // the entries are newer than this count, so serve none of
                // them, and keep them.
                Some(seen) if now < seen => return None,
                _ => {
                    // Entries remembered from now on are read after `now`.
                    inner.reset();
                    inner.commits_seen = Some(now);
                    return None;
                }
            }
        }
        inner
            .members
            .get(member_id)?
            .iter()
            .find(|e| e.session_id == session_id && e.read_at.elapsed() < self.ttl)
            .map(|e| e.member.clone())
    }

    /// Taken before reading `member_id`'s session from the database.
    pub fn generation(&self, member_id: &str) -> Generation {
        let inner = self.lock();
        Generation {
            epoch: inner.epoch,
            member: inner.changes.get(member_id).copied().unwrap_or(0),
        }
    }

    /// Remembers a live session read since `read_from` (taken for the
    /// same member), unless the member was forgotten since then or the
    /// view is closed.
    pub fn remember(&self, read_from: Generation, session_id: &str, member: Arc<member::Model>) {
        if self.ttl.is_zero() {
            return;
        }
        let bytes = weight(session_id, &member);
        let mut inner = self.lock();
        let changed = inner.changes.get(&member.id).copied().unwrap_or(0);
        if !inner.open || inner.epoch != read_from.epoch || changed != read_from.member {
            return;
        }
        if bytes > self.budget {
            return;
        }
        if inner.bytes + bytes > self.budget {
            // Starting again empty is simpler than choosing what to drop,
            // and cheap: each session costs one read to come back.
            inner.reset();
        }
        let now = Instant::now();
        let entries = inner.members.entry(member.id.clone()).or_default();
        let (before_len, before_bytes) = (
            entries.len(),
            entries.iter().map(|e| e.bytes).sum::<usize>(),
        );
        entries.retain(|e| e.session_id != session_id && now - e.read_at < self.ttl);
        entries.push(Entry {
            session_id: session_id.to_string(),
            member,
            read_at: now,
            bytes,
        });
        let (after_len, after_bytes) = (
            entries.len(),
            entries.iter().map(|e| e.bytes).sum::<usize>(),
        );
        inner.len = inner.len + after_len - before_len;
        inner.bytes = inner.bytes + after_bytes - before_bytes;
    }

    /// Forgets every session of `member_id` (its row or a session changed),
    /// and any read of them in flight.
    pub fn forget(&self, member_id: &str) {
        let mut inner = self.lock();
        if inner.changes.len() >= MAX_COUNTED_CHANGES {
            inner.reset();
            return;
        }
        *inner.changes.entry(member_id.to_string()).or_insert(0) += 1;
        if let Some(gone) = inner.members.remove(member_id) {
            inner.len -= gone.len();
            inner.bytes -= gone.iter().map(|e| e.bytes).sum::<usize>();
        }
    }

    /// The relay listens: serve from now on, starting empty.
    pub fn open(&self) {
        let mut inner = self.lock();
        inner.reset();
        inner.open = true;
    }

    /// Serves from now on, starting empty, each entry for as long as
    /// `commits` has not moved on since it was read (SQLite, whose writers
    /// cannot notify). A view watches one count for its life: a second is
    /// refused (false).
    #[must_use]
    pub fn open_watching(&self, commits: Box<dyn Commits>) -> bool {
        if self.commits.set(commits).is_err() {
            return false;
        }
        self.open();
        true
    }

    /// The watched count of commits now (SQLite), when one is watched and
    /// could be read at once: a token of the database's state for other
    /// caches (`reports::cache`).
    pub fn commit_count(&self) -> Option<i64> {
        self.commits.get()?.count()
    }

    /// The relay stopped listening: serve nothing, forget everything.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.reset();
        inner.open = false;
    }

    /// Whether the view serves (for `/metrics`).
    pub fn is_open(&self) -> bool {
        self.lock().open
    }

    /// Sessions remembered now.
    pub fn len(&self) -> usize {
        self.lock().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the remembered rows are taken to weigh.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

/// Closes the view when dropped: the relay holds one, so a relay that ends
/// for any reason (aborted at shutdown, or a panic) leaves nothing served.
pub struct CloseOnDrop(pub Arc<SessionView>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> Arc<member::Model> {
        Arc::new(crate::members::rows::named(id.to_string(), id.to_string()))
    }

    fn remember(view: &SessionView, session: &str, m: Arc<member::Model>) {
        let g = view.generation(&m.id);
        view.remember(g, session, m);
    }

    /// A budget of about `n` of these test rows.
    fn rows(n: usize) -> usize {
        n * weight("s0", &member("m0")) + 1
    }

    fn open_view(ttl_ms: u64, budget: usize) -> SessionView {
        let view = SessionView::new(Duration::from_millis(ttl_ms), budget);
        view.open();
        view
    }

    #[test]
    fn a_remembered_session_is_served_until_its_member_is_forgotten() {
        let view = open_view(60_000, rows(10));
        remember(&view, "s1", member("m1"));
        remember(&view, "s1", member("m2"));
        assert_eq!(view.get("m1", "s1").unwrap().id, "m1");
        assert!(view.get("m1", "s2").is_none(), "another session");
        assert!(view.get("m3", "s1").is_none(), "another member");
        view.forget("m1");
        assert!(view.get("m1", "s1").is_none());
        assert!(view.get("m2", "s1").is_some(), "only the member changed");
        assert_eq!(view.len(), 1);
        assert_eq!(view.bytes(), weight("s1", &member("m2")));
    }

    #[test]
    fn a_read_begun_before_its_member_changed_is_not_remembered() {
        let view = open_view(60_000, rows(10));
        let before = view.generation("m1");
        let other = view.generation("m2");
        view.forget("m1");
        view.remember(before, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_none());
        // Another member's read is not held back by that change.
        view.remember(other, "s1", member("m2"));
        assert!(view.get("m2", "s1").is_some());
        let after = view.generation("m1");
        view.remember(after, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_some());
    }

    #[test]
    fn a_closed_view_serves_and_keeps_nothing() {
        let view = SessionView::new(Duration::from_secs(60), rows(10));
        remember(&view, "s1", member("m1"));
        assert!(view.is_empty() && !view.is_open(), "never opened");
        view.open();
        remember(&view, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_some());
        view.close();
        assert!(view.get("m1", "s1").is_none());
        assert!(view.is_empty() && !view.is_open());
        // A read begun while open, finished after the listener was lost
        // and found again, is not kept: notices may have been missed.
        view.open();
        let g = view.generation("m1");
        view.close();
        view.open();
        view.remember(g, "s1", member("m1"));
        assert!(view.is_empty());
        // Dropping the relay's guard closes the view.
        let view = Arc::new(view);
        remember(&view, "s1", member("m1"));
        drop(CloseOnDrop(view.clone()));
        assert!(!view.is_open() && view.get("m1", "s1").is_none());
    }

    #[test]
    fn entries_expire_and_a_zero_lifetime_keeps_nothing() {
        let view = open_view(300, rows(10));
        remember(&view, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_some());
        std::thread::sleep(Duration::from_millis(350));
        assert!(view.get("m1", "s1").is_none(), "expired");
        let off = open_view(0, rows(10));
        remember(&off, "s1", member("m1"));
        assert!(off.is_empty());
    }

    #[test]
    fn the_view_never_holds_more_than_its_budget() {
        let budget = rows(3);
        let view = open_view(60_000, budget);
        for i in 0..10 {
            remember(&view, &format!("s{i}"), member(&format!("m{}", i % 4)));
            assert!(
                view.len() <= 3 && view.bytes() <= budget,
                "{} entries",
                view.len()
            );
        }
        // The latest is always kept; one entry per session however often read.
        assert!(view.get("m1", "s9").is_some());
        remember(&view, "s9", member("m1"));
        remember(&view, "s9", member("m1"));
        let inner = view.lock();
        let entries = inner.members.values().flatten();
        assert_eq!(inner.len, entries.clone().count());
        assert_eq!(inner.bytes, entries.map(|e| e.bytes).sum::<usize>());
        drop(inner);
        // A row heavier than the whole budget is not kept.
        let mut heavy = crate::members::rows::named("m9".into(), "m9".into());
        heavy.brief_talking_points = Some("x".repeat(budget));
        remember(&view, "s1", Arc::new(heavy));
        assert!(view.get("m9", "s1").is_none());
    }

    /// A count of commits moved by hand; `None` while unreadable.
    struct Count(Arc<Mutex<Option<i64>>>);

    impl Commits for Count {
        fn count(&self) -> Option<i64> {
            *self.0.lock().unwrap()
        }
    }

    #[test]
    fn a_watching_view_forgets_everything_whenever_the_count_moves_on() {
        let count = Arc::new(Mutex::new(Some(7)));
        let view = SessionView::new(Duration::from_secs(60), rows(10));
        assert!(view.open_watching(Box::new(Count(count.clone()))));
        assert!(view.is_open());
        assert!(
            !view.open_watching(Box::new(Count(count.clone()))),
            "one count for life"
        );
        // Nothing served before a lookup has seen the count.
        remember(&view, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_none());
        assert!(view.is_empty(), "forgotten when the count was first seen");
        remember(&view, "s1", member("m1"));
        remember(&view, "s2", member("m2"));
        assert!(view.get("m1", "s1").is_some());
        assert!(view.get("m2", "s2").is_some(), "the count has not moved");
        // A commit by anyone, about anyone: everything is forgotten, and a
        // read begun before it is not kept, whether it ends after a lookup
        // saw the commit ...
        let before = view.generation("m1");
        *count.lock().unwrap() = Some(8);
        assert!(view.get("m2", "s2").is_none());
        assert!(view.is_empty());
        view.remember(before, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_none(), "read before the change");
        remember(&view, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_some(), "read after it");
        // ... or before.
        let before = view.generation("m1");
        *count.lock().unwrap() = Some(9);
        view.remember(before, "s1", member("m1"));
        assert!(view.get("m1", "s1").is_none(), "read before the change");
        assert!(view.is_empty());
        // An unreadable count serves nothing and forgets nothing.
        remember(&view, "s1", member("m1"));
        *count.lock().unwrap() = None;
        assert!(view.get("m1", "s1").is_none());
        assert_eq!(view.len(), 1);
        *count.lock().unwrap() = Some(9);
        assert!(view.get("m1", "s1").is_some(), "the count had not moved");
        // A count read before another lookup moved the view on (two
        // workers racing) serves nothing, and keeps the newer entries.
        *count.lock().unwrap() = Some(10);
        assert!(view.get("m1", "s1").is_none());
        remember(&view, "s1", member("m1"));
        assert!(view.lookup(Some(9), "m1", "s1").is_none());
        assert!(view.get("m1", "s1").is_some());
        // With a zero lifetime the count is not even read.
        let off = SessionView::new(Duration::ZERO, rows(10));
        let unread = Arc::new(Mutex::new(Some(1)));
        assert!(off.open_watching(Box::new(Count(unread.clone()))));
        assert!(off.get("m1", "s1").is_none());
        assert_eq!(off.lock().commits_seen, None, "never read");
    }

    #[test]
    fn counting_changes_is_bounded() {
        let view = open_view(60_000, rows(10));
        remember(&view, "s1", member("m1"));
        for i in 0..MAX_COUNTED_CHANGES + 1 {
            view.forget(&format!("x{i}"));
        }
        assert!(view.lock().changes.len() <= MAX_COUNTED_CHANGES);
        assert!(view.is_empty(), "started again empty");
    }
}
