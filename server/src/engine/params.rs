//! Parameters substituted into a node's command at run time. Unknown `${...}` are left alone so
//! shell variables keep working.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// The values of one run.
#[derive(Debug, Clone)]
pub struct RunParams {
    pub bizdate: NaiveDate,
    pub planned_at: DateTime<Utc>,
    pub tz: Tz,
}

impl RunParams {
    /// `(name, value)` of every parameter: `bizdate` (YYYYMMDD), `cyctime` (the planned time,
    /// YYYYMMDDHHMMSS in the configured time zone), `bizdate_iso` (YYYY-MM-DD).
    pub fn values(&self) -> [(&'static str, String); 3] {
        [
            ("bizdate", self.bizdate.format("%Y%m%d").to_string()),
            ("cyctime", self.planned_at.with_timezone(&self.tz).format("%Y%m%d%H%M%S").to_string()),
            ("bizdate_iso", self.bizdate.to_string()),
        ]
    }

    pub fn substitute(&self, command: &str) -> String {
        let mut out = command.to_string();
        for (name, value) in self.values() {
            out = out.replace(&format!("${{{name}}}"), &value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_parameters_are_replaced_and_others_kept() {
        let params = RunParams {
            bizdate: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            planned_at: "2026-11-23T16:30:00Z".parse().unwrap(),
            tz: "Asia/Shanghai".parse().unwrap(),
        };
        assert_eq!(
            params
                .substitute("load --date ${bizdate} --at ${cyctime} --home ${HOME} ${bizdate_iso}"),
            "load --date 20261123 --at 20261124003000 --home ${HOME} 2026-11-23"
        );
    }
}
