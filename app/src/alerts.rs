//! Alerts: the rules people write (what to watch, where to say it), what they fired and how its
//! delivery went. Shared by the REST API, the Alerts page and the server; the checks of a rule
//! on its own are here (the browser's form and the server refuse alike), the ones that need the
//! database (does the node exist, whose is it) are the server's.

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::Locale;
use crate::model::InstanceId;
use crate::reason::Reason;

/// What an alert is about. The first five are what a rule watches; a baseline fires the last two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    /// Every failed attempt (also one that will be retried).
    Failed,
    /// Failed for good: no automatic retry is left.
    RetriesExhausted,
    /// Not succeeded by a time of its run date (`at`, project time zone).
    NotFinishedBy,
    /// Still running `minutes` after its attempt started.
    RunningLongerThan,
    /// Succeeded after its previous attempt failed.
    Recovered,
    /// A baseline's predicted finish is past its commitment less the margin.
    AtRisk,
    /// A baseline's commitment passed before its nodes finished.
    Late,
}

impl AlertEvent {
    /// The events a rule may watch, in the order forms offer them.
    pub const RULES: [AlertEvent; 5] = [
        AlertEvent::Failed,
        AlertEvent::RetriesExhausted,
        AlertEvent::NotFinishedBy,
        AlertEvent::RunningLongerThan,
        AlertEvent::Recovered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertEvent::Failed => "failed",
            AlertEvent::RetriesExhausted => "retries_exhausted",
            AlertEvent::NotFinishedBy => "not_finished_by",
            AlertEvent::RunningLongerThan => "running_longer_than",
            AlertEvent::Recovered => "recovered",
            AlertEvent::AtRisk => "at_risk",
            AlertEvent::Late => "late",
        }
    }

    /// The event in the page's language.
    pub fn label(self, l: Locale) -> &'static str {
        crate::reason::event_label(l, self.as_str()).unwrap_or(self.as_str())
    }

    pub fn parse(value: &str) -> Option<AlertEvent> {
        [AlertEvent::AtRisk, AlertEvent::Late]
            .into_iter()
            .chain(AlertEvent::RULES)
            .find(|event| event.as_str() == value)
    }
}

/// Where an alert goes: `{"webhook": "https://…"}` or `{"email": "a@b"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Webhook(String),
    Email(String),
}

/// The most channels one rule or baseline names.
pub const MAX_CHANNELS: usize = 10;
/// The longest `running_longer_than` (a week), and the longest cooldown (a week).
pub const MAX_MINUTES: u32 = 7 * 24 * 60;
/// The longest webhook address.
const MAX_URL: usize = 2000;
/// The longest rule name.
pub const MAX_RULE_NAME: usize = 100;
/// The most alert rules, and the most baselines, a project holds (the watcher reads them all).
pub const MAX_RULES: u64 = 10_000;

/// A URL's host and optional port: a name or IPv4 address, or an IPv6 address in brackets,
/// then `:` and 1 to 5 digits if a port is given (`http://[x` and `http://h:port` are refused
/// here rather than failing at every delivery).
fn valid_authority(authority: &str) -> bool {
    let (host, port) = match authority.strip_prefix('[') {
        Some(inner) => match inner.split_once(']') {
            Some((address, rest)) => {
                let ipv6 = !address.is_empty()
                    && address.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
                if !ipv6 {
                    return false;
                }
                let port = match rest {
                    "" => None,
                    rest => match rest.strip_prefix(':') {
                        Some(port) => Some(port),
                        None => return false,
                    },
                };
                (address, port)
            }
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    !host.is_empty() && !host.contains(['[', ']']) && port_ok
}

impl Channel {
    /// `webhook` or `email`.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook(_) => "webhook",
            Channel::Email(_) => "email",
        }
    }

    pub fn target(&self) -> &str {
        match self {
            Channel::Webhook(target) | Channel::Email(target) => target,
        }
    }

    /// The channel as people who may not change it see it: a webhook's path and query often
    /// carry its secret (chat hooks do), so only its scheme and host are shown.
    pub fn redacted(&self) -> Channel {
        match self {
            Channel::Webhook(url) => Channel::Webhook(redact_url(url)),
            email => email.clone(),
        }
    }

    /// Refuses what cannot be delivered: an address that is not `http://` or `https://` with a
    /// host, or not an e-mail address.
    pub fn check(&self) -> Result<(), AppError> {
        match self {
            Channel::Webhook(url) => {
                let host = url
                    .strip_prefix("http://")
                    .or_else(|| url.strip_prefix("https://"))
                    .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
                let host_ok =
                    host.is_some_and(|h| valid_authority(h.rsplit_once('@').map_or(h, |(_, h)| h)));
                if !host_ok
                    || url.len() > MAX_URL
                    || url.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(AppError::because(Reason::BadWebhook { value: url.clone() }));
                }
                Ok(())
            }
            Channel::Email(address) => {
                let valid = address.len() <= 254
                    && address.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty()
                            && !domain.is_empty()
                            && !domain.contains('@')
                            && !domain.starts_with('.')
                            && !domain.ends_with('.')
                    })
                    && !address.chars().any(|c| c.is_whitespace() || c.is_control());
                if valid {
                    Ok(())
                } else {
                    Err(AppError::because(Reason::BadEmail { value: address.clone() }))
                }
            }
        }
    }
}

fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let hidden = rest.len() > host.len();
    format!("{scheme}://{host}{}", if hidden { "/…" } else { "" })
}

/// The channels of a rule or baseline: one to [`MAX_CHANNELS`], each deliverable.
pub fn check_channels(channels: &[Channel]) -> Result<(), AppError> {
    if channels.is_empty() {
        return Err(AppError::because(Reason::NoChannel));
    }
    if channels.len() > MAX_CHANNELS {
        return Err(AppError::because(Reason::TooManyChannels { max: MAX_CHANNELS }));
    }
    channels.iter().try_for_each(Channel::check)
}

/// A time of day written `HH:MM`.
pub fn parse_hhmm(field: &str, value: &str) -> Result<NaiveTime, AppError> {
    let bad = || AppError::because(Reason::BadTime { field: field.into(), value: value.into() });
    let (h, m) = value.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| bad())
}

/// A rule as people write it: the body of `POST /alert-rules` and `PUT /alert-rules/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRuleSpec {
    pub name: String,
    /// Which instances it watches: those of this workflow, node and owner (each left out: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub event: AlertEvent,
    /// `not_finished_by`: `HH:MM` on the instance's run date, in the project time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// `running_longer_than`: minutes after the attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    pub channels: Vec<Channel>,
    /// After the rule fires, further alerts of it within this many minutes are recorded as
    /// folded and not sent (0, the default: every alert is sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_mins: Option<u32>,
}

impl AlertRuleSpec {
    /// Empty optional texts are left out (a form sends `""` for a field left blank).
    pub fn normalized(mut self) -> AlertRuleSpec {
        let blank = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        self.workflow = blank(self.workflow);
        self.node = blank(self.node);
        self.owner = blank(self.owner);
        self.at = blank(self.at);
        self.name = self.name.trim().to_string();
        self
    }

    /// Everything that can be checked without the database.
    pub fn check(&self) -> Result<(), AppError> {
        crate::text::check_label("name", &self.name, MAX_RULE_NAME)?;
        for (field, value) in [("workflow", &self.workflow), ("node", &self.node)] {
            if let Some(value) = value
                && !crate::text::is_name(value)
            {
                return Err(AppError::because(Reason::NotValid {
                    what: field.to_string(),
                    value: value.clone(),
                })
                .on_field(field));
            }
        }
        if let Some(owner) = &self.owner {
            crate::text::check_label("owner", owner, crate::text::MAX_NAME)?;
        }
        let event = self.event;
        let needs = |field: &str| {
            AppError::because(Reason::EventNeeds {
                event: event.as_str().into(),
                field: field.into(),
            })
        };
        let ignores = |field: &str| {
            AppError::because(Reason::EventIgnores {
                event: event.as_str().into(),
                field: field.into(),
            })
        };
        match event {
            AlertEvent::NotFinishedBy => {
                parse_hhmm("at", self.at.as_deref().ok_or_else(|| needs("at"))?)?;
            }
            AlertEvent::AtRisk | AlertEvent::Late => {
                return Err(AppError::because(Reason::BaselineEvent {
                    event: event.as_str().into(),
                }));
            }
            _ if self.at.is_some() => return Err(ignores("at")),
            _ => {}
        }
        match (event, self.minutes) {
            (AlertEvent::RunningLongerThan, None) => return Err(needs("minutes")),
            (AlertEvent::RunningLongerThan, Some(m)) if m == 0 || m > MAX_MINUTES => {
                return Err(AppError::because(Reason::Minutes {
                    field: "minutes".into(),
                    min: 1,
                    max: MAX_MINUTES,
                }));
            }
            (AlertEvent::RunningLongerThan, _) | (_, None) => {}
            (_, Some(_)) => return Err(ignores("minutes")),
        }
        if self.cooldown_mins.is_some_and(|m| m > MAX_MINUTES) {
            return Err(AppError::because(Reason::Minutes {
                field: "cooldown_mins".into(),
                min: 0,
                max: MAX_MINUTES,
            }));
        }
        check_channels(&self.channels)
    }
}

