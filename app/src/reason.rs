//! Why a request was refused, as a code and its parameters: the UI says it in the page's
//! language, the REST API in English (the `message` of [`AppError`], made from the same
//! sentence). One sentence per reason, both languages in `locales/*/errors.json`.

use serde::{Deserialize, Serialize};

use crate::error::{AppError, ErrorCode};
use crate::i18n::{Locale, td_string};
use crate::rules::{Denial, Objection, Refusal, SelectionRefusal};

/// What a person looked for or tried to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Thing {
    Instance,
    Node,
    Workflow,
    Backfill,
    AuditEntry,
    Token,
    User,
    ResourceGroup,
    AlertRule,
    Baseline,
    /// A version of a node's definition ("node 3": the node's name and the number).
    NodeVersion,
    Calendar,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// The role does not allow it.
    Denied {
        denial: Denial,
    },
    /// The instance's state does not allow it.
    Refused {
        refusal: Refusal,
    },
    /// A "rerun downstream" selection refused as a whole.
    Selection {
        refusal: SelectionRefusal,
    },

    // Who is asking.
    NotSignedIn,
    WrongPassword,
    TooManyLogins {
        seconds: i64,
    },
    CurrentPasswordMissing,
    CurrentPasswordWrong,
    OwnAccount,

    // Finding things.
    NotFound {
        thing: Thing,
        name: String,
    },
    Taken {
        thing: Thing,
        name: String,
    },
    NoAttempt {
        instance: i64,
        attempt: i32,
    },
    LogMissing {
        attempt: i32,
    },

    // Input.
    NotValid {
        what: String,
        value: String,
    },
    /// A page address with no instance id where one belongs.
    NotAnInstance,
    WholeNumber {
        field: String,
    },
    BadDate {
        field: String,
        value: String,
    },
    DateOutOfRange {
        field: String,
        value: String,
        from: i32,
        to: i32,
    },
    UnknownState {
        value: String,
        expected: String,
    },
    UnknownFilter {
        key: String,
        expected: String,
    },
    BadLimit {
        value: String,
        max: u32,
    },
    BadCursor {
        value: String,
    },
    TextLength {
        field: String,
        max: usize,
    },
    ControlCharacter {
        field: String,
        character: u32,
    },
    InvisibleCharacter {
        field: String,
        character: u32,
    },
    UserName {
        name: String,
    },
    PasswordTooShort {
        min: usize,
    },
    PasswordTooLong,
    PasswordNul,
    TokenDays {
        max: u32,
    },

    // Definitions.
    Cycle {
        path: Vec<String>,
    },
    UnknownUpstream {
        node: String,
        upstream: String,
    },
    BadSchedule {
        node: String,
        schedule: String,
        detail: String,
    },
    TooFrequent {
        node: String,
        schedule: String,
        minutes: u32,
    },
    DuplicateNode {
        node: String,
    },
    EmptyCommand {
        node: String,
    },
    BadNodeName {
        name: String,
    },
    UnknownResourceGroup {
        node: String,
        group: String,
    },
    NodeField {
        node: String,
        problem: Box<Reason>,
    },
    BadWorkflowName {
        name: String,
    },
    OwnerEmpty,
    TimeoutZero,
    TooManyRetries {
        max: u32,
    },
    UpstreamTwice {
        upstream: String,
    },
    /// A name in `depends_on_previous` that is no node.
    UnknownPreviousNode {
        node: String,
        name: String,
    },
    PreviousTwice {
        name: String,
    },
    /// A node's `calendar` that is no calendar.
    UnknownCalendar {
        node: String,
        calendar: String,
    },
    /// A calendar that nodes still use cannot be deleted.
    CalendarInUse {
        calendar: String,
        nodes: Vec<String>,
    },
    TooManyHolidays {
        max: usize,
    },
    TooManyCalendars {
        max: u64,
    },
    BadResourceGroup {
        group: String,
        detail: String,
    },
    StillNeeded {
        node: String,
        downstream: Vec<String>,
    },
    BadFile {
        file: String,
        detail: String,
    },
    Rename {
        body: String,
        path: String,
    },
    TooManyNodes {
        count: usize,
        max: usize,
    },

    // Tests and backfills.
    NodeOrWorkflow,
    FromAfterTo {
        from: String,
        to: String,
    },
    TooManyDates {
        days: i64,
        max: i64,
    },
    Parallelism {
        max: u32,
        got: u32,
    },
    NotDownstreamNode {
        name: String,
        root: String,
    },
    PlanningTooSlow {
        seconds: u64,
    },
    TestTooLarge {
        count: usize,
        max: u64,
    },
    BackfillTooLarge {
        max: u64,
    },

    // Batches.
    IdsOrFilter,
    BatchTooLarge {
        max: usize,
    },
    FilterTooBroad {
        max: usize,
    },

    // Alert rules and baselines.
    BadTime {
        field: String,
        value: String,
    },
    EventNeeds {
        event: String,
        field: String,
    },
    EventIgnores {
        event: String,
        field: String,
    },
    /// A rule may not watch what only baselines fire.
    BaselineEvent {
        event: String,
    },
    Minutes {
        field: String,
        min: u32,
        max: u32,
    },
    NoChannel,
    TooManyChannels {
        max: usize,
    },
    BadWebhook {
        value: String,
    },
    BadEmail {
        value: String,
    },
    UnknownNode {
        field: String,
        name: String,
    },
    UnknownWorkflow {
        name: String,
    },
    TooManyBaselineNodes {
        max: usize,
    },
    /// The project holds as many alert rules (or baselines) as it may.
    TooManyRules {
        max: u64,
    },
    TooManyBaselines {
        max: u64,
    },
    /// The run date has no instances of the baseline's nodes (no snapshot yet).
    BaselineNoInstances {
        name: String,
        run_date: String,
    },
}

