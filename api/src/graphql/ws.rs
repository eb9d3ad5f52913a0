//! GraphQL subscriptions over WebSocket (graphql-transport-ws) at
//! `/graphql/ws`. The `connection_init` payload carries
//! `{"Authorization": "Bearer <jwt>"}`; anonymous connections are refused.

use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::Data;
use async_graphql_actix_web::GraphQLSubscription;

use super::AppSchema;
use super::loaders::Loaders;
use crate::auth::{Viewer, viewer};
use crate::state::AppState;

pub async fn graphql_ws(
    req: HttpRequest,
    payload: web::Payload,
    schema: web::Data<AppSchema>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
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
                let viewer = viewer::resolve(&state, header.as_deref())
                    .await
                    .map_err(|e| async_graphql::Error::new(e.message()))?;
                // Sockets are for members' live pushes; partner tokens use HTTP,
                // where revocation and rate limits apply to every request.
                if !matches!(viewer, Viewer::Member(_)) {
                    return Err(async_graphql::Error::new(
                        "connection_init must carry an Authorization bearer token",
                    ));
                }
                let mut data = Data::default();
                data.insert(super::limits::WebSocketSession);
                data.insert(Loaders::new(&state.db));
                data.insert(viewer);
                data.insert(state);
                Ok(data)
            }
        })
        .start(&req, payload)
}
