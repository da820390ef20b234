//! Node configuration: TOML file → validated [`Config`].
//!
//! [`load`] and [`parse`] report every problem in a file at once, each as
//! `FILE:LINE:COL: FIELD: MESSAGE` ([`ConfigErrors`]). The layout is
//! documented in `docs/configuration.md`; `srrd/examples/node.toml` is a
//! complete example. Validation reads no other file: the primitives and key
//! files are read by the daemon when it needs them.

mod diag;
mod duration;
mod error;
mod fields;
mod lsa_size;
mod model;
mod node;
mod parse;
mod raw;
mod render;
mod rules;
mod service;
#[cfg(test)]
mod tests;
mod web;

use std::collections::HashSet;
use std::io;
use std::path::Path;

pub use duration::{format_duration, parse_duration, DurationError, MAX_DURATION};
pub use error::{ConfigError, ConfigErrors};
pub use fields::{is_valid_name, kind_text, scope_text, MAX_NAME_LEN};
pub use model::*;
pub use render::RenderedService;

use diag::Diagnostics;

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    match read_source(path) {
        Ok(text) => parse(&text, &file),
        Err(e) => Err(e.into_errors(file)),
    }
}

/// Validates configuration text; `file_name` is only used in errors. A node
/// without `name` is named after the host.
pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigErrors> {
    parse_with_host_name(text, file_name, &node::host_name)
}

/// `srrd check-config FILE`: prints `FILE: OK (N services)` to stdout, or
/// every problem to stderr. Returns the exit code: 0 valid, 1 invalid,
/// 2 the file cannot be read at all.
pub fn check_config_command(path: &Path) -> i32 {
    let file = path.display().to_string();
    let text = match read_source(path) {
        Ok(text) => text,
        Err(SourceError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("{file}: no such file");
            return 2;
        }
        Err(SourceError::Io(e)) => {
            eprintln!("{file}: cannot read file: {e}");
            return 2;
        }
        Err(e) => {
            eprintln!("{}", e.into_errors(file));
            return 1;
        }
    };
    match parse(&text, &file) {
        Ok(config) => {
            let n = config.services.len();
            println!("{file}: OK ({n} service{})", if n == 1 { "" } else { "s" });
            0
        }
        Err(errors) => {
            eprintln!("{errors}");
            1
        }
    }
}

fn parse_with_host_name(
    text: &str,
    file_name: &str,
    host_name: &dyn Fn() -> String,
) -> Result<Config, ConfigErrors> {
    let mut diag = Diagnostics::new(file_name, text);
    let Some(document) = parse::parse_document(&mut diag) else {
        return Err(diag.into_errors());
    };
    let node = node::build_node(&document.node, host_name, &mut diag);
    let web = web::build_web(
        document.web.as_ref(),
        &document.node,
        node.web_listen.is_some(),
        &mut diag,
    );
    let services: Vec<_> = document
        .services
        .iter()
        .filter_map(|entry| {
            let raw = entry.raw.as_ref()?;
            Some(service::build_service(
                entry.index,
                entry.header.clone(),
                raw,
                &mut diag,
            ))
        })
        .collect();
    let declared: HashSet<&str> = document
        .services
        .iter()
        .filter_map(|entry| entry.declared_name.as_deref())
        .collect();
    rules::check_services(&services, &declared, &mut diag);
    lsa_size::check_lsa_sizes(&services, node.cluster_key_file.is_some(), &mut diag);
    if diag.has_errors() {
        return Err(diag.into_errors());
    }
    Ok(Config {
        node,
        web,
        services: services.into_iter().map(|s| s.config).collect(),
    })
}

enum SourceError {
    Io(io::Error),
    NotUtf8 { line: usize, column: usize },
}

impl SourceError {
    fn into_errors(self, file: String) -> ConfigErrors {
        match self {
            SourceError::Io(e) => {
                ConfigError::whole_file(file, format!("cannot read file: {e}")).into()
            }
            SourceError::NotUtf8 { line, column } => ConfigError {
                file,
                line,
                column,
                field: String::new(),
                message: "file is not valid UTF-8".to_string(),
            }
            .into(),
        }
    }
}

fn read_source(path: &Path) -> Result<String, SourceError> {
    let bytes = std::fs::read(path).map_err(SourceError::Io)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        // The prefix is valid UTF-8 by construction.
        let column = std::str::from_utf8(&valid[line_start..]).map_or(1, |s| s.chars().count() + 1);
        SourceError::NotUtf8 { line, column }
    })
}