impl Reason {
    /// The kind of failure, which decides the HTTP status.
    pub fn code(&self) -> ErrorCode {
        use Reason::*;
        match self {
            Denied { .. } | CurrentPasswordWrong => ErrorCode::Forbidden,
            Refused { .. }
            | Taken { .. }
            | OwnAccount
            | StillNeeded { .. }
            | TooManyRules { .. }
            | TooManyBaselines { .. }
            | CalendarInUse { .. }
            | TooManyCalendars { .. } => ErrorCode::Conflict,
            Selection { refusal: SelectionRefusal::Ineligible { .. } } => ErrorCode::Conflict,
            NotSignedIn | WrongPassword => ErrorCode::Unauthorized,
            TooManyLogins { .. } => ErrorCode::TooManyRequests,
            NotFound { .. } | NoAttempt { .. } | LogMissing { .. } | BaselineNoInstances { .. } => {
                ErrorCode::NotFound
            }
            _ => ErrorCode::BadRequest,
        }
    }

    /// The input field it is about, when there is one (forms show it there).
    pub fn field(&self) -> Option<&str> {
        use Reason::*;
        match self {
            WholeNumber { field }
            | BadDate { field, .. }
            | DateOutOfRange { field, .. }
            | TextLength { field, .. }
            | ControlCharacter { field, .. }
            | InvisibleCharacter { field, .. }
            | BadTime { field, .. }
            | EventNeeds { field, .. }
            | EventIgnores { field, .. }
            | Minutes { field, .. }
            | UnknownNode { field, .. } => Some(field),
            NoChannel | TooManyChannels { .. } | BadWebhook { .. } | BadEmail { .. } => {
                Some("channels")
            }
            BaselineEvent { .. } => Some("event"),
            UnknownWorkflow { .. } => Some("workflow"),
            TooManyBaselineNodes { .. } => Some("nodes"),
            UserName { .. } | Taken { .. } | DuplicateNode { .. } | BadNodeName { .. } => {
                Some("name")
            }
            Rename { .. } => Some("name"),
            PasswordTooShort { .. } | PasswordTooLong | PasswordNul => Some("password"),
            CurrentPasswordMissing | CurrentPasswordWrong => Some("current_password"),
            TokenDays { .. } => Some("expires_in_days"),
            Cycle { .. } | UnknownUpstream { .. } => Some("upstream"),
            BadSchedule { .. } | TooFrequent { .. } => Some("schedule"),
            EmptyCommand { .. } => Some("command"),
            UnknownResourceGroup { .. } => Some("resource_group"),
            BadWorkflowName { .. } => Some("workflow"),
            OwnerEmpty => Some("owner"),
            TimeoutZero => Some("timeout_secs"),
            TooManyRetries { .. } => Some("retries"),
            UpstreamTwice { .. } => Some("upstream"),
            UnknownPreviousNode { .. } | PreviousTwice { .. } => Some("depends_on_previous"),
            UnknownCalendar { .. } => Some("calendar"),
            TooManyHolidays { .. } => Some("holidays"),
            NodeField { problem, .. } => problem.field(),
            FromAfterTo { .. } | TooManyDates { .. } => Some("from"),
            Parallelism { .. } => Some("parallelism"),
            _ => None,
        }
    }

