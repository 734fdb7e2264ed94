//! Login throttling against password guessing. Failures are counted for the pair (account,
//! address), for the address, and for the account from everywhere. Past a few free failures a
//! key is locked for a time that doubles with each further failure, up to a ceiling; a locked
//! key refuses every login (right or wrong password) until the lock ends, so guessing costs time
//! whatever the guess. The pair and the address lock for up to 15 minutes; the account as a
//! whole only for seconds, so that nobody can lock somebody else out by failing on purpose
//! from elsewhere: the trade-off is that guessing one account from many addresses is slowed to
//! a try every few seconds, not stopped.

use chrono::Duration;

/// How one kind of key is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    /// Failures before the first lock.
    pub free: i64,
    /// The first lock; each further failure doubles it.
    pub first: Duration,
    pub max: Duration,
}

impl Lock {
    /// How long a key is locked after its `failures`-th failure.
    pub fn after(&self, failures: i64) -> Option<Duration> {
        let over = failures - self.free;
        if over < 0 {
            return None;
        }
        let doubled = self.first.num_milliseconds().saturating_mul(1i64 << over.min(30));
        Some(Duration::milliseconds(doubled.min(self.max.num_milliseconds())))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// One account from one address.
    pub pair: Lock,
    /// One address, whatever the accounts (higher: people share addresses).
    pub address: Lock,
    /// One account from everywhere: a short delay only.
    pub account: Lock,
    /// Failures older than this are forgotten.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        let minutes = Lock { free: 5, first: Duration::seconds(30), max: Duration::minutes(15) };
        ThrottlePolicy {
            pair: minutes,
            address: Lock { free: 20, ..minutes },
            account: Lock { free: 5, first: Duration::seconds(1), max: Duration::seconds(5) },
            forget_after: Duration::hours(1),
        }
    }
}

/// A key a login attempt counts against, with how it locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub key: String,
    pub lock: Lock,
}

impl ThrottlePolicy {
    /// The keys a login of `account` from `address` counts against.
    pub fn keys(&self, account: &str, address: Option<&str>) -> Vec<Key> {
        let address = address.unwrap_or("unknown");
        vec![
            Key { key: pair_key(account, address), lock: self.pair },
            Key { key: address_key(address), lock: self.address },
            Key { key: account_key(account), lock: self.account },
        ]
    }
}

/// The key of an account name. Stored as a digest: a name that matches no account may be a
/// password typed into the wrong field.
fn account_key(name: &str) -> String {
    format!("user:{}", super::secrets::digest(name))
}

fn pair_key(name: &str, address: &str) -> String {
    format!("pair:{}:{address}", super::secrets::digest(name))
}

fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_the_free_failures_and_double_up_to_the_ceiling() {
        let policy = ThrottlePolicy::default();
        let locks: Vec<Option<i64>> =
            (1..=12).map(|n| policy.pair.after(n).map(|d| d.num_seconds())).collect();
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
        assert_eq!(policy.pair.after(10_000), Some(Duration::minutes(15)));
        // The account from everywhere: seconds, never minutes.
        let account: Vec<Option<i64>> =
            (4..=9).map(|n| policy.account.after(n).map(|d| d.num_seconds())).collect();
        assert_eq!(account, [None, Some(1), Some(2), Some(4), Some(5), Some(5)]);
    }

    #[test]
    fn a_login_counts_against_the_pair_the_address_and_the_account() {
        let policy = ThrottlePolicy::default();
        let keys = policy.keys("admin", Some("10.0.0.7"));
        let names: Vec<&str> = keys.iter().map(|k| k.key.split(':').next().unwrap()).collect();
        assert_eq!(names, ["pair", "addr", "user"]);
        assert!(keys[0].key.ends_with(":10.0.0.7"));
        assert!(!keys[2].key.contains("admin"), "names are stored as digests");
    }
}
