//! Property tests of what people write into definitions (issue 18): cron schedules and
//! workflow-as-code files. Whatever the text, the parser answers — a value or an error that says
//! what is wrong — and never panics; a schedule it accepts can be planned.

use chrono::NaiveDate;
use proptest::prelude::*;
use server::definitions::DefinitionFile;
use server::engine::schedule::Schedule;

fn cron_field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        "[0-9]{1,2}",
        "[0-9]{1,2}-[0-9]{1,2}",
        "\\*/[0-9]{1,2}",
        "[0-9]{1,2},[0-9]{1,2}",
        "[A-Z]{3}",
        "[0-9LW#?]{1,3}",
        "[ -~]{0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_schedule_is_read_or_refused_and_what_is_read_can_be_planned(
        fields in prop::collection::vec(cron_field(), 0..7),
        alias in prop::option::of("@[a-z]{0,9}"),
        tz in prop::sample::select(vec!["UTC", "Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"]),
    ) {
        let text = alias.unwrap_or_else(|| fields.join(" "));
        match Schedule::parse(&text) {
            Ok(schedule) => {
                if schedule.check_fires().is_ok() {
                    let tz: chrono_tz::Tz = tz.parse().unwrap();
                    // A day when clocks change somewhere, and an ordinary one.
                    for day in [(2026, 3, 8), (2026, 10, 4), (2026, 12, 1)] {
                        let date = NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap();
                        let fires = schedule.fire_times_on(date, tz);
                        prop_assert!(fires.windows(2).all(|w| w[0] < w[1]));
                    }
                }
            }
            Err(error) => prop_assert!(!error.is_empty()),
        }
    }

    #[test]
    fn any_workflow_file_is_read_or_refused_with_a_message(text in prop_oneof![
        any::<String>(),
        "\\[\\[nodes\\]\\]\nname = \"[a-z ]{0,6}\"\n(owner|command|schedule|upstream|retries) = [\"0-9a-z \\[\\]]{0,12}\n",
        "\\[\\[resource_groups\\]\\]\nname = \"[a-z]{0,5}\"\nslots = -?[0-9]{1,12}\n",
    ]) {
        if let Err(error) = DefinitionFile::parse("fuzz.toml", &text) {
            prop_assert!(!error.to_string().is_empty());
        }
    }
}
