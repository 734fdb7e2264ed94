//! People: who is asking, the accounts (administrators), one's own password and API tokens.
//! Signing in and out, and resolving cookies and tokens to an identity, are `crate::auth`'s.

use app::error::AppError;
use app::people::{
    Actor, ApiToken, CreatedToken, LoginHints, Me, NewToken, NewUser, User, UserChange, UserPage,
    UserQuery,
};
use app::reason::{Reason, Thing};
use app::rules::{self, Permission};
use app::usecases::{Input, People};

use super::Service;
use crate::auth::{Identity, not_signed_in};

impl Service {
    /// `GET /me`: who is asking, and (for a browser session) the CSRF token its state-changing
    /// requests carry.
    pub fn me(&self) -> Result<Me, AppError> {
        let actor = self.actor()?;
        let csrf_token = match &self.identity {
            Identity::Session { csrf_token, .. } => Some(csrf_token.clone()),
            _ => None,
        };
        Ok(Me { name: actor.name.clone(), role: actor.role, csrf_token })
    }
}

#[async_trait::async_trait]
impl People for Service {
    async fn whoami(&self) -> Result<Actor, AppError> {
        Ok(self.actor()?.clone())
    }

    async fn login_hints(&self) -> Result<LoginHints, AppError> {
        Ok(LoginHints { demo: self.core.demo, no_accounts: !self.auth().has_users().await? })
    }

    async fn users(&self, query: UserQuery) -> Result<UserPage, AppError> {
        self.allowed(Permission::ManageUsers)?;
        let after = query.cursor.as_deref().filter(|c| !c.is_empty());
        self.auth().users(after, app::model::page_size(query.limit)?).await
    }

    async fn add_user(&self, user: Input<NewUser>) -> Result<User, AppError> {
        let actor = self.allowed(Permission::ManageUsers)?;
        self.auth().add_user(actor, &user?).await
    }

    /// An administrator changes anyone; anyone changes their own password. Nobody disables or
    /// demotes themself (a project never loses its last administrator that way).
    async fn change_user(&self, name: String, change: Input<UserChange>) -> Result<User, AppError> {
        let actor = self.actor()?;
        let change = change?;
        let own_password_only =
            name == actor.name && change.role.is_none() && change.disabled.is_none();
        if !own_password_only {
            rules::authorize(actor, Permission::ManageUsers)?;
        }
        if name == actor.name
            && (change.disabled == Some(true) || change.role.is_some_and(|r| r != actor.role))
        {
            return Err(AppError::because(Reason::OwnAccount));
        }
        // One's own password takes the current one: a session left open is not enough.
        if name == actor.name && change.password.is_some() {
            let current = change
                .current_password
                .as_deref()
                .ok_or_else(|| AppError::because(Reason::CurrentPasswordMissing))?;
            if !self.auth().password_matches(&name, current).await? {
                return Err(AppError::because(Reason::CurrentPasswordWrong));
            }
        }
        self.auth().change_user(actor, &name, &change).await
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, AppError> {
        self.allowed(Permission::Read)?;
        let user_id = self.identity.user_id().ok_or_else(not_signed_in)?;
        self.auth().tokens_of(user_id).await
    }

    async fn create_token(&self, token: NewToken) -> Result<CreatedToken, AppError> {
        let actor = self.allowed(Permission::Read)?;
        let user_id = self.identity.user_id().ok_or_else(not_signed_in)?;
        self.auth().create_token(actor, user_id, &token).await
    }

    /// Its owner revokes a token, and so may an administrator (anyone's). Anybody else is told
    /// there is no such token of theirs: whether it exists is not theirs to learn.
    async fn revoke_token(&self, id: i64) -> Result<(), AppError> {
        let actor = self.actor()?;
        let not_yours =
            || AppError::because(Reason::NotFound { thing: Thing::Token, name: id.to_string() });
        let owner = self.store().token_owner(id).await?.ok_or_else(not_yours)?;
        rules::authorize(actor, Permission::RevokeToken { owner: &owner })
            .map_err(|_| not_yours())?;
        self.auth().revoke_token(actor, id).await
    }
}
