//! The leader's report page: `GET /reports/groups/{id}?from=…&to=…&link=…`,
//! a self-contained HTML document (no external assets, no script) that
//! prints on A4. The `link` is a short-lived signed token from the
//! `groupReportLink` mutation — never an access token. The page is built
//! from the same domain service as the GraphQL reports.

use std::fmt::Write as _;
use std::sync::OnceLock;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use domain::reports::leader_page::{self, LeaderPage};
use domain::reports::network::MonthFlow;

use super::caller::admit;
use super::reports::{date, status_of};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PageQuery {
    from: Option<String>,
    to: Option<String>,
    link: Option<String>,
}

/// The page's only style sheet; the Content-Security-Policy allows exactly
/// this text by its hash, and nothing else at all.
const CSS: &str = "\
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font: 10pt/1.35 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1a202c; margin: 16px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 18pt; margin: 0 0 2px; }
h2 { font-size: 12pt; margin: 18px 0 6px; border-bottom: 1px solid #cbd5e0; padding-bottom: 2px; }
p.sub { margin: 0; color: #4a5568; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
th, td { border: 1px solid #e2e8f0; padding: 2px 4px; text-align: right; }
th { background: #edf2f7; }
td.text, th.text { text-align: left; }
tfoot td { font-weight: bold; background: #f7fafc; }
.light { display: inline-block; min-width: 52px; padding: 0 4px; border-radius: 3px; color: #fff; text-align: center; font-weight: bold; }
.GREEN { background: #2f855a; }
.AMBER { background: #d69e2e; }
.RED { background: #c53030; }
.GREY { background: #718096; }
.cols { display: flex; gap: 16px; }
.cols > section { flex: 1; }
svg { width: 100%; height: auto; }
section { break-inside: avoid; }
tr { break-inside: avoid; }
";

fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(CSS.as_bytes()));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; img-src 'none'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
    })
}

/// Text for HTML element content and quoted attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Headers every answer of this route carries, error pages included.
fn page(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", csp()))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("X-Frame-Options", "DENY"))
        .body(body)
}

fn error_page(err: ApiError) -> HttpResponse {
    err.0.log_if_internal();
    let status = status_of(&err);
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Report unavailable</title>\
         <style>{CSS}</style></head><body><h1>Report unavailable</h1><p class=\"sub\" data-code=\"{}\">{}</p>\
         <p>Ask for a new link from your portal.</p></body></html>",
        esc(err.code()),
        esc(&err.0.message()),
    );
    page(status, body)
}

pub async fn report_page(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Err(refused) = admit(&state, req.peer_addr().map(|a| a.ip())) {
        return refused.response(StatusCode::TOO_MANY_REQUESTS);
    }
    let (from, to) = match (
        date("from", query.from.as_deref()),
        date("to", query.to.as_deref()),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return error_page(e),
    };
    let Some(link) = query.link.as_deref().filter(|l| !l.is_empty()) else {
        return error_page(ApiError::unauthenticated(
            "open this page through a report link from your portal",
        ));
    };
    // One connection for the page's statements, as for any request.
    match leader_page::open(&state.for_request().reading().await, link, &path, from, to).await {
        Ok(p) => page(StatusCode::OK, render(&p)),
        Err(e) => error_page(e.into()),
    }
}

/// The whole document.
pub fn render(p: &LeaderPage) -> String {
    let r = &p.report;
    let mut h = String::with_capacity(32 * 1024);
    let title = format!("{} — group report {} to {}", p.group.name, r.from, r.to);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body>\
         <header><h1>{}</h1><p class=\"sub\">Group report from <span id=\"from\">{}</span> to \
         <span id=\"to\">{}</span> · values in {}</p></header>",
        esc(&title),
        esc(&p.group.name),
        r.from,
        r.to,
        esc(&p.group.currency),
    );
    members_table(&mut h, p);
    chart(&mut h, &p.months);
    h.push_str("<div class=\"cols\">");
    sources(&mut h, p);
    tenure(&mut h, p);
    h.push_str("</div></body></html>");
    h
}

fn members_table(h: &mut String, p: &LeaderPage) {
    let r = &p.report;
    h.push_str(
        "<section id=\"members\"><h2>Members</h2><table><thead><tr>\
         <th class=\"text\">Member</th><th class=\"text\">Profession</th>\
         <th>Given</th><th>Inside</th><th>Outside</th><th>Received</th>\
         <th>Given in absence</th><th>Received in absence</th>\
         <th>Closed given</th><th>Closed received</th><th>1-2-1s</th><th>Visitors</th>\
         <th>P</th><th>A</th><th>L</th><th>M</th><th>S</th>\
         <th>Tenure (days)</th><th>Score</th><th class=\"text\">Light</th></tr></thead><tbody>",
    );
    for row in &r.rows {
        let a = &row.attendance;
        let light = row.traffic_light.as_str();
        let _ = write!(
            h,
            "<tr data-member-id=\"{}\"><td class=\"text\" data-field=\"name\">{}</td>\
             <td class=\"text\" data-field=\"profession\">{}</td>",
            esc(&row.member.id),
            esc(&row.member.name),
            esc(&row.member.profession),
        );
        for (field, value) in [
            ("given", row.given.to_string()),
            ("givenInsideGroup", row.given_inside_group.to_string()),
            ("givenOutside", row.given_outside.to_string()),
            ("received", row.received.to_string()),
            ("givenInAbsence", row.given_in_absence.to_string()),
            ("receivedInAbsence", row.received_in_absence.to_string()),
            ("closedValueGiven", row.closed_value_given.to_string()),
            ("closedValueReceived", row.closed_value_received.to_string()),
            ("oneToOnes", row.one_to_ones.to_string()),
            ("visitors", row.visitors.to_string()),
            ("present", a.present.to_string()),
            ("absent", a.absent.to_string()),
            ("late", a.late.to_string()),
            ("medical", a.medical.to_string()),
            ("substitute", a.substitute.to_string()),
            ("tenureDays", row.tenure_days.to_string()),
            ("score", row.score.total().to_string()),
        ] {
            let _ = write!(h, "<td data-field=\"{field}\">{value}</td>");
        }
        let _ = write!(
            h,
            "<td class=\"text\" data-field=\"trafficLight\"><span class=\"light {light}\">{light}</span></td></tr>"
        );
    }
    let t = &r.totals;
    let _ = write!(
        h,
        "</tbody><tfoot><tr id=\"totals\"><td class=\"text\" colspan=\"2\">Totals</td>\
         <td data-field=\"given\">{}</td><td colspan=\"2\"></td><td data-field=\"received\">{}</td>\
         <td data-field=\"givenInAbsence\">{}</td><td></td><td data-field=\"closedValue\">{}</td><td></td>\
         <td data-field=\"oneToOnes\">{}</td><td data-field=\"visitors\">{}</td><td colspan=\"8\"></td></tr>\
         </tfoot></table></section>",
        t.given, t.received, t.given_in_absence, t.closed_value, t.one_to_ones, t.visitors,
    );
}

/// Bars of referrals received in presence and in absence, one group per
/// month, drawn on the server (presentation attributes only: the CSP
/// allows no inline style attributes).
fn chart(h: &mut String, months: &[MonthFlow]) {
    const W: f64 = 720.0;
    const H: f64 = 240.0;
    const LEFT: f64 = 36.0;
    const BOTTOM: f64 = 28.0;
    const TOP: f64 = 24.0;
    let max = months
        .iter()
        .map(|m| m.received_in_presence.max(m.received_in_absence))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = months.len().max(1) as f64;
    let slot = (W - LEFT - 8.0) / n;
    let bar = (slot * 0.38).max(1.0);
    let plot = H - BOTTOM - TOP;
    let _ = write!(
        h,
        "<section id=\"chart\"><h2>Referrals received in presence and in absence, by month</h2>\
         <svg viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-label=\"Referrals received per month, in presence and in absence\">\
         <rect x=\"{LEFT}\" y=\"4\" width=\"10\" height=\"10\" fill=\"#2b6cb0\"/>\
         <text x=\"{}\" y=\"13\" font-size=\"10\">in presence</text>\
         <rect x=\"{}\" y=\"4\" width=\"10\" height=\"10\" fill=\"#dd6b20\"/>\
         <text x=\"{}\" y=\"13\" font-size=\"10\">in absence</text>\
         <line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#a0aec0\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"9\" text-anchor=\"end\">{max}</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"9\" text-anchor=\"end\">0</text>",
        LEFT + 14.0,
        LEFT + 90.0,
        LEFT + 104.0,
        H - BOTTOM,
        W - 8.0,
        H - BOTTOM,
        LEFT - 4.0,
        TOP + 8.0,
        LEFT - 4.0,
        H - BOTTOM,
    );
    for (i, m) in months.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.1;
        let hp = plot * m.received_in_presence as f64 / max;
        let ha = plot * m.received_in_absence as f64 / max;
        let label = m.month.get(2..).unwrap_or(&m.month);
        let _ = write!(
            h,
            "<g class=\"month\" data-month=\"{}\" data-presence=\"{}\" data-absence=\"{}\">\
             <rect class=\"presence\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{hp:.1}\" fill=\"#2b6cb0\"/>\
             <rect class=\"absence\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{ha:.1}\" fill=\"#dd6b20\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"8\" text-anchor=\"middle\">{}</text></g>",
            esc(&m.month),
            m.received_in_presence,
            m.received_in_absence,
            H - BOTTOM - hp,
            x + bar,
            H - BOTTOM - ha,
            x + bar,
            H - BOTTOM + 12.0,
            esc(label),
        );
    }
    h.push_str("</svg></section>");
}

fn conversion_row(
    h: &mut String,
    key: &str,
    label: &str,
    c: &domain::insights::sources::Conversion,
) {
    let median = c
        .median_days_to_win
        .map_or_else(|| "—".to_string(), |d| format!("{d:.1}"));
    let _ = write!(
        h,
        "<tr data-source=\"{}\"><td class=\"text\">{}</td><td data-field=\"received\">{}</td>\
         <td data-field=\"won\">{}</td><td data-field=\"lost\">{}</td><td data-field=\"open\">{}</td>\
         <td data-field=\"conversionRate\">{:.0}%</td><td data-field=\"wonValue\">{}</td>\
         <td data-field=\"medianDaysToWin\">{}</td></tr>",
        esc(key),
        esc(label),
        c.received,
        c.won,
        c.lost,
        c.open,
        c.conversion_rate() * 100.0,
        c.won_value,
        median,
    );
}

fn sources(h: &mut String, p: &LeaderPage) {
    use domain::insights::sources::SourceKind;
    h.push_str(
        "<section id=\"sources\"><h2>Where referrals come from</h2><table><thead><tr>\
         <th class=\"text\">Source</th><th>Received</th><th>Won</th><th>Lost</th><th>Open</th>\
         <th>Conversion</th><th>Won value</th><th>Median days to win</th></tr></thead><tbody>",
    );
    for (kind, c) in &p.sources.by_source {
        let (key, label) = match kind {
            SourceKind::Member => ("MEMBER", "Fellow members"),
            SourceKind::PartnerFirm => ("PARTNER_FIRM", "Partner firms"),
            SourceKind::Client => ("CLIENT", "Clients"),
            SourceKind::Professional => ("PROFESSIONAL", "Outside professionals"),
            SourceKind::OtherContact => ("OTHER_CONTACT", "Other contacts"),
        };
        conversion_row(h, key, label, c);
    }
    h.push_str("</tbody><tfoot>");
    conversion_row(h, "TOTAL", "Total", &p.sources.total);
    h.push_str("</tfoot></table></section>");
}

fn tenure(h: &mut String, p: &LeaderPage) {
    h.push_str(
        "<section id=\"tenure\"><h2>Does time in the group pay?</h2><table><thead><tr>\
         <th class=\"text\">Tenure</th><th>Members</th><th>Received per member per week</th>\
         <th>Won value received</th></tr></thead><tbody>",
    );
    for b in &p.tenure_bands {
        let _ = write!(
            h,
            "<tr data-band=\"{}\"><td class=\"text\">{}</td><td data-field=\"members\">{}</td>\
             <td data-field=\"receivedPerWeek\">{:.2}</td><td data-field=\"wonValue\">{}</td></tr>",
            esc(b.band),
            esc(b.band),
            b.members,
            b.received_per_week,
            b.won_value,
        );
    }
    h.push_str("</tbody></table></section>");
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_in_text_and_attributes() {
        assert_eq!(
            esc("<b a=\"x\">Tom & 'Jo'</b>"),
            "&lt;b a=&quot;x&quot;&gt;Tom &amp; &#39;Jo&#39;&lt;/b&gt;"
        );
    }
}
