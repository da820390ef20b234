//! Changes of the local service configuration: validated by the config
//! module as a whole file, then saved atomically (docs/api.md,
//! Configuration).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, Config, ServiceConfig};

#[derive(Clone, Debug)]
pub enum ConfigEdit {
    /// A new service, in the JSON shape of `ServiceConfig.rendered()`.
    Create(serde_json::Value),
    Replace(String, serde_json::Value),
    Delete(String),
    /// Sets `disabled` in the file; the daemon also sends the command.
    SetDisabled(String, bool),
}

impl ConfigEdit {
    pub fn service(&self) -> Option<&str> {
        match self {
            ConfigEdit::Create(v) => v.get("name").and_then(|n| n.as_str()),
            ConfigEdit::Replace(name, _)
            | ConfigEdit::Delete(name)
            | ConfigEdit::SetDisabled(name, _) => Some(name),
        }
    }

    /// Whether the engine must not be running the service for this edit.
    pub fn needs_inactive(&self) -> bool {
        matches!(self, ConfigEdit::Replace(..) | ConfigEdit::Delete(_))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("no service named {0:?} in the configuration")]
    NotFound(String),
    #[error("a service named {0:?} exists already")]
    Exists(String),
    #[error("service {0:?} is active on this node; deactivate it first")]
    Active(String),
    #[error("invalid service configuration")]
    Invalid(Vec<FieldError>),
    #[error("configuration file {path}: {what}")]
    File { path: String, what: String },
}

fn invalid(field: &str, message: impl Into<String>) -> EditError {
    EditError::Invalid(vec![FieldError {
        field: field.to_string(),
        message: message.into(),
    }])
}

/// One service from its JSON form, checked by the config module as the
/// last `[[service]]` of `others` (which must not hold it).
fn service_from_json(
    value: &serde_json::Value,
    others: &Config,
) -> Result<ServiceConfig, EditError> {
    if !value.is_object() {
        return Err(invalid("", "expected a JSON object"));
    }
    #[derive(Serialize)]
    struct One<'a> {
        service: [&'a serde_json::Value; 1],
    }
    let snippet = toml::to_string(&One { service: [value] }).map_err(|e| {
        invalid(
            "",
            format!("not representable in TOML ({e}); leave out null values"),
        )
    })?;
    let text = format!("{}\n{snippet}", others.to_toml());
    let prefix = format!("service[{}].", others.services.len());
    let parsed = config::parse(&text, "request").map_err(|errors| {
        EditError::Invalid(
            errors
                .iter()
                .map(|e| FieldError {
                    field: e.field.trim_start_matches(&prefix).to_string(),
                    message: e.message.clone(),
                })
                .collect(),
        )
    })?;
    parsed
        .services
        .into_iter()
        .nth(others.services.len())
        .ok_or_else(|| invalid("", "no service"))
}

/// The configuration after `edit`, validated as a whole file.
pub fn plan(current: &Config, edit: &ConfigEdit) -> Result<Config, EditError> {
    let mut next = current.clone();
    let position = |name: &str| current.services.iter().position(|s| s.name == name);
    match edit {
        ConfigEdit::Create(value) => {
            let name = value.get("name").and_then(|n| n.as_str()).unwrap_or("");
            if position(name).is_some() {
                return Err(EditError::Exists(name.to_string()));
            }
            next.services.push(service_from_json(value, current)?);
        }
        ConfigEdit::Replace(name, value) => {
            let i = position(name).ok_or_else(|| EditError::NotFound(name.clone()))?;
            let mut others = current.clone();
            others.services.remove(i);
            let service = service_from_json(value, &others)?;
            if service.name != *name {
                return Err(invalid(
                    "name",
                    "the name cannot change; create a new service",
                ));
            }
            next.services[i] = service;
        }
        ConfigEdit::Delete(name) => {
            let i = position(name).ok_or_else(|| EditError::NotFound(name.clone()))?;
            next.services.remove(i);
        }
        ConfigEdit::SetDisabled(name, disabled) => {
            let i = position(name).ok_or_else(|| EditError::NotFound(name.clone()))?;
            next.services[i].disabled = *disabled;
        }
    }
    // Cross-service rules (dependencies, addresses, groups) on the whole file.
    config::parse(&next.to_toml(), "the new configuration").map_err(|errors| {
        EditError::Invalid(
            errors
                .iter()
                .map(|e| FieldError {
                    field: e.field.clone(),
                    message: e.message.clone(),
                })
                .collect(),
        )
    })
}

