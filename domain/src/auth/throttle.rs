//! Password attempts per account (sign-in and password changes), counted in
//! memory with the `governor` crate's GCRA. The key is the account itself
//! (its member id, or the normalised email when no account has it), so the
//! budget holds whatever alias of the email is typed and from however many
//! addresses the attempts come.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::{DomainError, DomainResult};

pub struct AccountThrottle {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl AccountThrottle {
    /// `per_minute` attempts per account, all of which may come at once;
    /// 0 turns the throttle off.
    pub fn new(per_minute: u32) -> AccountThrottle {
        AccountThrottle {
            limiter: NonZeroU32::new(per_minute)
                .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Spends one attempt for `account`; `RATE_LIMITED` once they are spent.
    pub fn attempt(&self, account: &str) -> DomainResult<()> {
        match &self.limiter {
            Some(l) if l.check_key(&account.to_string()).is_err() => {
                tracing::warn!("password attempts throttled for an account");
                Err(DomainError::RateLimited)
            }
            _ => Ok(()),
        }
    }

    /// Forgets accounts whose budget has fully recovered (memory stays
    /// bounded by recently tried accounts).
    pub fn forget_idle(&self) {
        if let Some(l) = &self.limiter {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_has_its_own_budget() {
        let t = AccountThrottle::new(2);
        assert!(t.attempt("a").is_ok());
        assert!(t.attempt("a").is_ok());
        assert!(matches!(t.attempt("a"), Err(DomainError::RateLimited)));
        assert!(t.attempt("b").is_ok());
        let off = AccountThrottle::new(0);
        for _ in 0..100 {
            assert!(off.attempt("a").is_ok());
        }
    }
}
