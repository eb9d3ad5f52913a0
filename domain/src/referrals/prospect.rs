//! The prospect and the remarks every way of passing a referral carries,
//! checked field by field under the input's own paths.

use crate::error::{DomainError, DomainResult};
use crate::validation::{
    optional_email, optional_long_text, optional_phone, optional_text, required_text,
};

pub const NOTE_MAX: usize = 2000;

#[derive(Debug, Clone)]
pub struct ProspectData {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub need: Option<String>,
}

pub struct ProspectInputData {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub need: Option<String>,
}

/// Validates a prospect; `prefix` is the argument path, e.g. "input.prospect".
pub fn validate_prospect(prefix: &str, p: &ProspectInputData) -> DomainResult<ProspectData> {
    Ok(ProspectData {
        name: required_text(&format!("{prefix}.name"), &p.name, 200)?,
        email: optional_email(&format!("{prefix}.email"), p.email.as_deref())?
            .map(|e| e.as_str().to_string()),
        phone: optional_phone(&format!("{prefix}.phone"), p.phone.as_deref())?,
        company: optional_text(&format!("{prefix}.company"), p.company.as_deref(), 200)?,
        need: optional_long_text(&format!("{prefix}.need"), p.need.as_deref(), NOTE_MAX)?,
    })
}

/// What every way of passing a referral shares: the prospect, the
/// temperature and a note, checked under `input.*`.
pub fn validate_passed(
    prospect: &ProspectInputData,
    temperature: i32,
    note: Option<&str>,
) -> DomainResult<(ProspectData, i32, Option<String>)> {
    Ok((
        validate_prospect("input.prospect", prospect)?,
        validate_temperature("input.temperature", temperature)?,
        optional_long_text("input.note", note, NOTE_MAX)?,
    ))
}

pub fn validate_temperature(field: &str, t: i32) -> DomainResult<i32> {
    if (1..=5).contains(&t) {
        Ok(t)
    } else {
        Err(DomainError::bad_input(
            field,
            "temperature must be between 1 and 5",
        ))
    }
}
