//! The leader's printable report page: opened through a short-lived signed
//! link, rendered by headless Chromium from the demo chapter, its figures
//! checked against the GraphQL reports, a screenshot and a PDF kept under
//! `target/test-output/report-page/`.

use std::path::PathBuf;

use chrono::Datelike;
use serde_json::{Value, json};

use crate::db_test;
use crate::db_test_with;
use crate::helpers::{TestApp, code, day};

const LINK: &str = "mutation($g: ID!, $f: Date!, $t: Date!) {
    groupReportLink(groupId: $g, from: $f, to: $t) { path expiresAt } }";

/// Debian's Chromium, when the test command made it available. Without it
/// the browser checks skip loudly, unless the suite was told it must exist.
pub(crate) fn chromium() -> Option<String> {
    let found = std::env::var("RX_CHROMIUM").ok().or_else(|| {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .map(str::to_string)
    });
    if found.is_none() {
        assert!(
            std::env::var("RX_REQUIRE_CHROMIUM").is_err(),
            "RX_REQUIRE_CHROMIUM is set but Chromium was not found"
        );
        eprintln!(
            "\n*** SKIPPING the browser checks: Chromium is not installed (run the suite with scripts/test) ***\n"
        );
    }
    found
}

/// Runs headless Chromium once with `args` then `url`; returns its stdout.
async fn run_chromium(bin: &str, args: Vec<String>, url: String) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut all: Vec<String> = [
        "60",
        bin,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    all.push(format!("--user-data-dir={}", profile.path().display()));
    all.extend(args);
    all.push(url);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("timeout").args(&all).output()
    })
    .await
    .expect("join")
    .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn output_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("test-output")
        .join("report-page");
    std::fs::create_dir_all(&dir).expect("output dir");
    dir
}

/// The text inside the element that follows `marker` (the first `>` after
/// it up to the next `<`), with HTML entities for `&` undone.
fn text_after<'a>(html: &'a str, marker: &str) -> Option<&'a str> {
    let at = html.find(marker)?;
    let rest = &html[at + marker.len()..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(&rest[start..end])
}

/// The `data-field` cells of the element whose opening tag contains `key`,
/// up to its closing `</tr>`.
fn cells(html: &str, key: &str) -> Vec<(String, String)> {
    let Some(at) = html.find(key) else {
        return Vec::new();
    };
    let row = &html[at..];
    let row = &row[..row.find("</tr>").unwrap_or(row.len())];
    let mut out = Vec::new();
    let mut rest = row;
    while let Some(i) = rest.find("data-field=\"") {
        rest = &rest[i + 12..];
        let name_end = rest.find('"').unwrap();
        let name = rest[..name_end].to_string();
        let text = text_after(rest, "\"").unwrap_or_default();
        // The light is inside a span: take the span's text.
        let value = if text.is_empty() {
            text_after(&rest[1..], "<span").unwrap_or_default()
        } else {
            text
        };
        out.push((name, value.to_string()));
    }
    out
}

fn cell(cells: &[(String, String)], name: &str) -> String {
    cells
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no cell {name} in {cells:?}"))
}

