//! Statement budgets per request (issue 13): what a portal's hottest
//! operations cost the database, independent of page size and group size.
//! Throughput is measured by the benchmarks (README, "Benchmarks"), not here.

use serde_json::json;

use crate::db_test;
use crate::helpers::*;

/// Statements the server sent while answering one contract operation.
async fn cost(app: &TestApp, token: &str, name: &str, variables: serde_json::Value) -> u64 {
    // A first run warms per-process caches (the document cache), which a
    // busy server has warm; the second is the one that counts.
    app.ok(Some(token), name, variables.clone()).await;
    let before = app.statements.get();
    app.ok(Some(token), name, variables).await;
    app.statements.get() - before
}

crate::db_test_with!(
    hot_operations_stay_within_their_statement_budgets,
    // The report as read, not as kept (`reports::a_kept_report…`).
    |s: &mut api::settings::Settings| s.report_cache_mib = 0,
    |app: TestApp| async move {
        api::cli::seed_demo(&app.settings.database_url)
            .await
            .expect("demo seeded");
        let (token, group) = app.demo_leader().await;
        let me = cost(&app, &token, "Me", json!({})).await;
        let page = |first: i64| json!({ "role": "RECEIVED", "first": first });
        let mine20 = cost(&app, &token, "MyReferrals", page(20)).await;
        let mine100 = cost(&app, &token, "MyReferrals", page(100)).await;
        let given = cost(
            &app,
            &token,
            "MyReferrals",
            json!({ "role": "GIVEN", "first": 50 }),
        )
        .await;
        // A page past the end counts the list with a statement of its own
        // (no row of the page carried the count): still within the budget.
        let whole = app.ok(Some(&token), "MyReferrals", page(100)).await;
        let whole = &whole["me"]["referrals"];
        let n = whole["totalCount"].as_i64().unwrap();
        assert!(n > 0 && n <= 100, "{whole:#}");
        let end = whole["pageInfo"]["endCursor"].clone();
        let past = cost(
            &app,
            &token,
            "MyReferrals",
            json!({ "role": "RECEIVED", "first": 20, "after": end }),
        )
        .await;
        let report = cost(
            &app,
            &token,
            "GroupReport",
            json!({ "groupId": group, "from": day(-365), "to": day(0) }),
        )
        .await;
        // The inbox since a year ago: authentication, its total with its
        // counts by reason, and a page with its givers: one statement each.
        let away = cost(
            &app,
            &token,
            "WhileYouWereAway",
            json!({ "since": format!("{}T00:00:00Z", day(-365)), "first": 20 }),
        )
        .await;
        eprintln!(
            "Me {me}, MyReferrals {mine20}/{mine100}/{given}/{past}, GroupReport {report}, WhileYouWereAway {away}"
        );
        assert!(away <= 3, "WhileYouWereAway cost {away} statements");
        assert!(me <= 3, "Me cost {me} statements");
        assert!(
            mine20 <= 3 && mine100 <= 3 && given <= 3 && past <= 3,
            "MyReferrals cost {mine20}/{mine100}/{given}/{past}"
        );
        assert!(report <= 6, "GroupReport cost {report} statements");
        // Exactly: authentication (none with the session remembered), the
        // seats with the caller's leadership, the figures, the lists and
        // the one-way pairs.
        assert_eq!(report, 4, "GroupReport");
    }
);

/// Connections the server's pools handed out while answering one request.
async fn checkouts(app: &TestApp, token: &str, name: &str, variables: serde_json::Value) -> u64 {
    let before = app.checkouts.get();
    app.ok(Some(token), name, variables).await;
    app.checkouts.get() - before
}

