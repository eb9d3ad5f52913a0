//! Group reports as last built, for the caller who asked, at the database
//! state they were built from: a leader's dashboard refreshing the same
//! report is answered without reading it again, and with the very figures
//! a fresh read would give.
//!
//! An entry's key holds a token of the database's state taken before the
//! report was read: PostgreSQL's snapshot (`pg_current_snapshot()`: which
//! transactions are visible, so two equal snapshots see the same rows) or
//! SQLite's count of commits (`PRAGMA data_version`, as the session view
//! watches it). A commit by anyone, about anything, changes the token, so
//! the next request misses and reads the report again. The report was read
//! after its token was taken, so it holds at least what the token saw, and
//! a later request with the same token proves nothing was committed in
//! between.
//!
//! The key also holds the caller (their id and whether they are an admin),
//! the group, the period, the parts the document asked for and today's
//! date (the overdue list moves with it). The unthanked wins move with the
//! clock (a win is listed a week after it was won): a report with its
//! lists is given only until the first of its wins not yet due falls due
//! (`Report::lists_change_at`). Who may read the report is decided as it
//! was when the entry was made: by the same caller, over the same rows.
//! Refusals are never kept.
//!
//! Only the latest state's entries are worth keeping (an older state is
//! never asked for again on PostgreSQL, and seldom on SQLite), so keeping a
//! report of another state drops the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, NaiveDate, Utc};
use entities::referral;

use super::group_report::{Parts, Report};

/// What a cached report is keyed by (see the module's doc).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub caller: String,
    pub is_admin: bool,
    pub group: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub parts: Parts,
    pub today: NaiveDate,
    /// The database's state, as PostgreSQL's snapshot or SQLite's count of
    /// commits, taken before the report was read.
    pub state: String,
}

pub struct ReportCache {
    /// Most bytes the kept reports may take (0: nothing is kept).
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, (Arc<Report>, usize)>,
    bytes: usize,
    /// The state of the entries kept (all share one).
    state: String,
}

impl ReportCache {
    pub fn new(budget: usize) -> ReportCache {
        ReportCache {
            budget,
            inner: Mutex::default(),
        }
    }

    /// Whether reports are kept at all (a budget above 0).
    pub fn is_on(&self) -> bool {
        self.budget > 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the map and its byte count
        // in step: each change updates both before it returns.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The report kept under `key`, unless its lists have moved on by
    /// `now` (the time the key's date was read at).
    pub fn get(&self, key: &Key, now: DateTime<Utc>) -> Option<Arc<Report>> {
        let report = self.lock().entries.get(key).map(|(r, _)| r.clone())?;
        match report.lists_change_at {
            Some(at) if now >= at => None,
            _ => Some(report),
        }
    }

    /// Keeps `report` under `key`. A report heavier than the whole budget
    /// is not kept. The entries of another state are dropped first, and
    /// when the budget is full everything is (simpler than choosing, and
    /// each report costs one read to return); what is dropped is freed
    /// after the lock is let go.
    pub fn put(&self, key: Key, report: Arc<Report>) {
        let bytes = weight(&key, &report);
        if bytes > self.budget {
            return;
        }
        let mut inner = self.lock();
        let dropped = if inner.state != key.state || inner.bytes + bytes > self.budget {
            inner.state = key.state.clone();
            inner.bytes = 0;
            std::mem::take(&mut inner.entries)
        } else {
            HashMap::new()
        };
        if let Some((_, old)) = inner.entries.insert(key, (report, bytes)) {
            inner.bytes -= old;
        }
        inner.bytes += bytes;
        drop(inner);
        drop(dropped);
    }

    /// Reports kept now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the kept reports are taken to weigh.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

/// What a referral's row is taken to weigh: the struct and its text.
fn referral_weight(r: &referral::Model) -> usize {
    let text = |o: &Option<String>| o.as_ref().map_or(0, String::len);
    std::mem::size_of::<referral::Model>()
        + r.id.len()
        + r.prospect_name.len()
        + text(&r.prospect_email)
        + text(&r.prospect_phone)
        + text(&r.prospect_company)
        + text(&r.prospect_need)
        + text(&r.note)
        // The ids it holds, at most a handful, each a UUID.
        + 8 * 36
}

/// What an entry is taken to weigh: its key, and the report's rows, pairs
/// and lists with their text.
fn weight(key: &Key, report: &Report) -> usize {
    std::mem::size_of::<Key>()
        + key.caller.len()
        + key.group.len()
        + key.state.len()
        + std::mem::size_of::<Report>()
        // Each row's and pair's members are inside its struct: their text
        // is what is added.
        + report
            .rows
            .iter()
            .map(|r| std::mem::size_of_val(r) + crate::members::rows::text_bytes(&r.member))
            .sum::<usize>()
        + report
            .one_way
            .iter()
            .map(|p| std::mem::size_of_val(p) + crate::members::rows::text_bytes(&p.from) + crate::members::rows::text_bytes(&p.to))
            .sum::<usize>()
        + report
            .unthanked_wins
            .iter()
            .chain(&report.overdue_follow_ups)
            .map(referral_weight)
            .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::group_report::Totals;

    fn report(rows: usize) -> Arc<Report> {
        use crate::reports::group_report::{Palms, Row};
        use crate::reports::score::{Score, TrafficLight};
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let row = |i: usize| Row {
            member: crate::members::rows::named(format!("m{i}"), format!("Member {i}")),
            given: 0,
            given_inside_group: 0,
            given_outside: 0,
            received: 0,
            given_in_absence: 0,
            received_in_absence: 0,
            closed_value_given: Default::default(),
            closed_value_received: Default::default(),
            one_to_ones: 0,
            visitors: 0,
            attendance: Palms::default(),
            tenure_days: 0,
            score: Score {
                absences: 0,
                given: 0,
                one_to_ones: 0,
                visitors: 0,
                won: 0,
            },
            traffic_light: TrafficLight::for_score(0),
            group_hopping: false,
        };
        Arc::new(Report {
            from: day,
            to: day,
            totals: Totals::default(),
            rows: (0..rows).map(row).collect(),
            one_way: Vec::new(),
            unthanked_wins: Vec::new(),
            overdue_follow_ups: Vec::new(),
            lists_change_at: None,
        })
    }

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000)
    }