fn months_between(from: chrono::NaiveDate, to: chrono::NaiveDate) -> usize {
    ((to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1) as usize
}

async fn demo_leader(app: &TestApp) -> (String, String) {
    api::cli::seed_demo(&app.settings.database_url)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    app.demo_leader().await
}

async fn link(app: &TestApp, token: &str, group: &str, from: &str, to: &str) -> Value {
    let token = Some(token).filter(|t| !t.is_empty());
    app.gql(token, LINK, json!({ "g": group, "f": from, "t": to }))
        .await
}

db_test!(leader_report_page_in_chromium, |app: TestApp| async move {
    let (token, group) = demo_leader(&app).await;
    let (from, to) = (day(-364), day(0));
    let r = link(&app, &token, &group, &from, &to).await;
    assert!(r.get("errors").is_none(), "{r:#}");
    let path = r["data"]["groupReportLink"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        path.starts_with(&format!("/reports/groups/{group}?")),
        "{path}"
    );
    assert!(!path.contains(&token), "never the access token in a URL");

    // Plain HTTP: the page is HTML, never cached, under a strict policy.
    let resp = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let served = resp.text().await.unwrap();
    assert!(!served.contains("<script"), "no script");
    assert!(
        !served.contains("http://") && !served.contains("https://"),
        "no external assets"
    );

    // What GraphQL says.
    let q = "query($g: ID!, $f: Date!, $t: Date!) {
            groupReport(groupId: $g, from: $f, to: $t) {
                totals { given received givenInAbsence closedValue oneToOnes visitors }
                rows { member { id name } given received closedValueReceived score trafficLight tenureDays }
                tenureBands { band members receivedPerWeek wonValue } }
            sourcesReport(groupId: $g, from: $f, to: $t) {
                total { received won }
                bySource { source conversion { received won lost open wonValue } } } }";
    let g = app
        .gql(Some(&token), q, json!({ "g": group, "f": from, "t": to }))
        .await;
    assert!(g.get("errors").is_none(), "{g:#}");
    let report = &g["data"]["groupReport"];

    let Some(bin) = chromium() else { return };
    let url = app.url(&path);
    let dom = run_chromium(&bin, vec!["--dump-dom".into()], url.clone()).await;
    assert!(
        dom.contains("id=\"members\""),
        "the browser rendered the page: {dom:.300}"
    );

    // The table: every row's figures, then the totals.
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 25);
    for row in rows {
        let id = row["member"]["id"].as_str().unwrap();
        let c = cells(&dom, &format!("data-member-id=\"{id}\""));
        assert_eq!(cell(&c, "name"), row["member"]["name"].as_str().unwrap());
        for (field, key) in [
            ("given", "given"),
            ("received", "received"),
            ("score", "score"),
            ("tenureDays", "tenureDays"),
        ] {
            assert_eq!(cell(&c, field), row[key].to_string(), "{field} of {id}");
        }
        assert_eq!(
            cell(&c, "closedValueReceived"),
            row["closedValueReceived"].as_str().unwrap()
        );
        assert_eq!(
            cell(&c, "trafficLight"),
            row["trafficLight"].as_str().unwrap()
        );
    }
    let lights: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r["trafficLight"].as_str().unwrap())
        .collect();
    assert!(lights.len() >= 3, "the lights show a spread: {lights:?}");
    let t = cells(&dom, "id=\"totals\"");
    let totals = &report["totals"];
    for field in [
        "given",
        "received",
        "givenInAbsence",
        "oneToOnes",
        "visitors",
    ] {
        assert_eq!(cell(&t, field), totals[field].to_string(), "total {field}");
    }
    assert_eq!(
        cell(&t, "closedValue"),
        totals["closedValue"].as_str().unwrap()
    );

    // The chart: one bar group per month of the period, adding up to
    // what the group's members received.
    let from_d: chrono::NaiveDate = from.parse().unwrap();
    let to_d: chrono::NaiveDate = to.parse().unwrap();
    let groups = dom.matches("class=\"month\"").count();
    assert_eq!(groups, months_between(from_d, to_d));
    let mut received = 0i64;
    let mut absent = 0i64;
    for part in dom.split("class=\"month\"").skip(1) {
        let attr = |name: &str| -> i64 {
            let key = format!("{name}=\"");
            let at = part.find(&key).unwrap() + key.len();
            part[at..at + part[at..].find('"').unwrap()]
                .parse()
                .unwrap()
        };
        received += attr("data-presence") + attr("data-absence");
        absent += attr("data-absence");
        assert_eq!(
            part.matches("<rect").count().min(2),
            2,
            "two bars per month"
        );
    }
    assert_eq!(received, totals["received"].as_i64().unwrap());
    assert!(absent > 0);

    // Sources and tenure bands.
    let sources = g["data"]["sourcesReport"]["bySource"].as_array().unwrap();
    assert!(sources.len() >= 3, "several kinds of source: {sources:#?}");
    for s in sources {
        let c = cells(
            &dom,
            &format!("data-source=\"{}\"", s["source"].as_str().unwrap()),
        );
        for field in ["received", "won", "lost", "open"] {
            assert_eq!(
                cell(&c, field),
                s["conversion"][field].to_string(),
                "{field} of {s}"
            );
        }
        assert_eq!(
            cell(&c, "wonValue"),
            s["conversion"]["wonValue"].as_str().unwrap()
        );
    }
    let bands = report["tenureBands"].as_array().unwrap();
    assert!(!bands.is_empty());
    for b in bands {
        // Serialisers differ on escaping "<" in attribute values.
        let band = b["band"].as_str().unwrap();
        let mut c = cells(&dom, &format!("data-band=\"{band}\""));
        if c.is_empty() {
            c = cells(
                &dom,
                &format!("data-band=\"{}\"", band.replace('<', "&lt;")),
            );
        }
        assert_eq!(cell(&c, "members"), b["members"].to_string());
        assert_eq!(cell(&c, "wonValue"), b["wonValue"].as_str().unwrap());
        assert_eq!(
            cell(&c, "receivedPerWeek"),
            format!("{:.2}", b["receivedPerWeek"].as_f64().unwrap())
        );
    }

    // A screenshot and an A4 print, kept for people to look at.
    let backend = if app.settings.database_url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let dir = output_dir();
    let png = dir.join(format!("group-report-{backend}.png"));
    let pdf = dir.join(format!("group-report-{backend}.pdf"));
    run_chromium(
        &bin,
        vec![
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2200".into(),
            "--hide-scrollbars".into(),
        ],
        url.clone(),
    )
    .await;
    run_chromium(
        &bin,
        vec![
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".into(),
        ],
        url,
    )
    .await;
    let png_bytes = std::fs::read(&png).expect("screenshot written");
    assert!(
        png_bytes.starts_with(b"\x89PNG") && png_bytes.len() > 10_000,
        "a real screenshot"
    );
    let pdf_bytes = std::fs::read(&pdf).expect("PDF written");
    assert!(
        pdf_bytes.starts_with(b"%PDF") && pdf_bytes.len() > 5_000,
        "a real PDF"
    );
    eprintln!(
        "report page screenshot: {}\nreport page PDF: {}",
        png.display(),
        pdf.display()
    );
});

