//! Prometheus metrics, one registry per server (no globals, so servers in
//! one process — the tests — keep their own figures). Every label takes
//! values from a fixed set: routes are the router's patterns, operation
//! names the contract's (anything else folds into `other`), outcomes the
//! error codes of SPEC.md.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The contract's operation names: the only ones kept as labels (a test
/// checks the contract against this list).
pub const KNOWN_OPERATIONS: &[&str] = &[
    "AddContact",
    "AddMembership",
    "AddPartnership",
    "AdvanceReferral",
    "CancelAbsence",
    "ChangePassword",
    "CreateGroup",
    "CreatePartnerFirm",
    "DeclareAbsence",
    "Directory",
    "DueFollowUps",
    "DueRequests",
    "EndMembership",
    "GiveReferral",
    "GiveReferralToContact",
    "GroupReport",
    "GroupRoster",
    "GroupSettings",
    "GroupTenureBands",
    "IssueApiToken",
    "LogFollowUp",
    "Me",
    "MyPartnerships",
    "MyReferrals",
    "NetworkReport",
    "PartnerAdvance",
    "PartnerFirms",
    "PartnerReferrals",
    "PostAsk",
    "Reciprocity",
    "RecordAttendance",
    "RecordOneToOne",
    "RecordOutsideReferral",
    "RecordRequestResponse",
    "RecordVisitor",
    "Referral",
    "ReferralReceived",
    "RefreshSession",
    "Register",
    "RequestReferrals",
    "RevokeApiToken",
    "RewardProgress",
    "ScheduleMeeting",
    "SetGroupSettings",
    "SetRewardTiers",
    "SignIn",
    "SignOut",
    "SourcesReport",
    "SubmitReferral",
    "ThankGiver",
    "UpdateBrief",
    "UpdateContact",
    "UpdatePartnership",
    "UpdateProfile",
    "WhileYouWereAway",
    "WhoToAsk",
];

/// An operation's label: its name if the contract knows it, `anonymous`
/// without a name, `other` otherwise.
pub fn operation_label(name: Option<&str>) -> &'static str {
    match name {
        None => "anonymous",
        Some(name) => KNOWN_OPERATIONS
            .iter()
            .find(|known| **known == name)
            .copied()
            .unwrap_or("other"),
    }
}

/// The name of the document's first operation when the request names none
/// (clients often send a single named operation without `operationName`).
/// Reads only up to that name.
pub fn leading_operation_name(query: &str) -> Option<&str> {
    let mut rest = query;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == '\u{feff}');
        match rest.strip_prefix('#') {
            Some(comment) => rest = comment.split_once('\n').map_or("", |(_, after)| after),
            None => break,
        }
    }
    let word_end = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let keyword = &rest[..word_end(rest)];
    if !matches!(keyword, "query" | "mutation" | "subscription") {
        return None;
    }
    let after = rest[keyword.len()..].trim_start();
    let name = &after[..word_end(after)];
    (!name.is_empty()).then_some(name)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