/// A saved rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: i64,
    pub name: String,
    pub workflow: Option<String>,
    pub node: Option<String>,
    pub owner: Option<String>,
    pub event: AlertEvent,
    pub at: Option<String>,
    pub minutes: Option<u32>,
    pub channels: Vec<Channel>,
    pub cooldown_mins: u32,
    /// Who made it (a developer may change only the rules they made).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AlertRule {
    /// The rule as people write it.
    pub fn spec(&self) -> AlertRuleSpec {
        AlertRuleSpec {
            name: self.name.clone(),
            workflow: self.workflow.clone(),
            node: self.node.clone(),
            owner: self.owner.clone(),
            event: self.event,
            at: self.at.clone(),
            minutes: self.minutes,
            channels: self.channels.clone(),
            cooldown_mins: Some(self.cooldown_mins),
        }
    }
}

/// Where an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Some channel has not been reached yet (it is being tried again).
    Pending,
    /// Every channel took it.
    Delivered,
    /// Some channel could not be reached in a day of trying, or cannot be (no mail server).
    Failed,
    /// Not sent: the rule had fired within its cooldown.
    Folded,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 4] =
        [AlertStatus::Pending, AlertStatus::Delivered, AlertStatus::Failed, AlertStatus::Folded];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Pending => "pending",
            AlertStatus::Delivered => "delivered",
            AlertStatus::Failed => "failed",
            AlertStatus::Folded => "folded",
        }
    }

    pub fn parse(value: &str) -> Option<AlertStatus> {
        AlertStatus::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// One channel's delivery of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel: Channel,
    /// `pending`, `delivered` or `failed`.
    pub status: AlertStatus,
    pub tries: u32,
    pub last_error: Option<String>,
    pub next_try_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What fired, and where its deliveries are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    /// The rule that fired (gone if it was deleted since), or none for a baseline's alert.
    pub rule_id: Option<i64>,
    /// The rule's name, or the baseline's.
    pub rule: String,
    pub baseline: Option<String>,
    pub event: AlertEvent,
    pub instance_id: Option<InstanceId>,
    pub node: Option<String>,
    pub run_date: Option<String>,
    pub attempt: Option<i32>,
    pub fired_at: DateTime<Utc>,
    pub status: AlertStatus,
    pub deliveries: Vec<Delivery>,
}

/// `GET /alerts?rule=&instance=&status=&limit=&cursor=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertQuery {
    pub rule: Option<i64>,
    pub instance: Option<InstanceId>,
    pub status: Option<AlertStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl AlertQuery {
    /// `rule`, `instance`, `status`, `limit`, `cursor` from a query string (blank values are
    /// left out).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<AlertQuery, AppError> {
        let mut query = AlertQuery::default();
        for (key, value) in pairs {
            let Some(value) = crate::model::given(value) else {
                continue;
            };
            let number = |what: &str| crate::model::positive_number(what, value);
            match key {
                "rule" => query.rule = Some(number("rule")?),
                "instance" => query.instance = Some(InstanceId(number("instance")?)),
                "status" => {
                    query.status = Some(AlertStatus::parse(value).ok_or_else(|| {
                        AppError::because(Reason::NotValid {
                            what: "status".into(),
                            value: value.to_string(),
                        })
                    })?)
                }
                "limit" => query.limit = Some(crate::model::page_limit(value)?),
                "cursor" => query.cursor = Some(number("cursor")?.to_string()),
                other => {
                    return Err(AppError::because(Reason::UnknownFilter {
                        key: other.to_string(),
                        expected: "rule, instance, status, limit, cursor".into(),
                    }));
                }
            }
        }
        Ok(query)
    }
}

/// Newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPage {
    pub items: Vec<Alert>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(event: AlertEvent) -> AlertRuleSpec {
        AlertRuleSpec {
            name: "r".into(),
            workflow: None,
            node: None,
            owner: None,
            event,
            at: None,
            minutes: None,
            channels: vec![Channel::Webhook("http://127.0.0.1:9/hook".into())],
            cooldown_mins: None,
        }
    }

    fn field(spec: AlertRuleSpec) -> Option<String> {
        spec.check().err().map(|e| e.field.unwrap_or_else(|| format!("(none) {}", e.message)))
    }

    #[test]
    fn webhook_addresses_need_a_host_and_a_numeric_port() {
        for (url, ok) in [
            ("http://h/x", true),
            ("https://hooks.example.com:8443/T0/secret?x=1", true),
            ("https://user:pw@hooks.example.com/T0", true),
            ("http://127.0.0.1:9/hook", true),
            ("http://[::1]:8080/hook", true),
            ("http://[fe80::1]/x", true),
            ("http://[x", false),
            ("http://[::1", false),
            ("http://[]/x", false),
            ("http://[::1]x/", false),
            ("http://h:port/x", false),
            ("http://h:123456/x", false),
            ("http://:80/x", false),
            ("http:///x", false),
            ("ftp://h/x", false),
        ] {
            assert_eq!(Channel::Webhook(url.into()).check().is_ok(), ok, "{url}");
        }
    }

    #[test]
    fn rules_are_refused_field_by_field() {
        assert_eq!(field(rule(AlertEvent::Failed)), None);
        let cases: Vec<(AlertRuleSpec, &str)> = vec![
            (AlertRuleSpec { name: " ".into(), ..rule(AlertEvent::Failed) }, "name"),
            (AlertRuleSpec { node: Some("a b".into()), ..rule(AlertEvent::Failed) }, "node"),
            (AlertRuleSpec { workflow: Some("-x".into()), ..rule(AlertEvent::Failed) }, "workflow"),
            (rule(AlertEvent::NotFinishedBy), "at"),
            (AlertRuleSpec { at: Some("7:30".into()), ..rule(AlertEvent::NotFinishedBy) }, "at"),
            (AlertRuleSpec { at: Some("24:00".into()), ..rule(AlertEvent::NotFinishedBy) }, "at"),
            (AlertRuleSpec { at: Some("07:30".into()), ..rule(AlertEvent::Failed) }, "at"),
            (rule(AlertEvent::RunningLongerThan), "minutes"),
            (AlertRuleSpec { minutes: Some(0), ..rule(AlertEvent::RunningLongerThan) }, "minutes"),
            (AlertRuleSpec { minutes: Some(5), ..rule(AlertEvent::Recovered) }, "minutes"),
            (
                AlertRuleSpec { cooldown_mins: Some(MAX_MINUTES + 1), ..rule(AlertEvent::Failed) },
                "cooldown_mins",
            ),
            (AlertRuleSpec { channels: vec![], ..rule(AlertEvent::Failed) }, "channels"),
            (
                AlertRuleSpec {
                    channels: vec![Channel::Webhook("ftp://h/x".into())],
                    ..rule(AlertEvent::Failed)
                },
                "channels",
            ),
            (
                AlertRuleSpec {
                    channels: vec![Channel::Webhook("http:///x".into())],
                    ..rule(AlertEvent::Failed)
                },
                "channels",
            ),
            (
                AlertRuleSpec {
                    channels: vec![Channel::Webhook("http://h/a b".into())],
                    ..rule(AlertEvent::Failed)
                },
                "channels",
            ),
            (
                AlertRuleSpec {
                    channels: vec![Channel::Email("nobody".into())],
                    ..rule(AlertEvent::Failed)
                },
                "channels",
            ),
            (
                AlertRuleSpec {
                    channels: vec![Channel::Email("a@b".into()); 11],
                    ..rule(AlertEvent::Failed)
                },
                "channels",
            ),
            (rule(AlertEvent::AtRisk), "event"),
        ];
        for (spec, expected) in cases {
            assert_eq!(field(spec.clone()).as_deref(), Some(expected), "{spec:?}");
        }
        let ok = AlertRuleSpec {
            at: Some("07:30".into()),
            channels: vec![
                Channel::Email("ops@example.com".into()),
                Channel::Webhook("https://user@hooks.example.com:8443/T0/secret?x=1".into()),
            ],
            ..rule(AlertEvent::NotFinishedBy)
        };
        assert_eq!(field(ok), None);
    }

    #[test]
    fn webhook_secrets_are_not_shown() {
        let hook = Channel::Webhook("https://user:pw@hooks.example.com/T0/B1/secret".into());
        assert_eq!(hook.redacted(), Channel::Webhook("https://hooks.example.com/…".into()));
        let bare = Channel::Webhook("http://127.0.0.1:8080".into());
        assert_eq!(bare.redacted(), bare);
    }

    #[test]
    fn channels_read_and_write_as_one_key_objects() {
        let json = r#"[{"webhook":"http://h/x"},{"email":"a@b"}]"#;
        let channels: Vec<Channel> = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&channels).unwrap(), json);
        assert!(serde_json::from_str::<Vec<Channel>>(r#"[{"sms":"1"}]"#).is_err());
    }
}
