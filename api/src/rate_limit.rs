//! Request rate limits per client IP and per API token (the `governor`
//! crate's GCRA, in memory per server process). A refused request gets
//! HTTP 429 and `RATE_LIMITED` from the HTTP handler.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::settings::PartnerSettings;

pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_token: Option<DefaultKeyedRateLimiter<String>>,
}

/// How long the client should wait before trying again.
#[derive(Debug, Clone, Copy)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for the `Retry-After` header, at least 1.
    pub fn seconds(self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

fn limiter<K: Clone + std::hash::Hash + Eq>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    // Burst = the per-minute figure: a client may spend its minute at once.
    NonZeroU32::new(per_minute).map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)))
}

fn check<K: Clone + std::hash::Hash + Eq>(
    limiter: Option<&DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> Result<(), RetryAfter> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter
        .check_key(key)
        .map_err(|not_until| RetryAfter(not_until.wait_time_from(limiter.clock().now())))
}

impl RateLimits {
    pub fn new(settings: &PartnerSettings) -> RateLimits {
        RateLimits {
            per_ip: limiter(settings.rate_limit_per_ip_per_minute),
            per_token: limiter(settings.rate_limit_per_token_per_minute),
        }
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        check(self.per_ip.as_ref(), &ip)
    }

    pub fn check_token(&self, token_id: &str) -> Result<(), RetryAfter> {
        check(self.per_token.as_ref(), &token_id.to_string())
    }

    /// Forgets keys whose limit has fully recovered, so memory stays bounded
    /// by recently active clients. Called periodically.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_ip {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_token {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_quota_per_key() {
        let mut settings = crate::settings::Settings::for_database("sqlite::memory:").partners;
        settings.rate_limit_per_token_per_minute = 2;
        let limits = RateLimits::new(&settings);
        assert!(limits.check_token("a").is_ok());
        assert!(limits.check_token("a").is_ok());
        let retry = limits.check_token("a").unwrap_err();
        assert!(retry.seconds() >= 1 && retry.seconds() <= 60);
        assert!(limits.check_token("b").is_ok(), "keys are independent");
        assert!(
            limits.check_ip("127.0.0.1".parse().unwrap()).is_ok(),
            "0 means unlimited"
        );
    }
}