crate::db_test_with!(
    a_query_runs_on_one_connection_checked_out_once,
    // One connection in each pool: a request that needed a second while
    // holding one would wait for itself until the acquire timeout. The
    // webhook worker polls through the same pool; at this pace it does not
    // wake during the test (the one referral given has no webhook to send).
    |s: &mut api::settings::Settings| {
        s.db_pool_size = 1;
        s.sqlite_readers = 1;
        s.request_timeout_ms = 10_000;
        s.partners.webhook_poll_ms = 600_000;
        // The report as read (a kept one needs no connection).
        s.report_cache_mib = 0;
    },
    |app: TestApp| async move {
        api::cli::seed_demo(&app.settings.database_url)
            .await
            .expect("demo seeded");
        let (token, group) = app.demo_leader().await;
        let report = json!({ "groupId": group, "from": day(-365), "to": day(0) });
        let page = json!({ "role": "RECEIVED", "first": 20 });
        // Each twice: the first also fills the document cache.
        for _ in 0..2 {
            let me = checkouts(&app, &token, "Me", json!({})).await;
            let mine = checkouts(&app, &token, "MyReferrals", page.clone()).await;
            let whole = checkouts(&app, &token, "GroupReport", report.clone()).await;
            // Authentication and 2, 1 and 4 statements after it (3, 2 and
            // 5 in all), each of which checked a connection out before.
            assert_eq!((me, mine, whole), (1, 1, 1), "Me, MyReferrals, GroupReport");
        }
        // On PostgreSQL a mutation keeps the connection it was checked on
        // (a give needs no transaction there: 1); on SQLite it gives the
        // reader's back and writes through the writer's (the seats read
        // there and the transaction: 3). One after the other, never two at
        // once.
        let postgres = app.settings.database_url.starts_with("postgres");
        let c = crate::fixtures::chapter(&app, 2).await;
        let vars = crate::fixtures::give_vars(&c.members[1].id, "PORTAL", None);
        let before = app.checkouts.get();
        app.ok(Some(&c.members[0].token), "GiveReferral", vars)
            .await;
        let give = app.checkouts.get() - before;
        eprintln!("GiveReferral {give} checkouts");
        assert_eq!(give, if postgres { 1 } else { 3 }, "GiveReferral checkouts");
    }
);

