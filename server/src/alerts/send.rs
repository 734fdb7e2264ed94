//! Sending one delivery: a webhook is a `POST` of the alert's JSON (reqwest, rustls), an e-mail
//! goes through the configured SMTP server (lettre). Each answers whether it arrived, and if not,
//! whether trying again may help.

use std::time::Duration;

use app::alerts::Channel;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

use crate::store::alerts::DueDelivery;

/// How long one try may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The mail server alerts go through (`--smtp-url`, `--smtp-from`, `--smtp-user`,
/// `--smtp-password`).
#[derive(Clone)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain, or `?tls=required` for STARTTLS) or `smtps://host:port`.
    pub url: String,
    pub from: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpConfig { … }")
    }
}

/// Why a try did not arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    /// Whether another try may succeed (a receiver that is down) or not (no mail server).
    pub retry: bool,
}

fn retry(error: String) -> Failure {
    Failure { error, retry: true }
}

fn give_up(error: String) -> Failure {
    Failure { error, retry: false }
}

pub struct Sender {
    http: reqwest::Client,
    smtp: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
}

impl Sender {
    /// The clients, or why the mail settings cannot work (refused at start).
    pub fn new(smtp: Option<&SmtpConfig>) -> Result<Sender, String> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("nightshift/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make the webhook client: {e}"))?;
        let smtp = match smtp {
            None => None,
            Some(config) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
                    .map_err(|_| {
                        "--smtp-url is not an SMTP address (smtp://host:port or smtps://host:port)"
                            .to_string()
                    })?
                    .timeout(Some(TIMEOUT));
                if let (Some(user), Some(password)) = (&config.user, &config.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                let from: Mailbox = config.from.parse().map_err(|_| {
                    format!("--smtp-from '{}' is not an e-mail address", config.from)
                })?;
                Some((builder.build(), from))
            }
        };
        Ok(Sender { http, smtp })
    }

    pub async fn send(&self, delivery: &DueDelivery) -> Result<(), Failure> {
        match &delivery.channel {
            Channel::Webhook(url) => self.post(url, delivery).await,
            Channel::Email(to) => self.mail(to, delivery).await,
        }
    }

    async fn post(&self, url: &str, delivery: &DueDelivery) -> Result<(), Failure> {
        let answer = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Nightshift-Alert", delivery.alert_id.to_string())
            .body(delivery.payload.clone())
            .send()
            .await
            // The address may carry the hook's secret: never in the error people read.
            .map_err(|e| retry(format!("could not reach the receiver: {}", e.without_url())))?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(retry(format!("the receiver answered {status}")))
        }
    }

    async fn mail(&self, to: &str, delivery: &DueDelivery) -> Result<(), Failure> {
        let Some((transport, from)) = &self.smtp else {
            return Err(give_up("no mail server is configured (--smtp-url)".into()));
        };
        let to: Mailbox =
            to.parse().map_err(|_| give_up(format!("'{to}' is not an e-mail address")))?;
        let (subject, body) = mail_text(delivery);
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| give_up(format!("the message could not be made: {e}")))?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(give_up(format!("the mail server refused: {e}"))),
            Err(e) => Err(retry(format!("the mail server could not take it: {e}"))),
        }
    }
}

/// An alert as an e-mail's subject and plain-text body.
pub fn mail_text(delivery: &DueDelivery) -> (String, String) {
    let payload: Value = serde_json::from_str(&delivery.payload).unwrap_or(Value::Null);
    let field = |path: &[&str]| {
        let mut value = &payload;
        for key in path {
            value = &value[*key];
        }
        match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    };
    let event = delivery.event.as_str();
    let subject = match payload.get("instance") {
        Some(_) => format!(
            "[Nightshift] {event}: {} ({})",
            field(&["instance", "node"]),
            field(&["instance", "bizdate"])
        ),
        None => format!("[Nightshift] {event}: baseline {}", delivery.rule),
    };
    let mut body = format!("Rule: {}\nEvent: {event}\nAt: {}\n", delivery.rule, field(&["at"]));
    if payload.get("instance").is_some() {
        for (label, key) in [
            ("Node", "node"),
            ("Workflow", "workflow"),
            ("Owner", "owner"),
            ("Business date", "bizdate"),
            ("State", "state"),
            ("Attempt", "attempt"),
            ("Reason", "reason"),
            ("Open", "url"),
        ] {
            let value = field(&["instance", key]);
            if !value.is_empty() {
                body.push_str(&format!("{label}: {value}\n"));
            }
        }
    } else {
        for (label, key) in [
            ("Run date", "run_date"),
            ("Predicted finish", "predicted_finish"),
            ("Commit by", "commit_by"),
            ("Open", "url"),
        ] {
            let value = field(&[key]);
            if !value.is_empty() {
                body.push_str(&format!("{label}: {value}\n"));
            }
        }
    }
    (subject, body)
}
