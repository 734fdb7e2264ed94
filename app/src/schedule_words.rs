//! A cron expression in words ("daily at 00:30", "每天 00:30"), for people reading definitions.
//! Only the common shapes get words; anything else is shown as its expression.

use crate::i18n::{Locale, td_string};

/// The name of a day of the week as cron numbers it (0 and 7 are Sunday).
fn weekday(l: Locale, d: u32) -> Option<&'static str> {
    Some(match d {
        0 | 7 => td_string!(l, tasks.schedule.weekday.sunday),
        1 => td_string!(l, tasks.schedule.weekday.monday),
        2 => td_string!(l, tasks.schedule.weekday.tuesday),
        3 => td_string!(l, tasks.schedule.weekday.wednesday),
        4 => td_string!(l, tasks.schedule.weekday.thursday),
        5 => td_string!(l, tasks.schedule.weekday.friday),
        6 => td_string!(l, tasks.schedule.weekday.saturday),
        _ => return None,
    })
}

/// Describes a 5-field cron expression or alias, in the given language.
pub fn describe(l: Locale, expr: &str) -> String {
    let expr = expr.trim();
    let at = |h: u32, m: u32| format!("{h:02}:{m:02}");
    let daily = |time: String| td_string!(l, tasks.schedule.daily, time);
    let weekly = |day: &str, time: String| td_string!(l, tasks.schedule.weekly, day, time);
    let monthly = |day: u32, time: String| td_string!(l, tasks.schedule.monthly, day, time);
    // Minute `m` of every hour: `:05` in English, 第 5 分钟 in Chinese (整点 for minute 0).
    let hourly = |m: u32| {
        if m == 0 {
            td_string!(l, tasks.schedule.hourly_top).to_string()
        } else {
            td_string!(l, tasks.schedule.hourly, mm = format!("{m:02}"), m)
        }
    };
    let every_hours = |n: u32, m: u32| {
        if m == 0 {
            td_string!(l, tasks.schedule.every_n_hours_top, n)
        } else {
            td_string!(l, tasks.schedule.every_n_hours, n, mm = format!("{m:02}"), m)
        }
    };
    let cron = || td_string!(l, tasks.schedule.cron, expr);
    match expr {
        "@hourly" => return hourly(0),
        "@daily" | "@midnight" => return daily(at(0, 0)),
        "@weekly" => return weekly(weekday(l, 0).unwrap_or("?"), at(0, 0)),
        "@monthly" => return monthly(1, at(0, 0)),
        "@yearly" | "@annually" => return td_string!(l, tasks.schedule.yearly).to_string(),
        _ => {}
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields.as_slice() else {
        return cron();
    };
    let number = |s: &str| s.parse::<u32>().ok();
    match (number(minute), number(hour), *dom, *month, *dow) {
        (Some(m), Some(h), "*", "*", "*") => daily(at(h, m)),
        (Some(m), None, "*", "*", "*") if *hour == "*" => hourly(m),
        (Some(m), None, "*", "*", "*") => match hour.strip_prefix("*/").and_then(number) {
            Some(n) => every_hours(n, m),
            None => cron(),
        },
        (Some(m), Some(h), "*", "*", d) if number(d).and_then(|d| weekday(l, d)).is_some() => {
            weekly(number(d).and_then(|d| weekday(l, d)).unwrap_or("?"), at(h, m))
        }
        (Some(m), Some(h), d, "*", "*") if number(d).is_some() => {
            monthly(number(d).unwrap_or(1), at(h, m))
        }
        (None, None, "*", "*", "*") if *hour == "*" => {
            match minute.strip_prefix("*/").and_then(number) {
                Some(n) => td_string!(l, tasks.schedule.every_n_minutes, n),
                None if *minute == "*" => td_string!(l, tasks.schedule.every_minute).to_string(),
                None => cron(),
            }
        }
        _ => cron(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe;
    use crate::i18n::Locale;

    #[test]
    fn common_shapes_read_as_words() {
        for (cron, en, zh) in [
            ("30 0 * * *", "daily at 00:30", "每天 00:30"),
            ("0 1 * * *", "daily at 01:00", "每天 01:00"),
            ("0 * * * *", "hourly at :00", "每小时整点"),
            ("5 * * * *", "hourly at :05", "每小时第 5 分钟"),
            ("0 */4 * * *", "every 4 hours at :00", "每 4 小时整点"),
            ("30 */2 * * *", "every 2 hours at :30", "每 2 小时的第 30 分钟"),
            ("0 7 * * 1", "weekly on Monday at 07:00", "每周一 07:00"),
            ("0 2 * * 0", "weekly on Sunday at 02:00", "每周日 02:00"),
            ("0 2 * * 7", "weekly on Sunday at 02:00", "每周日 02:00"),
            ("15 2 1 * *", "monthly on day 1 at 02:15", "每月 1 日 02:15"),
            ("*/5 * * * *", "every 5 minutes", "每 5 分钟"),
            ("* * * * *", "every minute", "每分钟"),
            ("@hourly", "hourly at :00", "每小时整点"),
            ("@daily", "daily at 00:00", "每天 00:00"),
            ("@midnight", "daily at 00:00", "每天 00:00"),
            ("@weekly", "weekly on Sunday at 00:00", "每周日 00:00"),
            ("@monthly", "monthly on day 1 at 00:00", "每月 1 日 00:00"),
            ("@yearly", "yearly on January 1 at 00:00", "每年 1 月 1 日 00:00"),
            ("0 9 * * 1-5", "cron 0 9 * * 1-5", "cron 0 9 * * 1-5"),
            ("0 9 * * 8", "cron 0 9 * * 8", "cron 0 9 * * 8"),
            ("not cron", "cron not cron", "cron not cron"),
        ] {
            assert_eq!(describe(Locale::en, cron), en, "{cron}");
            assert_eq!(describe(Locale::zh_CN, cron), zh, "{cron}");
        }
    }
}