db_test!(
    cached_documents_answer_like_fresh_ones_and_refusals_are_never_cached,
    |app: TestApp| async move {
        api::cli::seed_demo(&app.settings.database_url)
            .await
            .expect("demo seeded");
        let (token, _) = app.demo_leader().await;
        // The same text with other variables and another operation chosen:
        // the cached document serves both, each as asked.
        let doc = "query A($n: Int) { me { referrals(role: RECEIVED, first: $n) { edges { node { id } } } } }
                   query B { me { name } }";
        let send = |op: &'static str, vars: serde_json::Value| {
            let app = &app;
            let token = token.clone();
            async move {
                app.client
                    .post(app.url("/graphql"))
                    .bearer_auth(token)
                    .json(&json!({ "query": doc, "operationName": op, "variables": vars }))
                    .send()
                    .await
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            }
        };
        let one = send("A", json!({ "n": 1 })).await;
        let two = send("A", json!({ "n": 2 })).await;
        let named = send("B", json!({})).await;
        assert_eq!(
            one["data"]["me"]["referrals"]["edges"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            two["data"]["me"]["referrals"]["edges"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let me = app.ok(Some(&token), "Me", json!({})).await;
        assert_eq!(named["data"]["me"]["name"], me["me"]["name"], "{named:#}");
        // A document over the limits is refused every time it is sent.
        let deep = format!(
            "{{ me {{ {}name{} }} }}",
            "memberships { group { ".repeat(6),
            " } }".repeat(6)
        );
        for _ in 0..2 {
            let r = app.gql(Some(&token), &deep, json!({})).await;
            assert_eq!(code(&r), "BAD_USER_INPUT", "{r:#}");
        }
    }
);

db_test!(
    giving_a_referral_stays_within_its_statement_budget,
    |app: TestApp| async move {
        let c = crate::fixtures::chapter(&app, 3).await;
        let vars = crate::fixtures::give_vars(&c.members[1].id, "PORTAL", None);
        app.ok(Some(&c.members[0].token), "GiveReferral", vars.clone())
            .await;
        let before = app.statements.get();
        app.ok(Some(&c.members[0].token), "GiveReferral", vars.clone())
            .await;
        let give = app.statements.get() - before;
        eprintln!("GiveReferral {give}");
        // Authentication (on SQLite a read: the first give's commit emptied
        // the session view); both members' seats with the receiver's row
        // and day (their absence, a request of theirs to answer) in one
        // statement; the referral and its event: 4 on SQLite (in a
        // transaction). On PostgreSQL the session view remembers the
        // giver's session (no statement), and the writes and the pg_notify
        // that tells other servers are one statement, with no BEGIN or
        // COMMIT: 2. The answer's giver and receiver are the rows already
        // read.
        let postgres = app.settings.database_url.starts_with("postgres");
        assert_eq!(give, if postgres { 2 } else { 4 }, "GiveReferral");
        // Answering the receiver's request costs its update, no more (on
        // PostgreSQL, nothing more: it is part of the same statement).
        let request = crate::fixtures::ask_member(&app, &c.members[1], &c.members[0].id).await;
        let before = app.statements.get();
        let answer = app
            .ok(Some(&c.members[0].token), "GiveReferral", vars)
            .await;
        let give = app.statements.get() - before;
        assert_eq!(give, if postgres { 2 } else { 5 }, "GiveReferral answering");
        let id = answer["giveReferral"]["id"].as_str().unwrap().to_string();
        let row = app.referral_row(&id).await;
        assert_eq!(row.request_id, Some(request));
    }
);

crate::db_test_with!(
    a_report_asked_for_in_part_costs_less_and_gives_the_same_figures,
    // The report as read, not as kept (`reports::a_kept_report…`).
    |s: &mut api::settings::Settings| s.report_cache_mib = 0,
    |app: TestApp| async move {
        api::cli::seed_demo(&app.settings.database_url)
            .await
            .expect("demo seeded");
        let (token, group) = app.demo_leader().await;
        let vars = json!({ "groupId": group, "from": day(-365), "to": day(0) });
        let full = app.ok(Some(&token), "GroupReport", vars.clone()).await;
        let full = &full["groupReport"];
        assert!(
            !full["overdueFollowUps"].as_array().unwrap().is_empty(),
            "the demo has overdue follow-ups: {full:#}"
        );
        let row_ids = |report: &serde_json::Value, field: &str| -> Vec<serde_json::Value> {
            report["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| json!([r["member"]["id"], r[field]]))
                .collect()
        };

        // Only the referral columns: no meeting figures, pairs or lists.
        let narrow = "query R($groupId: ID!, $from: Date!, $to: Date!) {
            groupReport(groupId: $groupId, from: $from, to: $to) {
              totals { given received closedValue }
              rows { member { id } given received closedValueGiven closedValueReceived tenureDays }
              tenureBands { band members wonValue } } }";
        app.gql(Some(&token), narrow, vars.clone()).await;
        let before = app.statements.get();
        let got = app.gql(Some(&token), narrow, vars.clone()).await;
        let spent = app.statements.get() - before;
        assert!(got.get("errors").is_none(), "{got:#}");
        let got = &got["data"]["groupReport"];
        // Authentication (none with the session remembered), the seats
        // with the caller's leadership, and the referrals.
        assert_eq!(spent, 2, "a narrow report");
        for field in [
            "given",
            "received",
            "closedValueGiven",
            "closedValueReceived",
            "tenureDays",
        ] {
            assert_eq!(row_ids(got, field), row_ids(full, field), "{field}");
        }
        for field in ["given", "received", "closedValue"] {
            assert_eq!(got["totals"][field], full["totals"][field], "{field}");
        }
        let narrow_bands = got["tenureBands"].clone();

        // Asked through a fragment, the score is computed, not left at zero;
        // the lists asked alone are those of the full report.
        let parts = "query R($groupId: ID!, $from: Date!, $to: Date!) {
            groupReport(groupId: $groupId, from: $from, to: $to) {
              rows { ...Scored }
              overdueFollowUps { id nextFollowUpOn }
              unthankedWins { id closedValue }
              tenureBands { band members wonValue } } }
            fragment Scored on ReportRow { member { id } score trafficLight attendance { present absent late medical substitute } }";
        let got = app.gql(Some(&token), parts, vars).await;
        assert!(got.get("errors").is_none(), "{got:#}");
        let got = &got["data"]["groupReport"];
        assert_eq!(row_ids(got, "score"), row_ids(full, "score"));
        assert_eq!(row_ids(got, "trafficLight"), row_ids(full, "trafficLight"));
        assert_eq!(row_ids(got, "attendance"), row_ids(full, "attendance"));
        assert!(
            got["rows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["score"] != 0),
            "{got:#}"
        );
        assert_eq!(got["overdueFollowUps"], full["overdueFollowUps"]);
        assert_eq!(got["unthankedWins"], full["unthankedWins"]);
        assert_eq!(got["tenureBands"], narrow_bands);
        assert!(
            narrow_bands.as_array().unwrap().len() > 1,
            "{narrow_bands:#}"
        );
    }
);

db_test!(
    a_list_and_its_total_are_one_statement_and_agree_with_the_list_read_without_it,
    |app: TestApp| async move {
        // Leader and five members: six active seats.
        let c = crate::fixtures::chapter(&app, 5).await;
        let token = c.members[0].token.clone();
        let roster = |fields: &str| {
            format!(
                "query($g: ID!, $n: Int, $after: String) {{ group(id: $g) {{ members(first: $n, after: $after) {{
                   {fields} pageInfo {{ hasNextPage endCursor }} edges {{ node {{ member {{ id }} }} }} }} }} }}"
            )
        };
        let counted = roster("totalCount");
        let uncounted = roster("");
        // Asked through a fragment, the total is still counted.
        let in_fragment =
            roster("...Total") + " fragment Total on MembershipConnection { totalCount }";
        // One read, warmed first (the document cache), with what it cost.
        let read = |doc: String, vars: serde_json::Value| {
            let app = &app;
            let token = token.clone();
            async move {
                app.gql(Some(&token), &doc, vars.clone()).await;
                let before = app.statements.get();
                let got = app.gql(Some(&token), &doc, vars).await;
                let spent = app.statements.get() - before;
                assert!(got.get("errors").is_none(), "{got:#}");
                (got["data"]["group"]["members"].clone(), spent)
            }
        };
        let ids = |page: &serde_json::Value| -> Vec<String> {
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["member"]["id"].as_str().unwrap().to_string())
                .collect()
        };
        // The group alone: authentication, the group and the caller's seat.
        let bare = {
            let doc = "query($g: ID!) { group(id: $g) { id } }";
            let vars = json!({ "g": c.group });
            app.gql(Some(&token), doc, vars.clone()).await;
            let before = app.statements.get();
            app.gql(Some(&token), doc, vars).await;
            app.statements.get() - before
        };
        for n in [0, 1, 5, 6, 7] {
            let vars = json!({ "g": c.group, "n": n });
            let (with, with_cost) = read(counted.clone(), vars.clone()).await;
            let (without, without_cost) = read(uncounted.clone(), vars.clone()).await;
            let (fragment, fragment_cost) = read(in_fragment.clone(), vars).await;
            assert_eq!(with["totalCount"], 6, "first {n}: {with:#}");
            assert_eq!(fragment["totalCount"], 6, "first {n}: {fragment:#}");
            assert_eq!(fragment_cost, with_cost, "first {n}");
            // The same page and the same next-page answer.
            assert_eq!(ids(&without), ids(&with), "first {n}");
            assert_eq!(ids(&with).len(), n.min(6), "first {n}");
            let more = n < 6;
            assert_eq!(with["pageInfo"]["hasNextPage"], more, "first {n}: {with:#}");
            assert_eq!(
                without["pageInfo"]["hasNextPage"], more,
                "first {n}: {without:#}"
            );
            // The count rides in the page's statement (`first: 0`: the
            // count alone, or one row to see whether any exists).
            assert_eq!(without_cost, with_cost, "first {n}");
            // The seat check, the page (with its count) and, when there are
            // edges, their members.
            let roster = if n == 0 { 2 } else { 3 };
            assert_eq!(with_cost, bare + roster, "first {n}");
        }
        // Walked in pages of four without the total: every seat once, the
        // last page knows it is the last.
        let (first, _) = read(uncounted.clone(), json!({ "g": c.group, "n": 4 })).await;
        assert_eq!(first["pageInfo"]["hasNextPage"], true);
        let after = first["pageInfo"]["endCursor"].clone();
        let (second, _) = read(
            uncounted.clone(),
            json!({ "g": c.group, "n": 4, "after": after }),
        )
        .await;
        assert_eq!(second["pageInfo"]["hasNextPage"], false, "{second:#}");
        let (whole, _) = read(counted.clone(), json!({ "g": c.group, "n": 10 })).await;
        let mut walked = ids(&first);
        walked.extend(ids(&second));
        assert_eq!(walked, ids(&whole));
        // Past the end: nothing, and no next page.
        let after = second["pageInfo"]["endCursor"].clone();
        let (past, _) = read(
            uncounted,
            json!({ "g": c.group, "n": 4, "after": after.clone() }),
        )
        .await;
        assert!(ids(&past).is_empty(), "{past:#}");
        assert_eq!(past["pageInfo"]["hasNextPage"], false, "{past:#}");
        // Past the end with the total: no row carries it, so it is counted
        // on its own.
        let (past, _) = read(counted, json!({ "g": c.group, "n": 4, "after": after })).await;
        assert!(ids(&past).is_empty(), "{past:#}");
        assert_eq!(past["totalCount"], 6, "{past:#}");
    }
);

