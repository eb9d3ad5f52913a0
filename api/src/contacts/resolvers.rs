use async_graphql::{Context, Object};

use super::types::{Contact, ContactConnection, ContactInput, ContactUpdateInput};
use crate::error::ApiResult;
use crate::graphql::connection::IntoConnection;
use crate::graphql::connection::page_of;
use crate::graphql::context::{caller, state};
use domain::contacts::service::{self, ContactUpdate, NewContact};

#[derive(Default)]
pub struct ContactsQuery;

#[Object]
impl ContactsQuery {
    /// The caller's contacts, by name.
    async fn my_contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ContactConnection> {
        let page = page_of(ctx, first, after.as_deref())?;
        let (rows, total) = service::my_contacts(state(ctx)?, caller(ctx), page).await?;
        Ok(page.connection(rows.into_iter().map(Contact).collect(), total))
    }
}

#[derive(Default)]
pub struct ContactsMutation;

#[Object]
impl ContactsMutation {
    /// Adds a contact of the caller's; only they see its details.
    async fn add_contact(&self, ctx: &Context<'_>, input: ContactInput) -> ApiResult<Contact> {
        let new = NewContact {
            name: input.name,
            kind: input.kind.into(),
            email: input.email,
            phone: input.phone,
            company: input.company,
            nps_score: input.nps_score,
        };
        Ok(Contact(
            service::add_contact(state(ctx)?, caller(ctx), new).await?,
        ))
    }

    /// The owner edits a contact; a new npsScore (0-10) is appended to the
    /// history with today's date. Someone else's contact is NOT_FOUND.
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        input: ContactUpdateInput,
    ) -> ApiResult<Contact> {
        let update = ContactUpdate {
            contact_id: input.contact_id.0,
            name: input.name,
            kind: input.kind.map(Into::into),
            email: input.email,
            phone: input.phone,
            company: input.company,
            nps_score: input.nps_score,
        };
        Ok(Contact(
            service::update_contact(state(ctx)?, caller(ctx), update).await?,
        ))
    }
}
