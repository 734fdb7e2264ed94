//! What a command gets to work with: a clean environment (never the server's own), optionally
//! another, unprivileged OS user, and a neutral working directory. The log files are opened by
//! the server and handed over as descriptors, so a command run as another user writes its log
//! without being able to open anything in the data directory.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use nix::unistd::{Uid, User};

/// The OS user commands run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

impl RunAs {
    /// Looks the user up; refuses root, and a server that cannot switch users (not root).
    pub fn lookup(name: &str) -> Result<RunAs, String> {
        let user = User::from_name(name)
            .map_err(|e| format!("cannot look up the user '{name}': {e}"))?
            .ok_or_else(|| format!("--run-as: there is no user named '{name}'"))?;
        if user.uid.is_root() {
            return Err("--run-as must name an unprivileged user, not root".to_string());
        }
        if !Uid::effective().is_root() {
            return Err(format!(
                "--run-as {name} needs the server to run as root (it switches users to run \
                 commands)"
            ));
        }
        Ok(RunAs {
            name: user.name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            home: user.dir,
        })
    }
}

/// How commands are started.
#[derive(Debug, Clone, Default)]
pub struct CommandSetup {
    pub run_as: Option<RunAs>,
    /// What the administrator gives every command (`--command-env`).
    pub variables: Vec<(String, String)>,
}

/// Where programs are looked for: Debian's default.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl CommandSetup {
    /// The user commands run as, its home directory, and its name.
    fn user(&self) -> (String, PathBuf) {
        match &self.run_as {
            Some(run_as) => (run_as.name.clone(), run_as.home.clone()),
            None => match User::from_uid(Uid::effective()) {
                Ok(Some(user)) => (user.name, user.dir),
                _ => ("nobody".to_string(), PathBuf::from("/")),
            },
        }
    }

    /// The environment every command starts from: `PATH`, `HOME`, `USER`, `LOGNAME`, `SHELL`,
    /// `LANG`, `TZ` (the project's time zone), then the administrator's variables (which may
    /// override them). The run's own `NIGHTSHIFT_*` parameters come on top.
    pub fn environment(&self, tz: Tz) -> Vec<(String, String)> {
        let (user, home) = self.user();
        let mut variables = vec![
            ("PATH".to_string(), PATH.to_string()),
            ("HOME".to_string(), home.display().to_string()),
            ("USER".to_string(), user.clone()),
            ("LOGNAME".to_string(), user),
            ("SHELL".to_string(), "/bin/sh".to_string()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
            ("TZ".to_string(), tz.name().to_string()),
        ];
        for (name, value) in &self.variables {
            variables.retain(|(n, _)| n != name);
            variables.push((name.clone(), value.clone()));
        }
        variables
    }

    /// Sets up `command`: nothing of the server's environment, the environment above, the user
    /// to run as, and its home directory (or `/`) as the working directory.
    pub fn apply(&self, command: &mut tokio::process::Command, tz: Tz) {
        command.env_clear().envs(self.environment(tz));
        let (_, home) = self.user();
        let directory = if home.is_dir() { home } else { PathBuf::from("/") };
        command.current_dir(directory);
        if let Some(run_as) = &self.run_as {
            // As root, std drops the supplementary groups too when it sets the user.
            command.uid(run_as.uid).gid(run_as.gid);
        }
    }
}

/// Makes a directory private to the server (0700), creating it if needed.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_get_a_documented_environment_and_the_administrators_variables() {
        let setup = CommandSetup {
            run_as: None,
            variables: vec![
                ("TEAM".into(), "warehouse".into()),
                ("LANG".into(), "de_DE.UTF-8".into()),
            ],
        };
        let env = setup.environment(chrono_tz::Asia::Shanghai);
        let get = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("TZ"), Some("Asia/Shanghai"));
        assert_eq!(get("TEAM"), Some("warehouse"));
        assert_eq!(get("LANG"), Some("de_DE.UTF-8"), "the administrator's value wins");
        assert_eq!(get("PATH"), Some(PATH));
        let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TZ", "TEAM", "LANG"]);
    }
}
