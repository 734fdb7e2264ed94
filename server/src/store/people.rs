//! Accounts, their role in the project, sessions, API tokens and the login throttle. The store
//! keeps digests and hashes only; making and checking secrets, and deciding when to lock a
//! login, is `crate::auth`'s job.

use app::people::{ApiToken, Role, User, UserPage};
use chrono::{DateTime, Utc};

use super::Result;

/// What an update of an account changes (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    /// End the account's sessions and revoke its API tokens, in the same transaction.
    pub end_credentials: bool,
}

/// A live session, as the request that carries its cookie needs it.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: User,
    pub csrf_token: String,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A token that is neither revoked nor its owner disabled (expiry is the caller's to check).
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: i64,
    pub user: User,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[async_trait::async_trait]
pub trait PeopleStore: Send + Sync {
    /// Adds an account with its role; a taken name is [`super::StoreError::Taken`].
    async fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<User>;

    async fn get_user(&self, name: &str) -> Result<Option<User>>;

    /// The account and its password hash, for a login.
    async fn user_credentials(&self, name: &str) -> Result<Option<(User, String)>>;

    /// Accounts by name, a page at a time.
    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<UserPage>;

    async fn has_users(&self) -> Result<bool>;

    /// Changes an account (and ends its credentials if the update says so).
    async fn update_user(
        &self,
        name: &str,
        update: &UserUpdate,
        now: DateTime<Utc>,
    ) -> Result<User>;

    /// Remembers the language the account chose for the UI (`en` or `zh-CN`).
    async fn set_language(&self, user_id: i64, language: &str) -> Result<()>;

    /// Starts a session (and forgets the ones that have ended).
    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;

    /// The session with this digest, if its account is enabled.
    async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>>;

    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()>;

    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<ApiToken>;

    /// The account's tokens that are not revoked, newest first.
    async fn tokens_of(&self, user_id: i64) -> Result<Vec<ApiToken>>;

    /// The name of the owner of a token that is not revoked.
    async fn token_owner(&self, id: i64) -> Result<Option<String>>;

    /// Revokes a token; false if there was none to revoke.
    async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;

    /// The live token with this digest.
    async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>>;

    async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<()>;

    /// The latest moment until which any of `keys` is locked, if one is locked now.
    async fn login_locked_until(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>>;

    /// Counts a failed login against `key` (failures older than `forget_after` no longer
    /// count) and returns how many there are now.
    async fn record_login_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        forget_after: chrono::Duration,
    ) -> Result<i64>;

    /// Locks logins for `key` until `until`.
    async fn lock_login(&self, key: &str, until: DateTime<Utc>) -> Result<()>;

    async fn clear_login_failures(&self, key: &str) -> Result<()>;
}
