//! People: logging in and out, who a request comes from (a session cookie or an API token), and
//! the mechanics of accounts and tokens (hashing, digests, their audit entries). Who may manage
//! them is decided by the service with `app::rules`; this module only establishes identities and
//! carries out what was allowed.

pub mod secrets;
pub mod throttle;

use app::audit::AuditOutcome;
use app::error::AppError;
use app::lang::Locale;
use app::people::{
    Actor, ApiToken, CreatedToken, DEMO_ACCOUNTS, NewToken, NewUser, User, UserChange, UserPage,
    check_password, check_user_name,
};
use app::reason::{Reason, Thing};
use chrono::{DateTime, Duration, Utc};

use crate::engine::clock::SharedClock;
use crate::store::{AuditEntry, Store, UserUpdate};
use throttle::{Key, ThrottlePolicy};

/// How sessions behave.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// A session nobody used for this long ends.
    pub session_idle: Duration,
    /// Every session ends this long after its login.
    pub session_max: Duration,
    /// Cookies only over HTTPS (set when a TLS proxy is in front).
    pub secure_cookies: bool,
    pub throttle: ThrottlePolicy,
    /// The longest lifetime of an API token, in days.
    pub max_token_days: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_idle: Duration::hours(12),
            session_max: Duration::days(7),
            secure_cookies: false,
            throttle: ThrottlePolicy::default(),
            max_token_days: 90,
        }
    }
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    /// A browser session; state-changing requests must carry `csrf_token`.
    Session {
        actor: Actor,
        user_id: i64,
        csrf_token: String,
        token_hash: String,
        /// The language the account chose for the UI, if it chose one.
        language: Option<Locale>,
    },
    /// A script with an API token (no cookie, so no CSRF token needed).
    Token {
        actor: Actor,
        user_id: i64,
        token_id: i64,
    },
}

impl Identity {
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Identity::Anonymous => None,
            Identity::Session { actor, .. } | Identity::Token { actor, .. } => Some(actor),
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self {
            Identity::Anonymous => None,
            Identity::Session { user_id, .. } | Identity::Token { user_id, .. } => Some(*user_id),
        }
    }

    /// The actor, or the 401 every protected route answers without one.
    pub fn require(&self) -> Result<&Actor, AppError> {
        self.actor().ok_or_else(not_signed_in)
    }
}

pub fn not_signed_in() -> AppError {
    AppError::because(Reason::NotSignedIn)
}

/// A session that was just started: the cookie value (shown to the browser once, stored only as
/// a digest) and its CSRF token.
#[derive(Clone)]
pub struct NewSession {
    pub actor: Actor,
    pub user_id: i64,
    /// The language the account chose for the UI, if it chose one.
    pub language: Option<String>,
    pub cookie: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The people service.
#[derive(Clone)]
pub struct Auth {
    store: Store,
    clock: SharedClock,
    config: AuthConfig,
}

async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(|_| AppError::internal("password hashing stopped"))?
        .map_err(|e| AppError::internal(e.to_string()))
}

impl Auth {
    pub fn new(store: Store, clock: SharedClock, config: AuthConfig) -> Auth {
        Auth { store, clock, config }
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        ok: bool,
        subject: Option<String>,
        message: Option<&str>,
    ) {
        let entry = AuditEntry {
            actor,
            action,
            dry_run: false,
            outcome: if ok { AuditOutcome::Ok } else { AuditOutcome::Refused },
            subject,
            message,
            requested: 0,
            changed: ok as u64,
            results: &[],
            changes: &[],
            at: self.now(),
        };
        if let Err(e) = self.store.record_audit(&entry).await {
            tracing::error!(error = %e, action, "could not write the audit entry");
        }
    }

