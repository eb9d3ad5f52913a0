//! GraphQL subscriptions over WebSocket at `/graphql/ws` (graphql-transport-ws,
//! and the older graphql-ws). The `connection_init` payload carries
//! `{"Authorization": "Bearer <jwt>"}`; anonymous connections and partner
//! tokens are refused. The per-IP limit applies to the upgrade request and to
//! every `subscribe`.
//!
//! The socket loop is ours rather than a ready-made actor so that each
//! connection is bounded: a message size cap (continuations included), a
//! cap on subscriptions running at once, a deadline for `connection_init`, an
//! idle timeout, a bounded queue to the protocol engine (a fast sender is
//! simply not read until it drains), and a close when the access token the
//! socket was opened with expires.

use std::collections::HashSet;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use async_graphql::Data;
use async_graphql::http::{ClientMessage, WebSocket, WebSocketProtocols, WsMessage};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::caller::{admit, identify};
use crate::error::ApiError;
use crate::graphql::Served;
use crate::graphql::loaders::Loaders;
use crate::settings::WebSocketLimits;
use crate::state::AppState;

/// Client messages queued for the protocol engine before the socket stops
/// reading (backpressure, not buffering without end).
const QUEUE: usize = 16;

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
    schema: web::Data<Served>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let peer = req.peer_addr().map(|a| a.ip());
    if let Err(refused) = admit(&state, peer) {
        return Ok(refused.response(StatusCode::TOO_MANY_REQUESTS));
    }
    if *state.shutdown.borrow() {
        return Ok(HttpResponse::ServiceUnavailable()
            .json(ApiError::internal(anyhow::anyhow!("shutting down")).response_body()));
    }
    let Some(protocol) = protocol_of(&req) else {
        let err = ApiError::bad_input(
            "Sec-WebSocket-Protocol",
            "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws",
        );
        return Ok(HttpResponse::BadRequest().json(err.response_body()));
    };
    let (mut response, session, messages) = actix_ws::handle(&req, payload)?;
    response.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(protocol.sec_websocket_protocol()),
    );
    let limits = state.settings.websocket;
    let messages = messages
        .max_frame_size(limits.max_message_bytes)
        .aggregate_continuations()
        .max_continuation_size(limits.max_message_bytes);
    let connection = Connection {
        schema: schema.over_websocket(),
        state: state.get_ref().clone(),
        protocol,
        peer,
        limits,
    };
    actix_web::rt::spawn(connection.serve(session, messages));
    Ok(response)
}

