//! People on SQLite: accounts with their role, sessions, API tokens, the login throttle.

use super::Db;
use app::people::{ApiToken, Role, User, UserPage};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::SqlStore;
use crate::store::ListItem;
use crate::store::people::{PeopleStore, SessionRecord, TokenRecord, UserUpdate};
use crate::store::{Result, StoreError, from_ms, to_ms};

/// Everything lives in the `default` project for now; roles are kept per project.
const PROJECT: i64 = 1;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    role: Role,
    created_at: i64,
    disabled: bool,
    language: Option<String>,
}

const USER_COLUMNS: &str = "u.id, u.name, m.role, u.created_at, u.disabled, u.language";
const USER_FROM: &str =
    "FROM users u JOIN project_members m ON m.user_id = u.id AND m.project_id = 1";

fn user_of(row: UserRow) -> Result<User> {
    Ok(User {
        id: row.id,
        name: row.name,
        role: row.role,
        created_at: from_ms(row.created_at),
        disabled: row.disabled,
        language: row.language,
    })
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    password_hash: String,
    #[sqlx(flatten)]
    user: UserRow,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    csrf_token: String,
    last_seen_at: i64,
    expires_at: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

#[derive(sqlx::FromRow)]
struct TokenUserRow {
    token_id: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
    #[sqlx(flatten)]
    user: UserRow,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
}

impl From<TokenRow> for ApiToken {
    fn from(row: TokenRow) -> Self {
        ApiToken {
            id: row.id,
            name: row.name,
            created_at: from_ms(row.created_at),
            last_used_at: row.last_used_at.map(from_ms),
            expires_at: row.expires_at.map(from_ms),
        }
    }
}

#[async_trait::async_trait]
impl PeopleStore for SqlStore {
    async fn create_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let mut tx = self.write.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (name, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(password_hash)
        .bind(to_ms(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Err(StoreError::Taken { what: "user", name: name.to_string() });
        };
        sqlx::query("INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)")
            .bind(PROJECT)
            .bind(id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(User {
            id,
            name: name.to_string(),
            role,
            created_at: now,
            disabled: false,
            language: None,
        })
    }

    async fn get_user(&self, name: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} {USER_FROM} WHERE u.name = $1"
        )))
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        row.map(user_of).transpose()
    }

    async fn user_credentials(&self, name: &str) -> Result<Option<(User, String)>> {
        let row: Option<CredentialsRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, u.password_hash {USER_FROM} WHERE u.name = $1"
        )))
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| Ok((user_of(row.user)?, row.password_hash))).transpose()
    }

    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<UserPage> {
        let limit = limit.clamp(1, app::model::MAX_PAGE_SIZE);
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {USER_COLUMNS} {USER_FROM} WHERE 1 = 1"));
        if let Some(after) = after {
            query.push(" AND u.name > ").push_bind(after.to_string());
        }
        query.push(" ORDER BY u.name LIMIT ").push_bind(limit as i64 + 1);
        let rows: Vec<UserRow> = query.build_query_as().fetch_all(&self.read).await?;
        let more = rows.len() > limit as usize;
        let items =
            rows.into_iter().take(limit as usize).map(user_of).collect::<Result<Vec<User>>>()?;
        let next_cursor = more.then(|| items.last().map(|u| u.name.clone())).flatten();
        Ok(UserPage { items, next_cursor })
    }

    async fn has_users(&self) -> Result<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)").fetch_one(&self.read).await?)
    }

    async fn update_user(
        &self,
        name: &str,
        update: &UserUpdate,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let mut tx = self.write.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET password_hash = COALESCE($2, password_hash), \
             disabled = COALESCE($3, disabled), updated_at = $4 WHERE name = $1 RETURNING id",
        )
        .bind(name)
        .bind(update.password_hash.as_deref())
        .bind(update.disabled)
        .bind(to_ms(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Err(StoreError::Missing { what: "user", name: name.to_string() });
        };
        if let Some(role) = update.role {
            sqlx::query(
                "UPDATE project_members SET role = $3 WHERE project_id = $1 AND user_id = $2",
            )
            .bind(PROJECT)
            .bind(id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        }
        if update.end_credentials {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.get_user(name)
            .await?
            .ok_or_else(|| StoreError::Missing { what: "user", name: name.to_string() })
    }

    async fn set_language(&self, user_id: i64, language: &str) -> Result<()> {
        sqlx::query("UPDATE users SET language = $2 WHERE id = $1")
            .bind(user_id)
            .bind(language)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, \
             expires_at) VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.csrf_token, s.last_seen_at, s.expires_at, u.id, m.role, u.name, \
             u.created_at, u.disabled, u.language FROM sessions s JOIN users u ON u.id = s.user_id \
             JOIN project_members m ON m.user_id = u.id AND m.project_id = 1 \
             WHERE s.token_hash = $1 AND u.disabled = FALSE",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            user: user_of(row.user)?,
            csrf_token: row.csrf_token,
            last_seen_at: from_ms(row.last_seen_at),
            expires_at: from_ms(row.expires_at),
        }))
    }

    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(to_ms(now))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<ApiToken> {
        let row: TokenRow = sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, name, created_at, last_used_at, expires_at",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(to_ms(now))
        .bind(expires_at.map(to_ms))
        .fetch_one(&self.write)
        .await?;
        Ok(row.into())
    }

    async fn tokens_of(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, name, created_at, last_used_at, expires_at FROM api_tokens \
             WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id DESC LIMIT 1000",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn token_owner(&self, id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT u.name FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.id = $1 AND t.revoked_at IS NULL",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(to_ms(now))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        let row: Option<TokenUserRow> = sqlx::query_as(
            "SELECT t.id AS token_id, t.last_used_at, t.expires_at, u.id, m.role, u.name, \
             u.created_at, u.disabled, u.language FROM api_tokens t JOIN users u ON u.id = t.user_id \
             JOIN project_members m ON m.user_id = u.id AND m.project_id = 1 \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = FALSE",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TokenRecord {
            id: row.token_id,
            user: user_of(row.user)?,
            last_used_at: row.last_used_at.map(from_ms),
            expires_at: row.expires_at.map(from_ms),
        }))
    }

    async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(to_ms(now))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn login_locked_until(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let until: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT MAX(locked_until) FROM login_throttle \
             WHERE key IN (SELECT value FROM {list}) AND locked_until > $2",
            list = super::list("$1", ListItem::Text)
        )))
        .bind(serde_json::to_string(keys).expect("strings"))
        .bind(to_ms(now))
        .fetch_one(&self.read)
        .await?;
        Ok(until.map(from_ms))
    }

    async fn record_login_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        forget_after: chrono::Duration,
    ) -> Result<i64> {
        let mut tx = self.write.begin().await?;
        let now_ms = to_ms(now);
        sqlx::query("DELETE FROM login_throttle WHERE last_failure_at < $1 AND locked_until < $2")
            .bind(to_ms(now - forget_after))
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) \
             VALUES ($1, 1, $2, 0) ON CONFLICT (key) DO UPDATE SET \
             failures = login_throttle.failures + 1, last_failure_at = excluded.last_failure_at \
             RETURNING failures",
        )
        .bind(key)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(failures)
    }

    async fn lock_login(&self, key: &str, until: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE login_throttle SET locked_until = $2 WHERE key = $1")
            .bind(key)
            .bind(to_ms(until))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn clear_login_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