/// The page's answer for a path: status and the error code it shows.
async fn open(app: &TestApp, path: &str) -> (u16, String) {
    let resp = app.client.get(app.url(path)).send().await.unwrap();
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let body = resp.text().await.unwrap();
    let code = body
        .find("data-code=\"")
        .map(|i| {
            let rest = &body[i + 11..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .unwrap_or_default();
    (status, code)
}

db_test_with!(
    report_links_are_scoped_and_short_lived,
    |s: &mut api::settings::Settings| {
        s.report_link_ttl_secs = 2;
    },
    |app: TestApp| async move {
        let c = app.chapter(&["Ann", "Bob"]).await;
        let other = app
            .ok(
                Some(&c.admin),
                "CreateGroup",
                json!({ "input": { "name": "Other Chapter", "currency": "EUR" } }),
            )
            .await;
        let other = other["createGroup"]["id"].as_str().unwrap().to_string();
        let (from, to) = (day(-30), day(0));

        // Who may ask for a link: leaders and admins; not members, partners or nobody.
        let r = link(&app, &c.members[0].token, &c.group, &from, &to).await;
        assert_eq!(code(&r), "FORBIDDEN", "{r:#}");
        let r = link(&app, "", &c.group, &from, &to).await;
        assert_eq!(code(&r), "UNAUTHENTICATED", "{r:#}");
        let r = link(&app, &c.leader.token, &c.group, &to, &from).await;
        assert_eq!(code(&r), "BAD_USER_INPUT", "{r:#}");
        let r = link(
            &app,
            &c.leader.token,
            "00000000-0000-0000-0000-000000000000",
            &from,
            &to,
        )
        .await;
        assert_eq!(code(&r), "NOT_FOUND", "{r:#}");
        let firm = crate::partners::firm(&app, &c, "Harbour Bank").await;
        let secret =
            crate::partners::token(&app, &c.leader.token, &firm, crate::partners::ALL_SCOPES).await;
        let r = link(&app, &secret, &c.group, &from, &to).await;
        assert_eq!(code(&r), "FORBIDDEN", "{r:#}");
        let r = link(&app, &c.admin, &c.group, &from, &to).await;
        assert!(r.get("errors").is_none(), "admins may: {r:#}");

        let r = link(&app, &c.leader.token, &c.group, &from, &to).await;
        let path = r["data"]["groupReportLink"]["path"]
            .as_str()
            .unwrap()
            .to_string();
        let expires: chrono::DateTime<chrono::Utc> = r["data"]["groupReportLink"]["expiresAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let left = expires - chrono::Utc::now();
        assert!(
            left <= chrono::Duration::seconds(2) && left > chrono::Duration::zero(),
            "{left}"
        );
        assert_eq!(open(&app, &path).await.0, 200);
        let token = path.split("link=").nth(1).unwrap().to_string();

        // Scoped: another group, another period, a changed token, none, or an
        // access token in its place are all refused.
        let q = |g: &str, f: &str, t: &str, l: &str| {
            format!("/reports/groups/{g}?from={f}&to={t}&link={l}")
        };
        assert_eq!(
            open(&app, &q(&other, &from, &to, &token)).await,
            (401, "UNAUTHENTICATED".into())
        );
        assert_eq!(
            open(&app, &q(&c.group, &day(-31), &to, &token)).await,
            (401, "UNAUTHENTICATED".into())
        );
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(
            open(&app, &q(&c.group, &from, &to, &tampered)).await,
            (401, "UNAUTHENTICATED".into())
        );
        assert_eq!(
            open(&app, &q(&c.group, &from, &to, &c.leader.token)).await,
            (401, "UNAUTHENTICATED".into())
        );
        assert_eq!(
            open(
                &app,
                &format!("/reports/groups/{}?from={from}&to={to}", c.group)
            )
            .await,
            (401, "UNAUTHENTICATED".into())
        );
        assert_eq!(
            open(
                &app,
                &format!(
                    "/reports/groups/{}?from=yesterday&to={to}&link={token}",
                    c.group
                )
            )
            .await,
            (400, "BAD_USER_INPUT".into())
        );
        // The CSV download is still there, beside the page.
        let csv = app
            .client
            .get(app.url(&format!(
                "/reports/groups/{}.csv?from={from}&to={to}",
                c.group
            )))
            .bearer_auth(&c.leader.token)
            .send()
            .await
            .unwrap();
        assert_eq!(csv.status(), 200);

        // Short-lived: gone after its lifetime (and the 5 s clock leeway).
        tokio::time::sleep(std::time::Duration::from_secs(8)).await;
        assert_eq!(open(&app, &path).await, (401, "UNAUTHENTICATED".into()));

        // A leader who steps down, or signs out, closes their links at once.
        let r = link(&app, &c.leader.token, &c.group, &from, &to).await;
        let fresh = r["data"]["groupReportLink"]["path"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(open(&app, &fresh).await.0, 200);
        app.ok(
            Some(&c.admin),
            "EndMembership",
            json!({ "groupId": c.group, "memberId": c.leader.id, "leftOn": day(0) }),
        )
        .await;
        assert_eq!(open(&app, &fresh).await, (403, "FORBIDDEN".into()));
        let r = link(&app, &c.admin, &c.group, &from, &to).await;
        let admins = r["data"]["groupReportLink"]["path"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(open(&app, &admins).await.0, 200);
        app.ok(Some(&c.admin), "SignOut", json!({})).await;
        assert_eq!(open(&app, &admins).await, (401, "UNAUTHENTICATED".into()));
    }
);
