//! Access tokens: HS256 JWTs with the algorithm pinned and `exp`, `nbf`,
//! `iss`, `aud`, `sub` required. A `typ` claim keeps any other token kind
//! from being accepted as an access token.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};

pub const ISSUER: &str = "referral-exchange";
pub const AUDIENCE: &str = "referral-exchange-portal";
const ACCESS_TYPE: &str = "access";
/// Report links are signed with the same key for another audience and
/// type, so neither kind of token is ever accepted as the other.
pub const REPORT_AUDIENCE: &str = "referral-exchange-report-link";
const REPORT_TYPE: &str = "report-link";

/// A short-lived link to one group's report page over one period, for the
/// member (and session) that asked for it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReportLinkClaims {
    pub sub: String,
    pub sid: String,
    pub grp: String,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    pub typ: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    pub typ: String,
    /// The refresh-token family (session) this access token belongs to.
    pub sid: String,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    report_validation: Validation,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 5;
        let mut report_validation = validation.clone();
        report_validation.set_audience(&[REPORT_AUDIENCE]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            report_validation,
            ttl_secs,
        }
    }

    pub fn issue(
        &self,
        member_id: &str,
        family_id: &str,
        now: DateTime<Utc>,
    ) -> DomainResult<(String, DateTime<Utc>)> {
        let expires_at = now + chrono::Duration::seconds(self.ttl_secs);
        let claims = Claims {
            sub: member_id.to_string(),
            exp: expires_at.timestamp(),
            nbf: now.timestamp(),
            iat: now.timestamp(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            typ: ACCESS_TYPE.into(),
            sid: family_id.to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(DomainError::internal)?;
        Ok((token, expires_at))
    }

    /// Every failure is the same `UNAUTHENTICATED` to the client; the reason
    /// is logged at debug level without the token itself.
    pub fn verify(&self, token: &str) -> DomainResult<Claims> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                tracing::debug!(reason = %e, "rejected access token");
                DomainError::Unauthenticated("invalid or expired access token".into())
            })?;
        if data.claims.typ != ACCESS_TYPE {
            return Err(DomainError::Unauthenticated("not an access token".into()));
        }
        Ok(data.claims)
    }
}

impl JwtKeys {
    /// Signs a report link valid for `ttl_secs`.
    pub fn issue_report_link(&self, claims: ReportLinkClaims) -> DomainResult<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(DomainError::internal)
    }

    /// Builds the claims of a report link.
    #[allow(clippy::too_many_arguments)]
    pub fn report_link_claims(
        member_id: &str,
        session_id: &str,
        group_id: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        now: DateTime<Utc>,
        ttl_secs: i64,
    ) -> ReportLinkClaims {
        ReportLinkClaims {
            sub: member_id.to_string(),
            sid: session_id.to_string(),
            grp: group_id.to_string(),
            from,
            to,
            exp: (now + chrono::Duration::seconds(ttl_secs)).timestamp(),
            nbf: now.timestamp(),
            iat: now.timestamp(),
            iss: ISSUER.into(),
            aud: REPORT_AUDIENCE.into(),
            typ: REPORT_TYPE.into(),
        }
    }

    /// Every failure is the same `UNAUTHENTICATED`; the link is never logged.
    pub fn verify_report_link(&self, token: &str) -> DomainResult<ReportLinkClaims> {
        let data = jsonwebtoken::decode::<ReportLinkClaims>(
            token,
            &self.decoding,
            &self.report_validation,
        )
        .map_err(|e| {
            tracing::debug!(reason = %e, "rejected report link");
            DomainError::Unauthenticated("invalid or expired report link".into())
        })?;
        if data.claims.typ != REPORT_TYPE {
            return Err(DomainError::Unauthenticated("not a report link".into()));
        }
        Ok(data.claims)
    }
}