type Timings<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Timings<RouteLabel>,
    operations: Family<OperationLabels, Counter>,
    operation_seconds: Timings<OperationLabel>,
    db_connections: Family<StateLabel, Gauge>,
    reader_connections: Family<StateLabel, Gauge>,
    webhook_deliveries: Family<StateLabel, Gauge>,
    sockets: Gauge,
    subscriptions: Gauge,
    session_view_open: Gauge,
    session_view_entries: Gauge,
    rate_limited: Family<KindLabel, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("rx");
        let m = Metrics {
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(latency),
            operations: Family::default(),
            operation_seconds: Family::new_with_constructor(latency),
            db_connections: Family::default(),
            reader_connections: Family::default(),
            webhook_deliveries: Family::default(),
            sockets: Gauge::default(),
            subscriptions: Gauge::default(),
            session_view_open: Gauge::default(),
            session_view_entries: Gauge::default(),
            rate_limited: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests by route pattern, method and status",
            m.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route pattern",
            m.http_seconds.clone(),
        );
        registry.register(
            "graphql_operations",
            "GraphQL operations executed, by contract operation name and outcome (ok or the first error code)",
            m.operations.clone(),
        );
        registry.register(
            "graphql_operation_duration_seconds",
            "GraphQL operation latency by contract operation name",
            m.operation_seconds.clone(),
        );
        registry.register(
            "db_connections",
            "Database pool connections, in use and idle",
            m.db_connections.clone(),
        );
        registry.register(
            "db_reader_connections",
            "On SQLite, connections of the pool queries read through, in use and idle",
            m.reader_connections.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries waiting to be sent (pending) and given up (failed)",
            m.webhook_deliveries.clone(),
        );
        registry.register(
            "websocket_connections",
            "Open /graphql/ws connections",
            m.sockets.clone(),
        );
        registry.register(
            "subscriptions",
            "GraphQL subscriptions running",
            m.subscriptions.clone(),
        );
        registry.register(
            "session_view_open",
            "1 while remembered sessions are served (PostgreSQL: its listener up and the triggers in place; SQLite: its count of commits readable), else 0",
            m.session_view_open.clone(),
        );
        registry.register(
            "session_view_entries",
            "Sessions remembered now",
            m.session_view_entries.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit, by limit (ip, token, subscribe)",
            m.rate_limited.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    pub fn http(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_string(),
                method,
                status,
            })
            .inc();
        self.http_seconds
            .get_or_create(&RouteLabel {
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn operation(&self, operation: &'static str, outcome: &'static str, took: Duration) {
        self.operations
            .get_or_create(&OperationLabels { operation, outcome })
            .inc();
        self.operation_seconds
            .get_or_create(&OperationLabel { operation })
            .observe(took.as_secs_f64());
    }

    pub fn rate_limited(&self, kind: &'static str) {
        self.rate_limited.get_or_create(&KindLabel { kind }).inc();
    }

    /// A socket opened (+1) or closed (-1).
    pub fn sockets(&self, delta: i64) {
        self.sockets.inc_by(delta);
    }

    /// Subscriptions started (+n) or ended (-n).
    pub fn subscriptions(&self, delta: i64) {
        self.subscriptions.inc_by(delta);
    }

    /// Figures read at scrape time, then the text format.
    /// `readers`: the SQLite readers' pool, none on PostgreSQL; `sessions`:
    /// whether the session view serves, and its entries.
    pub fn render(
        &self,
        pool: (u32, u32),
        readers: Option<(u32, u32)>,
        webhooks: (i64, i64),
        sessions: (bool, usize),
    ) -> String {
        self.session_view_open.set(i64::from(sessions.0));
        self.session_view_entries
            .set(i64::try_from(sessions.1).unwrap_or(i64::MAX));
        let gauges = [
            (&self.db_connections, Some(pool)),
            (&self.reader_connections, readers),
        ];
        for (family, figures) in gauges {
            if let Some((in_use, idle)) = figures {
                family
                    .get_or_create(&StateLabel { state: "in_use" })
                    .set(i64::from(in_use));
                family
                    .get_or_create(&StateLabel { state: "idle" })
                    .set(i64::from(idle));
            }
        }
        self.webhook_deliveries
            .get_or_create(&StateLabel { state: "pending" })
            .set(webhooks.0);
        self.webhook_deliveries
            .get_or_create(&StateLabel { state: "failed" })
            .set(webhooks.1);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_names() {
        assert_eq!(leading_operation_name("query Me { me { id } }"), Some("Me"));
        assert_eq!(
            leading_operation_name("# a comment\n\n  mutation GiveReferral($i: X) { a }"),
            Some("GiveReferral")
        );
        assert_eq!(leading_operation_name("{ me { id } }"), None);
        assert_eq!(leading_operation_name("query { me { id } }"), None);
        assert_eq!(
            leading_operation_name("fragment F on Query { a } query Q { ...F }"),
            None
        );
        assert_eq!(leading_operation_name(""), None);
        assert_eq!(leading_operation_name("queryX Y"), None);
    }

    #[test]
    fn labels_stay_in_a_fixed_set() {
        assert_eq!(operation_label(Some("Me")), "Me");
        assert_eq!(operation_label(Some("Whatever I like")), "other");
        assert_eq!(operation_label(None), "anonymous");
        let m = Metrics::default();
        for i in 0..100 {
            m.operation(
                operation_label(Some(&format!("Junk{i}"))),
                "ok",
                Duration::ZERO,
            );
        }
        let text = m.render((1, 2), Some((5, 6)), (3, 4), (true, 7));
        assert_eq!(
            text.matches("rx_graphql_operations_total{").count(),
            1,
            "{text}"
        );
        assert!(
            text.contains(r#"rx_graphql_operations_total{operation="other",outcome="ok"} 100"#)
        );
        assert!(
            text.contains(r#"rx_db_connections{state="idle"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"rx_db_reader_connections{state="in_use"} 5"#),
            "{text}"
        );
        assert!(
            text.contains(r#"rx_webhook_deliveries{state="failed"} 4"#),
            "{text}"
        );
    }
}