/// Replaces the file: a temporary file beside it, synced, then renamed
/// over it, the previous version kept as `FILE.bak`. A crash leaves the old
/// or the new file, never half of one.
pub fn save(path: &Path, config: &Config) -> Result<(), EditError> {
    let err = |what: String| EditError::File {
        path: path.display().to_string(),
        what,
    };
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let tmp = with_suffix(".tmp");
    let mode =
        std::fs::metadata(path).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        if let Ok(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(b"# Written by srrd (web API); the previous version is in FILE.bak.\n")?;
        file.write_all(config.to_toml().as_bytes())?;
        file.sync_all()?;
        if path.exists() {
            std::fs::copy(path, with_suffix(".bak"))?;
        }
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn current() -> Config {
        config::parse(
            "[[service]]\nname = \"disk\"\nkind = \"resource\"\nprimitives = \"/p\"\n",
            "t",
        )
        .expect("valid")
    }

    #[test]
    fn create_edit_delete_are_validated() {
        let web = json!({"name": "web", "addresses": ["192.0.2.1"], "depends": ["disk"], "primitives": "/w"});
        let next = plan(&current(), &ConfigEdit::Create(web.clone())).expect("valid");
        assert_eq!(next.services[1].name, "web");
        assert!(matches!(
            plan(&next, &ConfigEdit::Create(web)),
            Err(EditError::Exists(_))
        ));

        let bad = json!({"name": "x", "primitives": "relative", "colour": 1});
        let Err(EditError::Invalid(errors)) = plan(&current(), &ConfigEdit::Create(bad)) else {
            panic!("expected invalid");
        };
        assert!(errors.iter().any(|e| e.field == "colour"), "{errors:?}");

        let dangling = json!({"name": "x", "depends": ["nope"], "primitives": "/p"});
        assert!(matches!(
            plan(&current(), &ConfigEdit::Create(dangling)),
            Err(EditError::Invalid(_))
        ));
        assert!(matches!(
            plan(&current(), &ConfigEdit::Create(json!({"name": null}))),
            Err(EditError::Invalid(_))
        ));
        assert!(matches!(
            plan(&current(), &ConfigEdit::Delete("web".into())),
            Err(EditError::NotFound(_))
        ));
        let renamed = json!({"name": "other", "primitives": "/p"});
        assert!(matches!(
            plan(&current(), &ConfigEdit::Replace("disk".into(), renamed)),
            Err(EditError::Invalid(_))
        ));
        let disabled = plan(&current(), &ConfigEdit::SetDisabled("disk".into(), true)).expect("ok");
        assert!(disabled.services[0].disabled);
        assert!(plan(&current(), &ConfigEdit::Delete("disk".into()))
            .expect("ok")
            .services
            .is_empty());
    }

    #[test]
    fn save_replaces_the_file_and_keeps_a_backup() {
        let dir = std::env::temp_dir().join(format!("srrd-edit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("srrd.toml");
        std::fs::write(&path, "# old\n").expect("write");
        let config = current();
        save(&path, &config).expect("saved");
        assert_eq!(config::load(&path).expect("valid"), config);
        assert_eq!(
            std::fs::read_to_string(dir.join("srrd.toml.bak")).expect("bak"),
            "# old\n"
        );
        assert!(!dir.join("srrd.toml.tmp").exists());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
