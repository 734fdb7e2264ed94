//! Property tests of what people type (issue 18): the instance filter of a URL, dates, times,
//! schedules in words, the alert and audit queries, alert rules and baselines. Whatever the
//! input, the parsers answer — a value or an error that says what is wrong — and never panic;
//! what they accept reads back the same.

use app::alerts::{AlertQuery, AlertRuleSpec, Channel, parse_hhmm};
use app::audit::AuditQuery;
use app::baselines::BaselineSpec;
use app::i18n::Locale;
use app::model::{InstanceFilter, parse_date};
use proptest::prelude::*;

/// Keys a URL may carry, and some it may not.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "state", "owner", "node", "workflow", "run_type", "bizdate", "run_date", "job",
            "limit", "cursor", "rule", "instance", "status", "actor", "action", "outcome",
            "subject",
        ])
        .prop_map(str::to_string),
        "[a-z_]{0,12}",
    ]
}

/// Values: plausible ones (states, dates, numbers) and anything at all.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "failed",
            "running,success",
            "any",
            "cycle",
            "backfill",
            "2026-12-01",
            "0",
            "-1",
            "50",
            "501",
            "9223372036854775808",
            " ",
            ",,",
            "delivered",
            "ok",
        ])
        .prop_map(str::to_string),
        "[0-9-]{0,12}",
        any::<String>(),
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((key(), value()), 0..6)
}

fn as_refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

proptest! {
    #[test]
    fn the_instance_filter_of_any_url_is_read_or_refused_and_reads_back_the_same(pairs in pairs()) {
        match InstanceFilter::from_query(as_refs(&pairs)) {
            Ok((filter, _page)) => {
                let again: Vec<(String, String)> = filter
                    .to_query_pairs()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                let (read, _) = InstanceFilter::from_query(as_refs(&again)).expect("its own URL");
                prop_assert_eq!(read, filter);
            }
            Err(error) => prop_assert!(!error.message.is_empty()),
        }
    }

    #[test]
    fn alert_and_audit_queries_are_read_or_refused(pairs in pairs()) {
        if let Err(error) = AlertQuery::from_pairs(as_refs(&pairs)) {
            prop_assert!(!error.message.is_empty());
        }
        if let Err(error) = AuditQuery::from_pairs(as_refs(&pairs)) {
            prop_assert!(!error.message.is_empty());
        }
    }

    #[test]
    fn dates_are_read_exactly_or_refused_with_their_field(text in prop_oneof![
        "[0-9]{4}-[0-9]{2}-[0-9]{2}", "[0-9 -]{0,12}", any::<String>()
    ]) {
        match parse_date("bizdate", &text) {
            Ok(date) => prop_assert_eq!(parse_date("bizdate", &date.to_string()).unwrap(), date),
            Err(error) => prop_assert_eq!(error.field.as_deref(), Some("bizdate")),
        }
    }

    #[test]
    fn times_of_day_are_hh_mm_or_refused(text in prop_oneof!["[0-9]{1,3}:[0-9]{1,3}", any::<String>()]) {
        match parse_hhmm("at", &text) {
            Ok(time) => prop_assert_eq!(time.format("%H:%M").to_string(), text),
            Err(error) => prop_assert_eq!(error.field.as_deref(), Some("at")),
        }
    }

    #[test]
    fn any_schedule_is_put_into_words_in_either_language(text in prop_oneof![
        "[0-9*/,-]{1,4} [0-9*/,-]{1,4} [0-9*/,-LW#?]{1,4} [0-9*/,A-Z-]{1,4} [0-9*/,A-Z#L-]{1,4}",
        "@[a-z]{0,8}",
        any::<String>(),
    ]) {
        for locale in [Locale::en, Locale::zh_CN] {
            prop_assert!(!app::schedule_words::describe(locale, &text).is_empty());
        }
    }

    #[test]
    fn rules_and_baselines_are_accepted_or_refused_at_a_field(
        name in any::<String>(),
        node in proptest::option::of("[a-z_.-]{0,10}"),
        event in 0usize..7,
        at in proptest::option::of(any::<String>()),
        minutes in proptest::option::of(any::<u32>()),
        hooks in prop::collection::vec(any::<String>(), 0..12),
        margin in any::<u32>(),
    ) {
        let events = [
            app::alerts::AlertEvent::Failed, app::alerts::AlertEvent::RetriesExhausted,
            app::alerts::AlertEvent::NotFinishedBy, app::alerts::AlertEvent::RunningLongerThan,
            app::alerts::AlertEvent::Recovered, app::alerts::AlertEvent::AtRisk,
            app::alerts::AlertEvent::Late,
        ];
        let channels: Vec<Channel> = hooks
            .iter()
            .enumerate()
            .map(|(k, h)| if k % 2 == 0 { Channel::Webhook(h.clone()) } else { Channel::Email(h.clone()) })
            .collect();
        let rule = AlertRuleSpec {
            name: name.clone(),
            workflow: None,
            node: node.clone(),
            owner: None,
            event: events[event],
            at: at.clone(),
            minutes,
            channels: channels.clone(),
            cooldown_mins: None,
        }
        .normalized();
        if let Err(error) = rule.check() {
            prop_assert!(error.field.is_some(), "{}", error.message);
        }
        let baseline = BaselineSpec {
            name,
            nodes: node.into_iter().collect(),
            commit_by: at.unwrap_or_default(),
            margin_mins: margin,
            channels,
        }
        .normalized();
        if let Err(error) = baseline.check() {
            prop_assert!(error.field.is_some(), "{}", error.message);
        }
    }
}
