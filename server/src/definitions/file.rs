//! The workflow-as-code file format (TOML): `[[resource_groups]]`, `[[calendars]]` and
//! `[[nodes]]` with exactly the fields of the API.

use std::collections::HashSet;
use std::path::Path;

use app::calendars::Calendar;
use app::error::AppError;
use app::nodes::{NodeSpec, ResourceGroup};
use serde::Deserialize;

use super::validate::{DefinitionError, Result, check_spec, valid_name};

/// A workflow-as-code file (TOML):
///
/// ```toml
/// [[resource_groups]]
/// name = "etl"
/// slots = 2
///
/// [[calendars]]
/// name = "cn_workdays"
/// holidays = ["2026-01-01", { from = "2026-10-01", to = "2026-10-07" }]
///
/// [[nodes]]
/// name = "ods_orders"
/// calendar = "cn_workdays"
/// workflow = "sales"
/// command = "python load.py --date ${bizdate}"
/// schedule = "30 0 * * *"
/// upstream = []
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefinitionFile {
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroup>,
    #[serde(default)]
    pub calendars: Vec<Calendar>,
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
}

impl DefinitionFile {
    /// Parses one file's text; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<DefinitionFile> {
        toml::from_str(text).map_err(|e| DefinitionError::BadFile {
            file: origin.to_string(),
            message: e.to_string().trim().replace('\n', " "),
        })
    }

    /// Reads a file, or every `*.toml` file of a directory (in name order), as one definition.
    pub fn read(path: &Path) -> Result<DefinitionFile> {
        let bad = |message: String| DefinitionError::BadFile {
            file: path.display().to_string(),
            message,
        };
        let files = if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| bad(e.to_string()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(bad("no .toml files in this directory".into()));
            }
            files
        } else {
            vec![path.to_path_buf()]
        };
        let mut all = DefinitionFile::default();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| DefinitionError::BadFile {
                file: file.display().to_string(),
                message: e.to_string(),
            })?;
            let part = DefinitionFile::parse(&file.display().to_string(), &text)?;
            all.resource_groups.extend(part.resource_groups);
            all.calendars.extend(part.calendars);
            all.nodes.extend(part.nodes);
        }
        Ok(all)
    }

    /// The checks that need no database: names, fields, duplicates within the file.
    pub fn check(&self) -> Result<()> {
        let mut names = HashSet::new();
        for spec in &self.nodes {
            check_spec(spec)?;
            if !names.insert(spec.name.as_str()) {
                return Err(DefinitionError::Duplicate(spec.name.clone()));
            }
        }
        self.check_groups()
    }

    /// The calendars as they are stored, each checked on its own as it was sent (a name given
    /// twice: the last one counts, as for resource groups).
    pub fn check_calendars(&mut self) -> Result<(), AppError> {
        let mut last = std::collections::HashMap::new();
        for (k, calendar) in self.calendars.iter().enumerate() {
            calendar.check()?;
            last.insert(calendar.name.clone(), k);
        }
        let calendars = std::mem::take(&mut self.calendars);
        self.calendars = calendars
            .into_iter()
            .enumerate()
            .filter(|(k, c)| last[&c.name] == *k)
            .map(|(_, c)| c.normalized())
            .collect();
        Ok(())
    }

    /// The resource groups' own rules (names, slots, backfill share): checked before anything
    /// is written.
    pub fn check_groups(&self) -> Result<()> {
        for group in &self.resource_groups {
            let bad = |message: &str| DefinitionError::BadResourceGroup {
                group: group.name.clone(),
                message: message.to_string(),
            };
            if !valid_name(&group.name) {
                return Err(bad("use 1 to 128 letters, digits, '_', '-' or '.' in its name"));
            }
            if group.slots == 0 {
                return Err(bad("it must have at least one slot"));
            }
            if group.backfill_slots.is_some_and(|b| b > group.slots) {
                return Err(bad("backfill_slots cannot be more than its slots"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> NodeSpec {
        DefinitionFile::parse(
            "t",
            &format!("[[nodes]]\nname = \"{name}\"\nowner = \"ann\"\ncommand = \"true\"\n"),
        )
        .unwrap()
        .nodes
        .remove(0)
    }

    #[test]
    fn files_refuse_unknown_fields_and_duplicates() {
        let err = DefinitionFile::parse(
            "f.toml",
            "[[nodes]]\nname = \"a\"\ncommand = \"x\"\ncomand = 1\n",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("f.toml: "), "{err}");
        let file = DefinitionFile::parse(
            "f.toml",
            "[[nodes]]\nname = \"a\"\nowner = \"o\"\ncommand = \"x\"\n[[nodes]]\nname = \"a\"\nowner = \"o\"\ncommand = \"y\"\n",
        )
        .unwrap();
        assert_eq!(file.check(), Err(DefinitionError::Duplicate("a".into())));
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let s = spec("n");
        assert_eq!(s.workflow, "default");
        assert_eq!(s.resource_group, "default");
        assert_eq!(s.schedule, "0 0 * * *");
        assert_eq!(s.retries, 0);
        assert!(!s.paused);
    }
}