    /// Checks a name and password and starts a session. Wrong names and wrong passwords get the
    /// same answer; a locked account or address gets a 429 without the password being checked.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: Option<&str>,
    ) -> Result<NewSession, AppError> {
        let now = self.now();
        let keys = self.config.throttle.keys(username, address);
        let names: Vec<String> = keys.iter().map(|k| k.key.clone()).collect();
        if let Some(until) = self.store.login_locked_until(&names, now).await? {
            let seconds = (until - now).num_seconds().max(1);
            self.audit(
                username_for_audit(&self.store, username).await.as_str(),
                "login",
                false,
                None,
                Some("refused: too many failed logins"),
            )
            .await;
            return Err(AppError::because(Reason::TooManyLogins { seconds }));
        }
        let found = self.store.user_credentials(username).await?;
        let (hash, user) = match &found {
            Some((user, hash)) => (hash.clone(), Some(user.clone())),
            None => (secrets::decoy_hash().to_string(), None),
        };
        let given = password.to_string();
        let matches = tokio::task::spawn_blocking(move || secrets::verify_password(&given, &hash))
            .await
            .unwrap_or(false);
        let user = match user {
            Some(user) if matches && !user.disabled => user,
            _ => {
                for key in &keys {
                    self.count_failure(key, now).await?;
                }
                let who = if found.is_some() { username } else { "(unknown account)" };
                self.audit(who, "login", false, None, Some("refused: wrong user name or password"))
                    .await;
                return Err(AppError::because(Reason::WrongPassword));
            }
        };
        // The account's own failures are forgiven; the address's are not.
        for key in keys.iter().filter(|k| !k.key.starts_with("addr:")) {
            self.store.clear_login_failures(&key.key).await?;
        }
        let cookie = secrets::random_hex();
        let csrf_token = secrets::random_hex();
        let expires_at = now + self.config.session_max;
        self.store
            .create_session(user.id, &secrets::digest(&cookie), &csrf_token, now, expires_at)
            .await?;
        self.audit(&user.name, "login", true, None, None).await;
        tracing::info!(user = %user.name, "signed in");
        Ok(NewSession {
            user_id: user.id,
            language: user.language.clone(),
            actor: Actor { name: user.name, role: user.role },
            cookie,
            csrf_token,
            expires_at,
        })
    }

    /// Remembers the language someone chose for the UI.
    pub async fn remember_language(&self, user_id: i64, locale: Locale) -> Result<(), AppError> {
        Ok(self.store.set_language(user_id, app::lang::tag(locale)).await?)
    }

    /// Ends a session.
    pub async fn logout(&self, identity: &Identity) -> Result<(), AppError> {
        if let Identity::Session { token_hash, actor, .. } = identity {
            self.store.delete_session(token_hash).await?;
            self.audit(&actor.name, "logout", true, None, None).await;
        }
        Ok(())
    }

    /// The identity of a session cookie: unknown, idle too long or past its end → anonymous.
    pub async fn session(&self, cookie: &str) -> Result<Identity, AppError> {
        let token_hash = secrets::digest(cookie);
        let Some(session) = self.store.session(&token_hash).await? else {
            return Ok(Identity::Anonymous);
        };
        let now = self.now();
        if now >= session.expires_at || now - session.last_seen_at >= self.config.session_idle {
            self.store.delete_session(&token_hash).await?;
            return Ok(Identity::Anonymous);
        }
        // Keep idle sessions alive without a write on every request.
        if now - session.last_seen_at >= Duration::minutes(1) {
            self.store.touch_session(&token_hash, now).await?;
        }
        Ok(Identity::Session {
            language: session.user.language.as_deref().and_then(app::lang::from_tag),
            actor: Actor { name: session.user.name, role: session.user.role },
            user_id: session.user.id,
            csrf_token: session.csrf_token,
            token_hash,
        })
    }

    /// The identity of a bearer token, or `None` when it is unknown, revoked or expired.
    pub async fn token(&self, token: &str) -> Result<Option<Identity>, AppError> {
        let Some(record) = self.store.token(&secrets::digest(token)).await? else {
            return Ok(None);
        };
        let now = self.now();
        if record.expires_at.is_some_and(|at| now >= at) {
            return Ok(None);
        }
        if record.last_used_at.is_none_or(|at| now - at >= Duration::minutes(1)) {
            self.store.touch_token(record.id, now).await?;
        }
        Ok(Some(Identity::Token {
            actor: Actor { name: record.user.name, role: record.user.role },
            user_id: record.user.id,
            token_id: record.id,
        }))
    }

    /// Counts a failed login against `key` and locks it as the throttle policy says.
    async fn count_failure(&self, key: &Key, now: DateTime<Utc>) -> Result<(), AppError> {
        let forget = self.config.throttle.forget_after;
        let failures = self.store.record_login_failure(&key.key, now, forget).await?;
        if let Some(lock) = key.lock.after(failures) {
            self.store.lock_login(&key.key, now + lock).await?;
        }
        Ok(())
    }

    /// Adds an account on behalf of `actor` (an administrator).
    pub async fn add_user(&self, actor: &Actor, new: &NewUser) -> Result<User, AppError> {
        let user = self.create_user(new).await?;
        let message = format!("{} as {}", user.name, user.role);
        self.audit(
            &actor.name,
            "user.add",
            true,
            Some(format!("user:{}", user.name)),
            Some(&message),
        )
        .await;
        Ok(user)
    }

    /// Adds an account without asking whom for (the `nightshift user add` command).
    pub async fn create_user(&self, new: &NewUser) -> Result<User, AppError> {
        check_user_name(&new.name)?;
        check_password(&new.password)?;
        let hash = hash(new.password.clone()).await?;
        Ok(self.store.create_user(&new.name, &hash, new.role, self.now()).await?)
    }

    /// Changes an account's role, password or whether it is disabled, on behalf of `actor`.
    pub async fn change_user(
        &self,
        actor: &Actor,
        name: &str,
        change: &UserChange,
    ) -> Result<User, AppError> {
        let password_hash = match &change.password {
            Some(password) => {
                check_password(password)?;
                Some(hash(password.clone()).await?)
            }
            None => None,
        };
        // A new password or a disabled account ends every session and token it had: the tokens
        // do not come back when the account is enabled again.
        let end_credentials = change.password.is_some() || change.disabled == Some(true);
        let update = UserUpdate {
            role: change.role,
            password_hash,
            disabled: change.disabled,
            end_credentials,
        };
        let user = self.store.update_user(name, &update, self.now()).await?;
        let mut what = Vec::new();
        if let Some(role) = change.role {
            what.push(format!("role {role}"));
        }
        if change.password.is_some() {
            what.push("new password".to_string());
        }
        if let Some(disabled) = change.disabled {
            what.push(if disabled { "disabled" } else { "enabled" }.to_string());
        }
        let message = format!("{name}: {}", what.join(", "));
        self.audit(&actor.name, "user.change", true, Some(format!("user:{name}")), Some(&message))
            .await;
        Ok(user)
    }

    pub async fn users(&self, after: Option<&str>, limit: u32) -> Result<UserPage, AppError> {
        Ok(self.store.list_users(after, limit).await?)
    }

    /// Whether `password` is the account's (false for an account that does not exist).
    pub async fn password_matches(&self, name: &str, password: &str) -> Result<bool, AppError> {
        let Some((_, hash)) = self.store.user_credentials(name).await? else {
            return Ok(false);
        };
        let given = password.to_string();
        Ok(tokio::task::spawn_blocking(move || secrets::verify_password(&given, &hash))
            .await
            .unwrap_or(false))
    }

    /// The `--demo` accounts, with their documented passwords (created or reset).
    pub async fn ensure_demo_accounts(&self) -> Result<(), AppError> {
        for (name, password, role, _) in DEMO_ACCOUNTS {
            let new = NewUser { name: name.into(), password: password.into(), role };
            match self.store.get_user(name).await? {
                None => {
                    self.create_user(&new).await?;
                }
                Some(_) => {
                    let update = UserUpdate {
                        role: Some(role),
                        password_hash: Some(hash(password.to_string()).await?),
                        disabled: Some(false),
                        end_credentials: true,
                    };
                    self.store.update_user(name, &update, self.now()).await?;
                }
            }
        }
        Ok(())
    }

    pub async fn has_users(&self) -> Result<bool, AppError> {
        Ok(self.store.has_users().await?)
    }

    /// A new API token of `actor` (account `user_id`); the secret is in the answer and nowhere
    /// else.
    pub async fn create_token(
        &self,
        actor: &Actor,
        user_id: i64,
        new: &NewToken,
    ) -> Result<CreatedToken, AppError> {
        app::text::check_label("name", &new.name, 100)?;
        let name = new.name.trim();
        let max = self.config.max_token_days;
        let days = new.expires_in_days.unwrap_or(max);
        if days == 0 || days > max {
            return Err(AppError::because(Reason::TokenDays { max }));
        }
        let now = self.now();
        let expires_at = Some(now + Duration::days(days.into()));
        let token = secrets::new_api_token();
        let stored = self
            .store
            .create_token(user_id, name, &secrets::digest(&token), now, expires_at)
            .await?;
        self.audit(
            &actor.name,
            "token.create",
            true,
            Some(format!("token:{}", stored.id)),
            Some(&format!("token {} ({name})", stored.id)),
        )
        .await;
        Ok(CreatedToken { id: stored.id, name: stored.name, token, expires_at })
    }

    pub async fn tokens_of(&self, user_id: i64) -> Result<Vec<ApiToken>, AppError> {
        Ok(self.store.tokens_of(user_id).await?)
    }

    /// Revokes a token on behalf of `actor` (its owner, or an administrator).
    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        if !self.store.revoke_token(id, self.now()).await? {
            return Err(AppError::because(Reason::NotFound {
                thing: Thing::Token,
                name: id.to_string(),
            }));
        }
        self.audit(&actor.name, "token.revoke", true, Some(format!("token:{id}")), None).await;
        Ok(())
    }
}

/// The name an audit entry about a login names: the account if it exists. A name that matches
/// no account is not written down: people type passwords into the name field.
async fn username_for_audit(store: &Store, username: &str) -> String {
    match store.get_user(username).await {
        Ok(Some(user)) => user.name,
        _ => "(unknown account)".to_string(),
    }
}
