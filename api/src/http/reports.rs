//! The group report as CSV: `GET /reports/groups/{id}.csv?from=…&to=…`,
//! with the same Bearer authentication and the same figures as GraphQL.

use actix_web::http::StatusCode;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;

use domain::DomainError;
use domain::reports::group_report::{Parts, Report, group_report};

use super::caller::{Identified, Refused};
use crate::error::ApiError;

#[derive(Deserialize)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
}

pub const HEADER: [&str; 22] = [
    "member_id",
    "name",
    "profession",
    "given",
    "given_inside_group",
    "given_outside",
    "received",
    "given_in_absence",
    "received_in_absence",
    "closed_value_given",
    "closed_value_received",
    "one_to_ones",
    "visitors",
    "present",
    "absent",
    "late",
    "medical",
    "substitute",
    "tenure_days",
    "score",
    "traffic_light",
    "group_hopping",
];

/// Plain HTTP statuses: a download has no GraphQL envelope to carry them.
pub fn status_of(err: &ApiError) -> StatusCode {
    match &err.0 {
        DomainError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
        DomainError::NotFound(_) | DomainError::NotFoundAt { .. } => StatusCode::NOT_FOUND,
        DomainError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
        DomainError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error(err: impl Into<ApiError>) -> HttpResponse {
    let err = err.into();
    HttpResponse::build(status_of(&err)).json(err.response_body())
}

pub fn date(field: &str, raw: Option<&str>) -> Result<NaiveDate, ApiError> {
    let raw =
        raw.ok_or_else(|| ApiError::bad_input(field, format!("{field} is required (YYYY-MM-DD)")))?;
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 10)
        .ok_or_else(|| {
            ApiError::bad_input(
                field,
                format!("{field} is not a date in the form YYYY-MM-DD"),
            )
        })
}

pub async fn group_report_csv(
    caller: Result<Identified, Refused>,
    path: web::Path<String>,
    query: web::Query<Period>,
) -> HttpResponse {
    let Some(group_id) = path.strip_suffix(".csv").map(str::to_string) else {
        return error(ApiError::not_found("report"));
    };
    let (caller, state) = match caller {
        Ok(Identified(caller, state)) => (caller, state),
        Err(refused) => return refused.response(status_of(&refused.error())),
    };
    let (from, to) = match (
        date("from", query.from.as_deref()),
        date("to", query.to.as_deref()),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return error(e),
    };
    let report = match group_report(
        &state.reading().await,
        &caller,
        &group_id,
        from,
        to,
        Parts::ALL,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    match render(&report) {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::Filename(format!(
                    "group-report-{from}-{to}.csv"
                ))],
            })
            .body(body),
        Err(e) => error(e),
    }
}

/// Text a spreadsheet would run as a formula (a cell starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) gets a leading apostrophe, so
/// it opens as text (OWASP's advice for CSV injection). Members choose
/// their own names and professions.
pub fn spreadsheet_safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// One header row, then one row per member, quoted as RFC 4180 requires.
pub fn render(report: &Report) -> Result<Vec<u8>, ApiError> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADER).map_err(ApiError::internal)?;
    for r in &report.rows {
        let a = &r.attendance;
        writer
            .write_record([
                r.member.id.clone(),
                spreadsheet_safe(&r.member.name),
                spreadsheet_safe(&r.member.profession),
                r.given.to_string(),
                r.given_inside_group.to_string(),
                r.given_outside.to_string(),
                r.received.to_string(),
                r.given_in_absence.to_string(),
                r.received_in_absence.to_string(),
                r.closed_value_given.to_string(),
                r.closed_value_received.to_string(),
                r.one_to_ones.to_string(),
                r.visitors.to_string(),
                a.present.to_string(),
                a.absent.to_string(),
                a.late.to_string(),
                a.medical.to_string(),
                a.substitute.to_string(),
                r.tenure_days.to_string(),
                r.score.total().to_string(),
                r.traffic_light.as_str().to_string(),
                r.group_hopping.to_string(),
            ])
            .map_err(ApiError::internal)?;
    }
    writer
        .into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_open_as_text() {
        for risky in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(risky), format!("'{risky}"));
        }
        for plain in ["Ada Lovelace", "O'Brien", "", "1-2-1 coach"] {
            assert_eq!(spreadsheet_safe(plain), plain);
        }
    }
}
