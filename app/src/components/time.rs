use chrono::{DateTime, Utc};

/// A compact, deterministic rendering of a timestamp (the same on server and browser).
pub fn short_time(at: DateTime<Utc>) -> String {
    at.format("%m-%d %H:%M:%S").to_string()
}

pub fn optional_time(at: Option<DateTime<Utc>>) -> String {
    at.map(short_time).unwrap_or_else(|| "—".to_string())
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