    /// The sentence people read, in their language.
    pub fn describe(&self, l: Locale) -> String {
        use Reason::*;
        let field_of = |field: &str| field_label(l, field);
        match self {
            Denied { denial } => denial.describe(l),
            Refused { refusal } => refusal.describe(l),
            Selection { refusal } => refusal.describe(l),

            NotSignedIn => td_string!(l, errors.not_signed_in).into(),
            WrongPassword => td_string!(l, errors.wrong_password).into(),
            TooManyLogins { seconds } => td_string!(l, errors.too_many_logins, seconds),
            CurrentPasswordMissing => td_string!(l, errors.current_password_missing).into(),
            CurrentPasswordWrong => td_string!(l, errors.current_password_wrong).into(),
            OwnAccount => td_string!(l, errors.own_account).into(),

            NotFound { thing, name } => match thing {
                Thing::Instance => td_string!(l, errors.not_found.instance, name),
                Thing::Node => td_string!(l, errors.not_found.node, name),
                Thing::Workflow => td_string!(l, errors.not_found.workflow, name),
                Thing::Backfill => td_string!(l, errors.not_found.backfill, name),
                Thing::AuditEntry => td_string!(l, errors.not_found.audit_entry, name),
                Thing::Token => td_string!(l, errors.not_found.token, name),
                Thing::User => td_string!(l, errors.not_found.user, name),
                Thing::ResourceGroup => td_string!(l, errors.not_found.resource_group, name),
                Thing::AlertRule => td_string!(l, errors.not_found.alert_rule, name),
                Thing::Baseline => td_string!(l, errors.not_found.baseline, name),
                Thing::NodeVersion => td_string!(l, errors.not_found.node_version, name),
                Thing::Calendar => td_string!(l, errors.not_found.calendar, name),
            },
            Taken { thing, name } => match thing {
                Thing::Node => td_string!(l, errors.taken.node, name),
                Thing::User => td_string!(l, errors.taken.user, name),
                Thing::ResourceGroup => td_string!(l, errors.taken.resource_group, name),
                _ => td_string!(l, errors.taken.other, name),
            },
            NoAttempt { instance, attempt } => td_string!(l, errors.no_attempt, instance, attempt),
            LogMissing { attempt } => td_string!(l, errors.log_missing, attempt),

            NotAnInstance => td_string!(l, errors.not_an_instance).into(),
            NotValid { what, value } => {
                td_string!(l, errors.not_valid, what = field_of(what), value)
            }
            WholeNumber { field } => td_string!(l, errors.whole_number, field = field_of(field)),
            BadDate { field, value } => {
                td_string!(l, errors.bad_date, field = field_of(field), value)
            }
            DateOutOfRange { field, value, from, to } => {
                td_string!(l, errors.date_out_of_range, field = field_of(field), value, from, to)
            }
            UnknownState { value, expected } => {
                td_string!(l, errors.unknown_state, value, expected)
            }
            UnknownFilter { key, expected } => td_string!(l, errors.unknown_filter, key, expected),
            BadLimit { value, max } => td_string!(l, errors.bad_limit, value, max),
            BadCursor { value } => td_string!(l, errors.bad_cursor, value),
            TextLength { field, max } => {
                td_string!(l, errors.text_length, field = field_of(field), max)
            }
            ControlCharacter { field, character } => td_string!(
                l,
                errors.control_character,
                field = field_of(field),
                code = format!("{character:04X}")
            ),
            InvisibleCharacter { field, character } => td_string!(
                l,
                errors.invisible_character,
                field = field_of(field),
                code = format!("{character:04X}")
            ),
            UserName { name } => td_string!(l, errors.user_name, name),
            PasswordTooShort { min } => td_string!(l, errors.password_too_short, min),
            PasswordTooLong => td_string!(l, errors.password_too_long).into(),
            PasswordNul => td_string!(l, errors.password_nul).into(),
            TokenDays { max } => td_string!(l, errors.token_days, max),

            Cycle { path } => td_string!(l, errors.node.cycle, path = path.join(" → ")),
            UnknownUpstream { node, upstream } => {
                td_string!(l, errors.node.unknown_upstream, node, upstream)
            }
            BadSchedule { node, schedule, detail } => {
                td_string!(l, errors.node.bad_schedule, node, schedule, detail)
            }
            TooFrequent { node, schedule, minutes } => {
                td_string!(l, errors.node.too_frequent, node, schedule, minutes)
            }
            DuplicateNode { node } => td_string!(l, errors.node.duplicate, node),
            EmptyCommand { node } => td_string!(l, errors.node.empty_command, node),
            BadNodeName { name } => td_string!(l, errors.node.bad_name, name),
            UnknownResourceGroup { node, group } => {
                td_string!(l, errors.node.unknown_group, node, group)
            }
            NodeField { node, problem } => {
                td_string!(l, errors.node.field, node, problem = problem.describe(l))
            }
            BadWorkflowName { name } => td_string!(l, errors.node.bad_workflow, name),
            OwnerEmpty => td_string!(l, errors.node.owner_empty).into(),
            TimeoutZero => td_string!(l, errors.node.timeout_zero).into(),
            TooManyRetries { max } => td_string!(l, errors.node.too_many_retries, max),
            UpstreamTwice { upstream } => td_string!(l, errors.node.upstream_twice, upstream),
            UnknownPreviousNode { node, name } => {
                td_string!(l, errors.node.unknown_previous, node, name)
            }
            PreviousTwice { name } => td_string!(l, errors.node.previous_twice, name),
            UnknownCalendar { node, calendar } => {
                td_string!(l, errors.node.unknown_calendar, node, calendar)
            }
            CalendarInUse { calendar, nodes } => td_string!(
                l,
                errors.calendar.in_use,
                calendar,
                nodes = nodes.join(td_string!(l, common.list.separator))
            ),
            TooManyHolidays { max } => td_string!(l, errors.calendar.too_many_holidays, max),
            TooManyCalendars { max } => td_string!(l, errors.calendar.too_many, max),
            BadResourceGroup { group, detail } => {
                td_string!(l, errors.node.bad_group, group, detail)
            }
            StillNeeded { node, downstream } => td_string!(
                l,
                errors.node.still_needed,
                node,
                downstream = downstream.join(td_string!(l, common.list.separator))
            ),
            BadFile { file, detail } => td_string!(l, errors.node.bad_file, file, detail),
            Rename { body, path } => td_string!(l, errors.node.rename, body, path),
            TooManyNodes { count, max } => td_string!(l, errors.node.too_many, count, max),

            NodeOrWorkflow => td_string!(l, errors.job.node_or_workflow).into(),
            FromAfterTo { from, to } => td_string!(l, errors.job.from_after_to, from, to),
            TooManyDates { days, max } => td_string!(l, errors.job.too_many_dates, days, max),
            Parallelism { max, got } => td_string!(l, errors.job.parallelism, max, got),
            NotDownstreamNode { name, root } => {
                td_string!(l, errors.job.not_downstream, name, root)
            }
            PlanningTooSlow { seconds } => td_string!(l, errors.job.planning_too_slow, seconds),
            TestTooLarge { count, max } => td_string!(l, errors.job.test_too_large, count, max),
            BackfillTooLarge { max } => td_string!(l, errors.job.backfill_too_large, max),

            IdsOrFilter => td_string!(l, errors.batch.ids_or_filter).into(),
            BatchTooLarge { max } => td_string!(l, errors.batch.too_large, max),
            FilterTooBroad { max } => td_string!(l, errors.batch.too_broad, max),

            BadTime { field, value } => {
                td_string!(l, errors.alert.bad_time, field = field_of(field), value)
            }
            EventNeeds { event, field } => td_string!(
                l,
                errors.alert.event_needs,
                event = event_words(l, event),
                field = field_of(field)
            ),
            EventIgnores { event, field } => td_string!(
                l,
                errors.alert.event_ignores,
                event = event_words(l, event),
                field = field_of(field)
            ),
            BaselineEvent { event } => {
                td_string!(l, errors.alert.baseline_event, event = event_words(l, event))
            }
            Minutes { field, min, max } => {
                td_string!(l, errors.alert.minutes, field = field_of(field), min, max)
            }
            NoChannel => td_string!(l, errors.alert.no_channel).into(),
            TooManyChannels { max } => td_string!(l, errors.alert.too_many_channels, max),
            BadWebhook { value } => td_string!(l, errors.alert.bad_webhook, value),
            BadEmail { value } => td_string!(l, errors.alert.bad_email, value),
            UnknownNode { name, .. } => td_string!(l, errors.not_found.node, name),
            UnknownWorkflow { name } => td_string!(l, errors.not_found.workflow, name),
            TooManyBaselineNodes { max } => td_string!(l, errors.alert.too_many_nodes, max),
            TooManyRules { max } => td_string!(l, errors.alert.too_many_rules, max),
            TooManyBaselines { max } => td_string!(l, errors.alert.too_many_baselines, max),
            BaselineNoInstances { name, run_date } => {
                td_string!(l, errors.alert.no_instances, name, run_date)
            }
        }
    }
}

