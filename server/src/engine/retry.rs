//! What becomes of an instance after an attempt: success, an automatic retry after the node's
//! delay while retries are left, or failed for good.

use chrono::{DateTime, Duration, Utc};

use crate::store::{AfterAttempt, Outcome, RetryPolicy};

/// `used` is how many automatic retries the instance has had since its last scheduled or manual
/// start.
pub fn after_attempt(
    outcome: &Outcome,
    policy: RetryPolicy,
    used: u32,
    ended_at: DateTime<Utc>,
) -> AfterAttempt {
    match outcome {
        Outcome::Success => AfterAttempt::Succeeded,
        Outcome::Failed { .. } if used < policy.retries => {
            AfterAttempt::RetryAt(ended_at + Duration::seconds(policy.delay_secs.into()))
        }
        Outcome::Failed { .. } => AfterAttempt::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_retried_while_retries_are_left() {
        let at: DateTime<Utc> = "2026-12-02T01:00:00Z".parse().unwrap();
        let policy = RetryPolicy { retries: 2, delay_secs: 60 };
        let failed = Outcome::Failed { exit_code: Some(1), reason: "exited with code 1".into() };
        let retry_at = at + Duration::seconds(60);
        assert_eq!(after_attempt(&failed, policy, 0, at), AfterAttempt::RetryAt(retry_at));
        assert_eq!(after_attempt(&failed, policy, 1, at), AfterAttempt::RetryAt(retry_at));
        assert_eq!(after_attempt(&failed, policy, 2, at), AfterAttempt::Failed);
        assert_eq!(after_attempt(&Outcome::Success, policy, 2, at), AfterAttempt::Succeeded);
        let never = RetryPolicy { retries: 0, delay_secs: 60 };
        assert_eq!(after_attempt(&failed, never, 0, at), AfterAttempt::Failed);
    }
}