    fn key(caller: &str, state: &str) -> Key {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        Key {
            caller: caller.into(),
            is_admin: false,
            group: "g".into(),
            from: day,
            to: day,
            parts: Parts::ALL,
            today: day,
            state: state.into(),
        }
    }

    #[test]
    fn a_report_is_found_only_under_its_whole_key() {
        let cache = ReportCache::new(1 << 20);
        assert!(cache.is_on());
        cache.put(key("a", "1"), report(3));
        assert_eq!(cache.get(&key("a", "1"), now()).unwrap().rows.len(), 3);
        assert!(cache.get(&key("a", "2"), now()).is_none(), "another state");
        assert!(cache.get(&key("b", "1"), now()).is_none(), "another caller");
        let mut admin = key("a", "1");
        admin.is_admin = true;
        assert!(cache.get(&admin, now()).is_none(), "the caller's standing");
        let mut narrow = key("a", "1");
        narrow.parts.lists = false;
        assert!(cache.get(&narrow, now()).is_none(), "other parts");
        let mut tomorrow = key("a", "1");
        tomorrow.today = tomorrow.today.succ_opt().unwrap();
        assert!(cache.get(&tomorrow, now()).is_none(), "another day");
    }

    #[test]
    fn a_report_is_given_until_its_first_unthanked_win_falls_due() {
        let cache = ReportCache::new(1 << 20);
        let due = now() + chrono::Duration::seconds(5);
        let mut r = Report::clone(&report(1));
        r.lists_change_at = Some(due);
        cache.put(key("a", "1"), Arc::new(r));
        assert!(cache.get(&key("a", "1"), now()).is_some());
        let just_before = due - chrono::Duration::milliseconds(1);
        assert!(cache.get(&key("a", "1"), just_before).is_some());
        assert!(cache.get(&key("a", "1"), due).is_none(), "due: read again");
    }

    #[test]
    fn keeping_a_report_of_another_state_drops_the_rest() {
        let cache = ReportCache::new(1 << 20);
        cache.put(key("a", "1"), report(3));
        cache.put(key("b", "1"), report(3));
        assert_eq!(cache.len(), 2, "one state, two callers");
        cache.put(key("a", "2"), report(3));
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&key("b", "1"), now()).is_none());
        assert!(cache.get(&key("a", "2"), now()).is_some());
        assert_eq!(cache.bytes(), weight(&key("a", "2"), &report(3)));
    }

    #[test]
    fn the_cache_never_holds_more_than_its_budget() {
        let one = weight(&key("a0", "0"), &report(40));
        let budget = 3 * one + one / 2;
        let cache = ReportCache::new(budget);
        for i in 0..10 {
            cache.put(key(&format!("a{i}"), "0"), report(40));
            assert!(cache.len() <= 3 && cache.bytes() <= budget);
        }
        assert!(
            cache.get(&key("a9", "0"), now()).is_some(),
            "the latest is kept"
        );
        // Kept again under the same key: counted once.
        cache.put(key("a9", "0"), report(40));
        assert_eq!(cache.bytes(), cache.len() * one);
        // Heavier than the whole budget: not kept.
        cache.put(key("b", "0"), report(400));
        assert!(cache.get(&key("b", "0"), now()).is_none());
        // A zero budget keeps nothing.
        let off = ReportCache::new(0);
        assert!(!off.is_on());
        off.put(key("a", "1"), report(1));
        assert!(off.is_empty());
    }
}
