//! People: who acts (a person, or a script with a person's API token), their role in the project,
//! and what the login, user and token endpoints take and answer.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{Locale, td_string};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Project administrator: everything, including batch kill.
    Admin,
    /// Owner of nodes: operates on the instances of the nodes they own.
    Developer,
    /// Reads only.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Developer, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }

    /// The words people read, in their language.
    pub fn label(self, locale: Locale) -> &'static str {
        match self {
            Role::Admin => td_string!(locale, common.role.admin),
            Role::Developer => td_string!(locale, common.role.developer),
            Role::Viewer => td_string!(locale, common.role.viewer),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, AppError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            AppError::bad_request(format!(
                "unknown role '{s}' (expected admin, developer or viewer)"
            ))
        })
    }
}

/// The one acting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub name: String,
    pub role: Role,
}

/// The accounts `--demo` makes, and only `--demo`: name, password, role, and what the login page
/// says of them. The passwords are public on purpose: the demo is for trying things out.
pub const DEMO_ACCOUNTS: [(&str, &str, Role, &str); 3] = [
    ("admin", "demo-admin", Role::Admin, "everything, batch kill and people included"),
    ("alice", "demo-alice", Role::Developer, "operates the nodes she owns"),
    ("vera", "demo-vera", Role::Viewer, "looks, changes nothing"),
];

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Checks a user name: 1 to 64 lower-case letters, digits, `_`, `-` or `.`. It is what node
/// owners are matched against.
pub fn check_user_name(name: &str) -> Result<(), AppError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AppError::because(crate::reason::Reason::UserName { name: name.to_string() }))
    }
}

/// Checks a new password (never echoing it).
pub fn check_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AppError::because(crate::reason::Reason::PasswordTooShort {
            min: MIN_PASSWORD_LEN,
        }));
    }
    if password.chars().count() > 1024 {
        return Err(AppError::because(crate::reason::Reason::PasswordTooLong));
    }
    if password.contains('\0') {
        return Err(AppError::because(crate::reason::Reason::PasswordNul));
    }
    Ok(())
}

/// A person with an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// Their role in the project.
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// A disabled account cannot log in, and its sessions and tokens stop working.
    pub disabled: bool,
    /// The language they chose for the UI (`en` or `zh-CN`), once they chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A page of accounts: `GET /api/v1/users?limit=&cursor=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The name the previous page ended with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub items: Vec<User>,
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/users`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    pub password: String,
    pub role: Role,
}

/// `PUT /api/v1/users/{name}`: what to change (left out: unchanged).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Changing one's own password takes the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// `POST /api/v1/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

// Passwords stay out of debug output (and so out of logs).
macro_rules! redacted_debug {
    ($type:ident { $($field:ident),* }) => {
        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($type))
                    $(.field(stringify!($field), &self.$field))*
                    .field("password", &"<redacted>")
                    .finish()
            }
        }
    };
}
redacted_debug!(NewUser { name, role });
redacted_debug!(LoginRequest { username });

impl fmt::Debug for UserChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserChange")
            .field("role", &self.role)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("current_password", &self.current_password.as_ref().map(|_| "<redacted>"))
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// `GET /api/v1/me` (and the answer of a login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    pub role: Role,
    /// For requests made with the session cookie: the value every state-changing request must
    /// carry in the `X-CSRF-Token` header. Absent for API tokens (they need none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

impl Me {
    pub fn actor(&self) -> Actor {
        Actor { name: self.name.clone(), role: self.role }
    }
}

/// An API token as its owner sees it later (never the secret again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// Days until it stops working; none: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}

/// The answer to `POST /api/v1/tokens`: the only time the secret is shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub id: i64,
    pub name: String,
    pub token: String,
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// What the login page shows before anyone is signed in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginHints {
    /// `--demo`: the demo accounts exist and the page lists them.
    pub demo: bool,
    /// No account exists yet: the page says how to make the first one.
    pub no_accounts: bool,
}

/// The session's CSRF token, put into the page for the browser's state-changing requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfToken(pub String);

/// The header that carries it.
pub const CSRF_HEADER: &str = "x-csrf-token";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords_are_checked() {
        for good in ["alice", "a", "ops-team.1", "x_y"] {
            assert!(check_user_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Alice", "a b", "ä", "a/b", &"x".repeat(65)] {
            assert_eq!(check_user_name(bad).unwrap_err().field.as_deref(), Some("name"), "{bad}");
        }
        assert!(check_password("12345678").is_ok());
        let short = check_password("1234567").unwrap_err();
        assert_eq!(short.message, "the password must have at least 8 characters");
        assert!(check_password(&"x".repeat(1025)).is_err());
        // Both bounds count characters, as the API's description says.
        assert!(check_password(&"密".repeat(1024)).is_ok());
        assert!(check_password(&"密".repeat(1025)).is_err());
    }

    #[test]
    fn passwords_and_secrets_never_show_in_debug_output() {
        let login = LoginRequest { username: "ann".into(), password: "hunter2-secret".into() };
        let user =
            NewUser { name: "ann".into(), password: "hunter2-secret".into(), role: Role::Admin };
        let change = UserChange { password: Some("hunter2-secret".into()), ..Default::default() };
        let token =
            CreatedToken { id: 1, name: "ci".into(), token: "ns_secret".into(), expires_at: None };
        for text in
            [format!("{login:?}"), format!("{user:?}"), format!("{change:?}"), format!("{token:?}")]
        {
            assert!(!text.contains("hunter2-secret") && !text.contains("ns_secret"), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
        }
    }
}