crate::db_test_with!(
    sign_ins_waiting_for_their_hash_hold_no_connection,
    // One connection in each pool and one hash at a time: a sign-in that
    // kept its connection while its hash waited and ran would make every
    // other request wait behind the whole queue of hashes.
    |s: &mut api::settings::Settings| {
        s.db_pool_size = 1;
        s.sqlite_readers = 1;
        s.password_hash_concurrency = 1;
        s.request_timeout_ms = 20_000;
        s.partners.webhook_poll_ms = 600_000;
    },
    |app: TestApp| async move {
        use std::time::{Duration, Instant};
        let (token, _) = app
            .register("queue@example.com", "Queue Tester", "Tester")
            .await;
        app.ok(Some(&token), "Me", json!({})).await;
        // One sign-in alone: about one hash.
        let mut alone = Duration::MAX;
        for _ in 0..2 {
            let at = Instant::now();
            let resp = app
                .sign_in("queue@example.com", crate::helpers::PASSWORD)
                .await;
            assert!(resp.get("errors").is_none(), "{resp:#}");
            alone = alone.min(at.elapsed());
        }
        let started = Instant::now();
        let signing = futures_util::future::join_all((0..8).map(|_| async {
            let resp = app
                .sign_in("queue@example.com", crate::helpers::PASSWORD)
                .await;
            assert!(resp.get("errors").is_none(), "{resp:#}");
            started.elapsed()
        }));
        let sent_after = Duration::from_millis(30);
        let me = async {
            tokio::time::sleep(sent_after).await;
            let at = Instant::now();
            app.ok(Some(&token), "Me", json!({})).await;
            at.elapsed()
        };
        let (signed, me_took) = tokio::join!(signing, me);
        // The eight hashes run one after the other. `Me`, sent once every
        // sign-in has read its member, must not wait for them: well under
        // three hashes' time (it waited about seven when a sign-in held its
        // connection while hashing).
        eprintln!("one sign-in {alone:?}; Me took {me_took:?}; sign-ins at {signed:?}");
        assert!(
            me_took < alone * 3,
            "Me took {me_took:?}, a sign-in alone {alone:?}: it waited for the hashes ({signed:?})"
        );
    }
);
