//! GraphQL subscriptions over WebSocket (graphql-transport-ws) at
//! `/graphql/ws`. The `connection_init` payload carries
//! `{"Authorization": "Bearer <jwt>"}`; anonymous connections and partner
//! tokens are refused. The per-IP limit applies to the upgrade request.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::Data;
use async_graphql_actix_web::GraphQLSubscription;

use super::caller::{admit, identify};
use crate::error::ApiError;
use crate::graphql::AppSchema;
use crate::graphql::limits::WebSocketSession;
use crate::graphql::loaders::Loaders;
use crate::state::AppState;

/// graphql-transport-ws refuses a `connection_init` with a close frame that
/// carries only a reason, so the reason leads with the error code:
/// `UNAUTHENTICATED: sign in first`.
fn refusal(err: &ApiError) -> async_graphql::Error {
    err.0.log_if_internal();
    async_graphql::Error::new(format!("{}: {}", err.code(), err.message()))
}

pub async fn graphql_ws(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if let Err(refused) = admit(&state, req.peer_addr().map(|a| a.ip())) {
        return Ok(refused.response(StatusCode::TOO_MANY_REQUESTS));
    }
    let state = state.get_ref().clone();
    GraphQLSubscription::new(AppSchema::clone(&schema))
        .on_connection_init(move |value| {
            let state = state.clone();
            async move {
                let header = value
                    .get("Authorization")
                    .or_else(|| value.get("authorization"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                let caller = identify(&state, header.as_deref())
                    .await
                    .map_err(|refused| refusal(&refused.error()))?;
                // Sockets are for members' live pushes; partner tokens use HTTP,
                // where revocation and rate limits apply to every request.
                caller.member().map_err(|e| refusal(&ApiError::from(e)))?;
                let mut data = Data::default();
                data.insert(WebSocketSession);
                data.insert(Loaders::new(&state.ctx.db));
                data.insert(caller);
                data.insert(state);
                Ok(data)
            }
        })
        .start(&req, payload)
}