/// An alert event's words (`AlertEvent::label`), or its code when it is none we know. Here, not
/// in `alerts`, so that reasons need nothing of the alert models.
pub fn event_label(l: Locale, event: &str) -> Option<&'static str> {
    Some(match event {
        "failed" => td_string!(l, alerts.event.failed),
        "retries_exhausted" => td_string!(l, alerts.event.retries_exhausted),
        "not_finished_by" => td_string!(l, alerts.event.not_finished_by),
        "running_longer_than" => td_string!(l, alerts.event.running_longer_than),
        "recovered" => td_string!(l, alerts.event.recovered),
        "at_risk" => td_string!(l, alerts.event.at_risk),
        "late" => td_string!(l, alerts.event.late),
        _ => return None,
    })
}

fn event_words(l: Locale, event: &str) -> String {
    event_label(l, event).map_or_else(|| event.to_string(), str::to_string)
}

/// The words for an input field's code (`expires_in_days` → "days until it expires"); a code
/// we have no words for is shown as it is.
pub fn field_label(l: Locale, field: &str) -> String {
    let words = match field {
        "name" => td_string!(l, errors.fields.name),
        "password" => td_string!(l, errors.fields.password),
        "current_password" => td_string!(l, errors.fields.current_password),
        "owner" => td_string!(l, errors.fields.owner),
        "command" => td_string!(l, errors.fields.command),
        "workflow" => td_string!(l, errors.fields.workflow),
        "schedule" => td_string!(l, errors.fields.schedule),
        "upstream" => td_string!(l, errors.fields.upstream),
        "depends_on_previous" => td_string!(l, errors.fields.depends_on_previous),
        "paused" => td_string!(l, errors.fields.paused),
        "calendar" => td_string!(l, errors.fields.calendar),
        "holidays" => td_string!(l, errors.fields.holidays),
        "resource_group" => td_string!(l, errors.fields.resource_group),
        "timeout_secs" => td_string!(l, errors.fields.timeout_secs),
        "retries" => td_string!(l, errors.fields.retries),
        "retry_delay_secs" => td_string!(l, errors.fields.retry_delay_secs),
        "priority" => td_string!(l, errors.fields.priority),
        "bizdate" => td_string!(l, errors.fields.bizdate),
        "run_date" => td_string!(l, errors.fields.run_date),
        "from" => td_string!(l, errors.fields.from),
        "to" => td_string!(l, errors.fields.to),
        "parallelism" => td_string!(l, errors.fields.parallelism),
        "expires_in_days" => td_string!(l, errors.fields.expires_in_days),
        "instance" => td_string!(l, errors.fields.instance),
        "job" => td_string!(l, errors.fields.job),
        "limit" => td_string!(l, errors.fields.limit),
        "cursor" => td_string!(l, errors.fields.cursor),
        "outcome" => td_string!(l, errors.fields.outcome),
        "role" => td_string!(l, errors.fields.role),
        "node" => td_string!(l, errors.fields.node),
        "nodes" => td_string!(l, errors.fields.nodes),
        "event" => td_string!(l, errors.fields.event),
        "at" => td_string!(l, errors.fields.at),
        "minutes" => td_string!(l, errors.fields.minutes),
        "channels" => td_string!(l, errors.fields.channels),
        "cooldown_mins" => td_string!(l, errors.fields.cooldown_mins),
        "commit_by" => td_string!(l, errors.fields.commit_by),
        "margin_mins" => td_string!(l, errors.fields.margin_mins),
        other => return other.replace('_', " "),
    };
    words.to_string()
}