fn protocol_of(req: &HttpRequest) -> Option<WebSocketProtocols> {
    req.headers()
        .get(SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
}

struct Connection {
    schema: Served,
    state: AppState,
    protocol: WebSocketProtocols,
    peer: Option<IpAddr>,
    limits: WebSocketLimits,
}

/// Why the loop ended: a close frame to send, or none (the client went).
type Ending = Option<(u16, String)>;

impl Connection {
    async fn serve(self, mut session: Session, mut messages: AggregatedMessageStream) {
        // When the token the socket signed in with expires; set by a
        // successful `connection_init`.
        let expires: Arc<Mutex<Option<Instant>>> = Arc::default();
        let (queue, queued) = mpsc::channel(QUEUE);
        let mut engine = Box::pin(
            WebSocket::from_message_stream(
                self.schema.clone(),
                ReceiverStream::new(queued),
                self.protocol,
            )
            .on_connection_init(self.initialiser(expires.clone())),
        );
        let opened = Instant::now();
        let init_deadline = opened + Duration::from_millis(self.limits.init_timeout_ms);
        let idle = Duration::from_millis(self.limits.idle_timeout_ms);
        let mut heartbeat = tokio::time::interval(idle / 3);
        heartbeat.tick().await;
        let mut last_heard = opened;
        let mut active = Subscriptions::default();
        // A client that stops reading fills the socket's buffer: a send
        // that cannot finish in this time ends the connection.
        let write = idle / 3;
        let metrics = self.state.metrics.clone();
        metrics.sockets(1);
        let mut shutdown = self.state.shutdown.subscribe();

        let ending: Ending = loop {
            let token_expiry = *expires.lock().unwrap_or_else(|e| e.into_inner());
            let (deadline, why) = match token_expiry {
                Some(at) => (
                    at,
                    (
                        4401,
                        "UNAUTHENTICATED: the access token has expired; reconnect with a new one",
                    ),
                ),
                None => (
                    init_deadline,
                    (
                        4408,
                        "UNAUTHENTICATED: connection_init did not come in time",
                    ),
                ),
            };
            tokio::select! {
                incoming = messages.recv(), if queue.capacity() > 0 => {
                    let message = match incoming {
                        None => break None,
                        Some(Err(e)) if too_big(&e) => {
                            break Some((1009, format!(
                                "BAD_USER_INPUT: a message may be at most {} bytes",
                                self.limits.max_message_bytes
                            )));
                        }
                        Some(Err(_)) => break Some((1002, "not a valid WebSocket frame".into())),
                        Some(Ok(message)) => message,
                    };
                    last_heard = Instant::now();
                    let bytes = match message {
                        AggregatedMessage::Text(text) => text.into_bytes(),
                        AggregatedMessage::Binary(bytes) => bytes,
                        AggregatedMessage::Ping(bytes) => {
                            if !sent(write, session.pong(&bytes)).await {
                                break None;
                            }
                            continue;
                        }
                        AggregatedMessage::Pong(_) => continue,
                        AggregatedMessage::Close(_) => break Some((1000, String::new())),
                    };
                    match self.admit_message(&bytes, &mut active) {
                        Admit::Forward(message) => {
                            // Cannot fail: one sender, and capacity was checked.
                            let _ = queue.try_send(message);
                        }
                        Admit::Answer(text) => {
                            if !sent(write, session.text(text)).await {
                                break None;
                            }
                        }
                        Admit::Close(code, reason) => break Some((code, reason)),
                    }
                }
                outgoing = engine.next() => match outgoing {
                    Some(WsMessage::Text(text)) => {
                        if let Some(id) = completed(&text)
                            && active.completed(&id)
                        {
                            metrics.subscriptions(-1);
                        }
                        if !sent(write, session.text(text)).await {
                            break None;
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => break Some((code, reason)),
                    None => break Some((1000, String::new())),
                },
                _ = shutdown.wait_for(|down| *down) => {
                    break Some((1001, "the server is shutting down; reconnect shortly".into()));
                }
                _ = tokio::time::sleep_until(deadline) => {
                    break Some((why.0, why.1.to_string()));
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() >= idle {
                        break Some((1001, "nothing heard from the client; closing".into()));
                    }
                    if !sent(write, session.ping(b"")).await {
                        break None;
                    }
                }
            }
        };
        // Dropping the engine ends every subscription stream of the socket.
        drop(engine);
        metrics.subscriptions(-(active.running.len() as i64));
        metrics.sockets(-1);
        let reason = ending.map(|(code, reason)| CloseReason {
            code: CloseCode::from(code),
            description: (!reason.is_empty()).then_some(reason),
        });
        let _ = tokio::time::timeout(write, session.close(reason)).await;
    }

    /// Checks one client message against the socket's limits.
    fn admit_message(
        &self,
        bytes: &[u8],
        active: &mut Subscriptions,
    ) -> Admit<serde_json::Result<ClientMessage>> {
        let message = ClientMessage::from_bytes(bytes);
        match &message {
            Ok(ClientMessage::Start { id, .. }) => {
                if active.running.contains(id) {
                    if self.protocol == WebSocketProtocols::GraphQLWS {
                        return Admit::Close(4409, format!("Subscriber for {id} already exists"));
                    }
                    return Admit::Forward(message);
                }
                if active.running.len() + active.stopping.len() >= self.limits.max_subscriptions {
                    self.state.metrics.rate_limited("subscribe");
                    return Admit::Answer(self.error(
                        id,
                        &format!(
                            "at most {} subscriptions may run on one connection; complete one first",
                            self.limits.max_subscriptions
                        ),
                    ));
                }
                if admit(&self.state, self.peer).is_err() {
                    return Admit::Answer(self.error(id, "too many requests; slow down"));
                }
                active.running.insert(id.clone());
                self.state.metrics.subscriptions(1);
            }
            // The client's own `complete`: the id is free to reuse at once;
            // the engine's echo of it is then not the new stream's end.
            Ok(ClientMessage::Stop { id }) if active.running.remove(id) => {
                active.stopping.insert(id.clone());
                self.state.metrics.subscriptions(-1);
            }
            _ => {}
        }
        Admit::Forward(message)
    }

    /// An `error` message for one subscription id, coded RATE_LIMITED.
    fn error(&self, id: &str, message: &str) -> String {
        let error = serde_json::json!({
            "message": message,
            "extensions": { "code": ApiError::rate_limited().code() },
        });
        let payload = match self.protocol {
            WebSocketProtocols::GraphQLWS => serde_json::json!([error]),
            WebSocketProtocols::SubscriptionsTransportWS => error,
        };
        serde_json::json!({ "type": "error", "id": id, "payload": payload }).to_string()
    }

    /// Signs the socket in from `connection_init` and notes when its token
    /// expires.
    fn initialiser(
        &self,
        expires: Arc<Mutex<Option<Instant>>>,
    ) -> impl FnOnce(
        serde_json::Value,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = async_graphql::Result<Data>> + Send>,
    > + Send
    + 'static {
        let state = self.state.clone();
        move |value| {
            Box::pin(async move {
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
                let member = caller.member().map_err(|e| refusal(&ApiError::from(e)))?;
                // A member signed in with a bearer token always has its expiry.
                let exp = member.token_expires_at.unwrap_or_default();
                let left = exp - chrono::Utc::now().timestamp();
                let at = Instant::now() + Duration::from_secs(left.max(0) as u64);
                *expires.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
                let mut data = Data::default();
                data.insert(Loaders::new(&state.ctx.db, state.settings.loader_delay()));
                data.insert(caller);
                data.insert(state);
                Ok(data)
            })
        }
    }
}

/// The subscription ids of a socket: running, and completed by the client
/// but not yet echoed by the engine (they count towards the limit until then).
#[derive(Default)]
struct Subscriptions {
    running: HashSet<String>,
    stopping: HashSet<String>,
}

impl Subscriptions {
    /// The engine completed `id`: whether a running subscription ended.
    fn completed(&mut self, id: &str) -> bool {
        if self.stopping.remove(id) {
            return false;
        }
        self.running.remove(id)
    }
}

/// Whether a send to the client finished in time.
async fn sent<E>(limit: Duration, send: impl std::future::Future<Output = Result<(), E>>) -> bool {
    matches!(tokio::time::timeout(limit, send).await, Ok(Ok(())))
}

enum Admit<M> {
    /// Hand the message to the protocol engine.
    Forward(M),
    /// Answer the client directly; the message goes no further.
    Answer(String),
    /// Close the socket.
    Close(u16, String),
}

/// Whether a frame error is a message over the cap: one frame (`Overflow`),
/// or continuations together (actix-ws reports those as an I/O error).
fn too_big(err: &actix_ws::ProtocolError) -> bool {
    match err {
        actix_ws::ProtocolError::Overflow => true,
        actix_ws::ProtocolError::Io(e) => e.to_string().contains("maximum continuation size"),
        _ => false,
    }
}

/// The id of a `complete` the engine sends (the tag is serialised first).
fn completed(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Complete {
        id: String,
    }
    if !text.starts_with(r#"{"type":"complete""#) {
        return None;
    }
    serde_json::from_str::<Complete>(text).ok().map(|c| c.id)
}
