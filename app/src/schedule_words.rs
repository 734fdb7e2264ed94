//! A cron expression in words ("daily at 00:30"), for people reading definitions. Only the
//! common shapes get words; anything else is shown as its expression.

/// Describes a 5-field cron expression or alias.
pub fn describe(expr: &str) -> String {
    let expr = expr.trim();
    match expr {
        "@hourly" => return "hourly at :00".into(),
        "@daily" | "@midnight" => return "daily at 00:00".into(),
        "@weekly" => return "weekly on Sunday at 00:00".into(),
        "@monthly" => return "monthly on day 1 at 00:00".into(),
        "@yearly" | "@annually" => return "yearly on January 1 at 00:00".into(),
        _ => {}
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields.as_slice() else {
        return format!("cron {expr}");
    };
    let number = |s: &str| s.parse::<u32>().ok();
    let at = |h: u32, m: u32| format!("{h:02}:{m:02}");
    let weekday = |d: u32| {
        ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
            .get(d as usize)
            .copied()
    };
    match (number(minute), number(hour), *dom, *month, *dow) {
        (Some(m), Some(h), "*", "*", "*") => format!("daily at {}", at(h, m)),
        (Some(m), None, "*", "*", "*") if *hour == "*" => format!("hourly at :{m:02}"),
        (Some(m), None, "*", "*", "*") => match hour.strip_prefix("*/").and_then(number) {
            Some(n) => format!("every {n} hours at :{m:02}"),
            None => format!("cron {expr}"),
        },
        (Some(m), Some(h), "*", "*", d) if number(d).and_then(weekday).is_some() => {
            format!("weekly on {} at {}", weekday(number(d).unwrap_or(0)).unwrap_or("?"), at(h, m))
        }
        (Some(m), Some(h), d, "*", "*") if number(d).is_some() => {
            format!("monthly on day {} at {}", number(d).unwrap_or(1), at(h, m))
        }
        (None, None, "*", "*", "*") if *hour == "*" => {
            match minute.strip_prefix("*/").and_then(number) {
                Some(n) => format!("every {n} minutes"),
                None if *minute == "*" => "every minute".into(),
                None => format!("cron {expr}"),
            }
        }
        _ => format!("cron {expr}"),
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn common_shapes_read_as_words() {
        for (cron, words) in [
            ("30 0 * * *", "daily at 00:30"),
            ("0 * * * *", "hourly at :00"),
            ("5 * * * *", "hourly at :05"),
            ("0 */4 * * *", "every 4 hours at :00"),
            ("0 7 * * 1", "weekly on Monday at 07:00"),
            ("15 2 1 * *", "monthly on day 1 at 02:15"),
            ("*/5 * * * *", "every 5 minutes"),
            ("* * * * *", "every minute"),
            ("@daily", "daily at 00:00"),
            ("0 9 * * 1-5", "cron 0 9 * * 1-5"),
            ("not cron", "cron not cron"),
        ] {
            assert_eq!(describe(cron), words, "{cron}");
        }
    }
}
