use chrono::{DateTime, Datelike, Timelike, Utc};

// Written out by hand rather than with chrono's strftime formatting, which would add tens of
// kilobytes to the browser bundle.

/// A compact, deterministic rendering of a timestamp (the same on server and browser).
pub fn short_time(at: DateTime<Utc>) -> String {
    format!(
        "{:02}-{:02} {:02}:{:02}:{:02}",
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn full_time(at: DateTime<Utc>) -> String {
    format!("{} {:02}:{:02}:{:02} UTC", at.date_naive(), at.hour(), at.minute(), at.second())
}

pub fn optional_time(at: Option<DateTime<Utc>>) -> String {
    at.map(short_time).unwrap_or_else(|| "—".to_string())
}

/// A duration in milliseconds: tenths of a second below a minute (`0.3s`, `42.5s`), then as
/// [`duration`].
pub fn duration_ms(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 60_000 { format!("{}.{}s", ms / 1000, (ms % 1000) / 100) } else { duration(ms / 1000) }
}

/// A duration in seconds as people say it: `42s`, `3m 05s`, `2h 10m`.
pub fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}
