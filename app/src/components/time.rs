//! Times and durations as people read them. One timestamp format everywhere,
//! `2026-12-02 01:00:00` (UTC, said in the element's title), which reads the same in Chinese and
//! English; durations in the page's language (`3m 05s`, `3分05秒`).
//!
//! Written out by hand rather than with chrono's strftime formatting, which would add tens of
//! kilobytes to the browser bundle; the server and the browser render the same text.

use chrono::{DateTime, Datelike, Timelike, Utc};
use leptos::prelude::*;

use crate::i18n::{Locale, td_string};
use crate::lang::locale;

/// `YYYY-MM-DD HH:MM:SS`, in UTC.
pub fn timestamp(at: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// [`timestamp`], or a dash when there is no time (yet).
pub fn optional_time(at: Option<DateTime<Utc>>) -> String {
    at.map(timestamp).unwrap_or_else(|| "—".to_string())
}

/// A timestamp in the page: `<time>` with the machine-readable instant and "UTC" as its title.
#[component]
pub fn Timestamp(at: Option<DateTime<Utc>>) -> impl IntoView {
    let l = locale();
    view! {
        <time
            class="mono"
            datetime=at.map(|at| at.to_rfc3339())
            title=td_string!(l, common.time.utc)
        >
            {optional_time(at)}
        </time>
    }
}

/// A duration in milliseconds: tenths of a second below a minute (`0.3s`, `42.5s`), then as
/// [`duration`].
pub fn duration_ms(locale: Locale, ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 60_000 {
        let (s, tenth) = (ms / 1000, (ms % 1000) / 100);
        td_string!(locale, common.time.tenths, s, tenth)
    } else {
        duration(locale, ms / 1000)
    }
}

/// A duration in seconds as people say it: `42s`, `3m 05s`, `2h 10m` (`42秒`, `3分05秒`,
/// `2小时10分`).
pub fn duration(locale: Locale, seconds: i64) -> String {
    let seconds = seconds.max(0);
    let two = |n: i64| format!("{n:02}");
    match seconds {
        s if s < 60 => td_string!(locale, common.time.seconds, s),
        s if s < 3600 => td_string!(locale, common.time.minutes, m = s / 60, s = two(s % 60)),
        s => td_string!(locale, common.time.hours, h = s / 3600, m = two((s % 3600) / 60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_read_in_each_language() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T01:02:03Z").unwrap().with_timezone(&Utc);
        assert_eq!(timestamp(at), "2026-12-02 01:02:03");
        assert_eq!(optional_time(None), "—");
        for (seconds, en, zh) in [
            (0, "0s", "0秒"),
            (42, "42s", "42秒"),
            (185, "3m 05s", "3分05秒"),
            (7800, "2h 10m", "2小时10分"),
        ] {
            assert_eq!(duration(Locale::en, seconds), en);
            assert_eq!(duration(Locale::zh_CN, seconds), zh);
        }
        assert_eq!(duration_ms(Locale::en, 42_512), "42.5s");
        assert_eq!(duration_ms(Locale::zh_CN, 300), "0.3秒");
        assert_eq!(duration_ms(Locale::en, -5), "0.0s");
        assert_eq!(duration_ms(Locale::en, 61_000), "1m 01s");
    }
}