/// An error the server gave no reason for (a failure on the way, a request no page sends): its
/// kind in the page's language, then the server's words.
pub fn unexplained(l: Locale, code: ErrorCode, message: &str) -> String {
    if l == Locale::en {
        return message.to_string();
    }
    let kind = match code {
        ErrorCode::BadRequest => td_string!(l, errors.kind.bad_request),
        ErrorCode::Unauthorized => td_string!(l, errors.kind.unauthorized),
        ErrorCode::Forbidden => td_string!(l, errors.kind.forbidden),
        ErrorCode::NotFound => td_string!(l, errors.kind.not_found),
        ErrorCode::Conflict => td_string!(l, errors.kind.conflict),
        ErrorCode::PayloadTooLarge => td_string!(l, errors.kind.too_large),
        ErrorCode::TooManyRequests => td_string!(l, errors.kind.too_many),
        ErrorCode::Internal => td_string!(l, errors.kind.internal),
    };
    td_string!(l, errors.kind.with_details, kind, message)
}

impl From<Reason> for AppError {
    fn from(reason: Reason) -> Self {
        AppError::because(reason)
    }
}

impl From<Denial> for AppError {
    fn from(denial: Denial) -> Self {
        AppError::because(Reason::Denied { denial })
    }
}

impl From<Refusal> for AppError {
    fn from(refusal: Refusal) -> Self {
        AppError::because(Reason::Refused { refusal })
    }
}

impl From<Objection> for AppError {
    fn from(objection: Objection) -> Self {
        match objection {
            Objection::Denied(denial) => denial.into(),
            Objection::Refused(refusal) => refusal.into(),
        }
    }
}

impl From<SelectionRefusal> for AppError {
    fn from(refusal: SelectionRefusal) -> Self {
        AppError::because(Reason::Selection { refusal })
    }
}
