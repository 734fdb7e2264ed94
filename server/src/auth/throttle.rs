//! Login throttling against password guessing: failures are counted per account and per
//! address; past a few free failures the key is locked for a time that doubles with each further
//! failure, up to a ceiling. A locked key refuses every login (right or wrong password) until
//! the lock ends, so guessing costs time whatever the guess.

use chrono::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per account before the first lock.
    pub account_free: i64,
    /// Failures per address before the first lock (higher: people share addresses).
    pub address_free: i64,
    /// The first lock; each further failure doubles it.
    pub first_lock: Duration,
    pub max_lock: Duration,
    /// Failures older than this are forgotten.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            account_free: 5,
            address_free: 20,
            first_lock: Duration::seconds(30),
            max_lock: Duration::minutes(15),
            forget_after: Duration::hours(1),
        }
    }
}

impl ThrottlePolicy {
    /// How long a key is locked after its `failures`-th failure, with `free` failures allowed.
    pub fn lock_after(&self, failures: i64, free: i64) -> Option<Duration> {
        let over = failures - free;
        if over < 0 {
            return None;
        }
        let doubled = self.first_lock.num_seconds().saturating_mul(1i64 << over.min(30));
        Some(Duration::seconds(doubled.min(self.max_lock.num_seconds())))
    }
}

/// The key of an account name. Stored as a digest: a name that matches no account may be a
/// password typed into the wrong field.
pub fn account_key(name: &str) -> String {
    format!("user:{}", super::secrets::digest(name))
}

pub fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_the_free_failures_and_double_up_to_the_ceiling() {
        let policy = ThrottlePolicy::default();
        let locks: Vec<Option<i64>> =
            (1..=12).map(|n| policy.lock_after(n, 5).map(|d| d.num_seconds())).collect();
        assert_eq!(
            locks,
            [
                None,
                None,
                None,
                None,
                Some(30),
                Some(60),
                Some(120),
                Some(240),
                Some(480),
                Some(900),
                Some(900),
                Some(900)
            ]
        );
        assert_eq!(policy.lock_after(10_000, 5), Some(Duration::minutes(15)));
    }
}
