//! Application state shared by every request (no globals).

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::jwt::JwtKeys;
use crate::notifications::Notifier;
use crate::rate_limit::RateLimits;
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub jwt: JwtKeys,
    pub settings: Arc<Settings>,
    pub notifier: Notifier,
    pub rate_limits: Arc<RateLimits>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, settings: Settings) -> AppState {
        let jwt = JwtKeys::new(settings.jwt_secret_bytes(), settings.access_token_ttl_secs);
        let rate_limits = Arc::new(RateLimits::new(&settings.partners));
        AppState {
            db,
            jwt,
            rate_limits,
            settings: Arc::new(settings),
            notifier: Notifier::default(),
        }
    }
}
