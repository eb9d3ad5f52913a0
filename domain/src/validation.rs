//! Input checks shared by every domain: each failure names the offending
//! field in `extensions.field` and happens before anything is written.

use crate::error::{DomainError, DomainResult};

/// A trimmed, non-empty string of at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> DomainResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(DomainError::bad_input(
            field,
            format!("{field} must not be empty"),
        ));
    }
    check_len(field, trimmed, max)?;
    check_no_control(field, trimmed)?;
    Ok(trimmed.to_string())
}

/// Like `required_text`, but absent or blank becomes `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> DomainResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            check_len(field, v, max)?;
            check_no_control(field, v)?;
            Ok(Some(v.to_string()))
        }
    }
}

/// Long free text (briefs, notes): newlines and tabs allowed.
pub fn optional_long_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> DomainResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            check_len(field, v, max)?;
            if v.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                return Err(DomainError::bad_input(
                    field,
                    format!("{field} contains control characters"),
                ));
            }
            Ok(Some(v.to_string()))
        }
    }
}

fn check_len(field: &str, value: &str, max: usize) -> DomainResult<()> {
    if value.chars().count() > max {
        return Err(DomainError::bad_input(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(())
}

fn check_no_control(field: &str, value: &str) -> DomainResult<()> {
    if value.chars().any(char::is_control) {
        return Err(DomainError::bad_input(
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(())
}

/// An email address: one `@`, a non-empty local part, a dotted domain, no
/// spaces, at most 254 characters. Parsed once, so holders know it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> DomainResult<Email> {
        let value = raw.trim();
        let invalid =
            || DomainError::bad_input(field, format!("{field} is not a valid email address"));
        if value.is_empty()
            || value.len() > 254
            || value.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || local.len() > 64
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || domain.starts_with('-')
        {
            return Err(invalid());
        }
        Ok(Email(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups (case-insensitive).
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

pub fn optional_email(field: &str, value: Option<&str>) -> DomainResult<Option<Email>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => Email::parse(field, v).map(Some),
    }
}

/// A phone number: digits with the usual separators, 3 to 50 characters.
pub fn optional_phone(field: &str, value: Option<&str>) -> DomainResult<Option<String>> {
    let Some(v) = optional_text(field, value, 50)? else {
        return Ok(None);
    };
    let ok = v
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && v.chars().filter(char::is_ascii_digit).count() >= 3;
    if !ok {
        return Err(DomainError::bad_input(
            field,
            format!("{field} is not a valid phone number"),
        ));
    }
    Ok(Some(v))
}

/// An ID argument: must look like a UUID, otherwise it cannot name anything.
pub fn id(field: &str, value: &str) -> DomainResult<String> {
    uuid::Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| DomainError::bad_input(field, format!("{field} is not a valid ID")))
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("e", "ann@example.com").is_ok());
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "a b@x.com",
            "ann@x",
            "ann@@x.com",
            "ann@x..com",
            "ann@.x.com",
        ] {
            assert!(Email::parse("e", bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            Email::parse("e", "Ann@Example.COM").unwrap().normalized(),
            "ann@example.com"
        );
    }

    #[test]
    fn texts() {
        assert!(required_text("n", "  ", 10).is_err());
        assert_eq!(required_text("n", " a ", 10).unwrap(), "a");
        assert!(required_text("n", "abcdefghijk", 10).is_err());
        assert_eq!(optional_text("n", Some(""), 10).unwrap(), None);
    }
}
