use async_graphql::{Context, ID, Object};

use super::types::{
    ApiToken, ApiTokenInput, IssuedApiToken, MemberConnection, PartnerFirm, PartnerFirmInput,
    SubmitReferralInput,
};
use crate::error::ApiResult;
use crate::graphql::connection::IntoConnection;
use crate::graphql::connection::page_of;
use crate::graphql::context::{caller, state};
use crate::members::types::Member;
use crate::referrals::types::Referral;
use crate::webhooks::types::{
    RegisteredWebhook, Webhook, WebhookDelivery, WebhookDeliveryConnection, WebhookInput,
};
use domain::partners::service::{self, NewFirm, NewToken, SubmitInput};

#[derive(Default)]
pub struct PartnersQuery;

#[Object]
impl PartnersQuery {
    /// The calling partner firm (API token with REFERRALS_READ).
    async fn partner_firm(&self, ctx: &Context<'_>) -> ApiResult<PartnerFirm> {
        Ok(PartnerFirm(
            service::own_firm(state(ctx)?, caller(ctx)).await?,
        ))
    }

    /// Public profiles of the active members of the calling firm's group, by
    /// name (API token with DIRECTORY_READ). Never emails or phone numbers.
    async fn directory(
        &self,
        ctx: &Context<'_>,
        profession: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<MemberConnection> {
        let page = page_of(ctx, first, after.as_deref())?;
        let (rows, total) = service::directory(
            &state(ctx)?.reading().await,
            caller(ctx),
            profession.as_deref(),
            page,
        )
        .await?;
        Ok(page.connection(rows.into_iter().map(Member::from).collect(), total))
    }

    /// A firm's webhook deliveries, newest first, with every attempt.
    /// Leaders of the firm's group and admins.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        partner_firm_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<WebhookDeliveryConnection> {
        let page = page_of(ctx, first, after.as_deref())?;
        let (rows, total) =
            domain::webhooks::service::deliveries(state(ctx)?, caller(ctx), &partner_firm_id, page)
                .await?;
        Ok(page.connection(rows.into_iter().map(WebhookDelivery).collect(), total))
    }
}

#[derive(Default)]
pub struct PartnersMutation;

#[Object]
impl PartnersMutation {
    /// Leaders of the group and admins.
    async fn create_partner_firm(
        &self,
        ctx: &Context<'_>,
        input: PartnerFirmInput,
    ) -> ApiResult<PartnerFirm> {
        let new = NewFirm {
            group_id: input.group_id.0,
            name: input.name,
            contact_email: input.contact_email,
        };
        Ok(PartnerFirm(
            service::create_firm(state(ctx)?, caller(ctx), new).await?,
        ))
    }

    /// Leaders of the firm's group and admins. The secret is returned once
    /// and only its SHA-256 is stored.
    async fn issue_api_token(
        &self,
        ctx: &Context<'_>,
        input: ApiTokenInput,
    ) -> ApiResult<IssuedApiToken> {
        let new = NewToken {
            partner_firm_id: input.partner_firm_id.0,
            scopes: input.scopes.into_iter().map(Into::into).collect(),
            expires_at: input.expires_at,
        };
        let (token, secret) = service::issue_token(state(ctx)?, caller(ctx), new).await?;
        Ok(IssuedApiToken {
            secret,
            token: ApiToken(token),
        })
    }

    /// Takes effect on the token's next request. Leaders of the firm's group and admins.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiToken> {
        Ok(ApiToken(
            service::revoke_token(state(ctx)?, caller(ctx), &id).await?,
        ))
    }

    /// A partner firm (API token with REFERRALS_WRITE) refers business to an
    /// active member of its group. Channel PARTNER_API, made in absence.
    async fn submit_referral(
        &self,
        ctx: &Context<'_>,
        input: SubmitReferralInput,
    ) -> ApiResult<Referral> {
        let submit = SubmitInput {
            receiver_id: input.receiver_id.0,
            prospect: input.prospect.into(),
            temperature: input.temperature,
            note: input.note,
            idempotency_key: input.idempotency_key,
        };
        Ok(Referral::party(
            service::submit_referral(state(ctx)?, caller(ctx), submit).await?,
        ))
    }

    /// Registers an endpoint for a firm's events (referral.created,
    /// referral.status_changed, referral.thanked). The signing secret is
    /// returned once. Leaders of the firm's group and admins.
    async fn register_webhook(
        &self,
        ctx: &Context<'_>,
        input: WebhookInput,
    ) -> ApiResult<RegisteredWebhook> {
        let (endpoint, secret) = domain::webhooks::service::register(
            state(ctx)?,
            caller(ctx),
            &input.partner_firm_id,
            &input.url,
        )
        .await?;
        Ok(RegisteredWebhook {
            secret,
            webhook: Webhook(endpoint),
        })
    }

    /// Stops deliveries to an endpoint (pending ones are cancelled; the log stays).
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Webhook> {
        Ok(Webhook(
            domain::webhooks::service::delete(state(ctx)?, caller(ctx), &id).await?,
        ))
    }
}
