use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::error::ApiResult;
use crate::graphql::context::{caller, state};
use crate::members::types::{Access, Member};
use domain::auth::service::{self, NewAccount};

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub name: String,
    pub profession: String,
    pub business_name: Option<String>,
    pub phone: Option<String>,
}

#[derive(SimpleObject)]
pub struct Session {
    /// Short-lived (15 minutes) JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Single-use: exchange it with `refreshSession` for a new pair.
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    pub member: Member,
}

#[derive(SimpleObject)]
pub struct RefreshedSession {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

impl From<service::IssuedSession> for Session {
    fn from(s: service::IssuedSession) -> Self {
        Session {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_at: s.expires_at,
            member: Member(s.member, Access::Own),
        }
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Creates an account and signs in. Password: at least 12 characters.
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> ApiResult<Session> {
        let account = NewAccount {
            email: input.email,
            password: input.password,
            name: input.name,
            profession: input.profession,
            business_name: input.business_name,
            phone: input.phone,
        };
        Ok(service::register(state(ctx)?, account).await?.into())
    }

    /// Wrong email or password: UNAUTHENTICATED with one message for both.
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> ApiResult<Session> {
        Ok(service::sign_in(state(ctx)?, &email, password)
            .await?
            .into())
    }

    /// Rotates the refresh token; reusing an old one revokes the session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> ApiResult<RefreshedSession> {
        let s = service::refresh(state(ctx)?, &refresh_token).await?;
        Ok(RefreshedSession {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_at: s.expires_at,
        })
    }

    /// A wrong current password is UNAUTHENTICATED and spends one of the
    /// account's password attempts, as a sign-in does. Every other session
    /// of the member is signed out; this one stays.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> ApiResult<bool> {
        let caller = caller(ctx);
        Ok(service::change_password(
            state(ctx)?,
            caller.member()?,
            current_password,
            new_password,
        )
        .await?)
    }

    /// Revokes the caller's current session (refresh-token family).
    async fn sign_out(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let caller = caller(ctx);
        Ok(service::sign_out(state(ctx)?, caller.member()?).await?)
    }
}
