//! TOML text → raw sections. Syntax errors, unknown keys and values of the
//! wrong type are reported here, each with the path of the setting at fault;
//! one bad `[[service]]` does not hide problems in the others.

use std::ops::Range;

use serde::de::IntoDeserializer;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diag::Diagnostics;
use super::raw::{RawNode, RawService, RawWeb};

pub(super) struct Document {
    pub node: RawNode,
    /// The `[web]` table (`None` if serde rejected it, already reported)
    /// and its header's span, if written.
    pub web: Option<(Option<RawWeb>, Range<usize>)>,
    pub services: Vec<ServiceEntry>,
}

pub(super) struct ServiceEntry {
    /// Position among the `[[service]]` entries, from 0.
    pub index: usize,
    /// The `[[service]]` header (or the inline table).
    pub header: Range<usize>,
    /// `None` if the entry has keys serde rejected (already reported).
    pub raw: Option<RawService>,
    /// The `name` string as written, even when `raw` is `None`, so that
    /// other services may depend on it without a spurious "unknown" error.
    pub declared_name: Option<String>,
}

/// Parses the document; `None` if it is not valid TOML (errors are in
/// `diag`). Sections with a wrong layout are reported and left out.
pub(super) fn parse_document(diag: &mut Diagnostics<'_>) -> Option<Document> {
    let text = diag.text();
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // The parser's recovery cascades (an unclosed array makes every
        // following line "wrong"): the first error of a line is the telling one.
        let mut errors: Vec<_> = syntax_errors
            .iter()
            .map(|e| (e.span().unwrap_or(0..0), e.message()))
            .collect();
        errors.sort_by_key(|(span, _)| span.start);
        errors.dedup_by_key(|(span, _)| diag.line_of(span.start));
        for (span, message) in errors {
            let field = field_at(root.get_ref(), span.start, "")
                .unwrap_or_else(|| field_by_text(text, span.start));
            diag.error(span, field, message);
        }
        return None;
    }

    let mut document = Document {
        node: RawNode::default(),
        web: None,
        services: Vec::new(),
    };
    let mut entries: Vec<_> = root.get_ref().iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    for (key, value) in entries {
        match key.get_ref().as_ref() {
            "node" => {
                if value.get_ref().is_table() {
                    if let Some(node) = deserialize_section::<RawNode>(diag, value, "node") {
                        document.node = node;
                    }
                } else {
                    diag.error(value.span(), "node", "`node` must be a table: write [node]");
                }
            }
            "web" => {
                if value.get_ref().is_table() {
                    let web = deserialize_section::<RawWeb>(diag, value, "web");
                    document.web = Some((web, key.span()));
                } else {
                    diag.error(value.span(), "web", "`web` must be a table: write [web]");
                }
            }
            "service" => match value.get_ref() {
                DeValue::Array(array) => {
                    for (index, element) in array.iter().enumerate() {
                        document.services.push(service_entry(diag, index, element));
                    }
                }
                DeValue::Table(_) => diag.error(
                    key.span(),
                    "service",
                    "`service` must be an array of tables: write [[service]] for each service",
                ),
                _ => diag.error(
                    value.span(),
                    "service",
                    "`service` must be an array of tables: write [[service]] for each service",
                ),
            },
            other => diag.error(
                key.span(),
                other,
                format!("unknown section `{other}`, expected `node`, `web` or `service`"),
            ),
        }
    }
    Some(document)
}

fn service_entry(
    diag: &mut Diagnostics<'_>,
    index: usize,
    element: &Spanned<DeValue<'_>>,
) -> ServiceEntry {
    let path = format!("service[{index}]");
    let mut entry = ServiceEntry {
        index,
        header: element.span(),
        raw: None,
        declared_name: None,
    };
    match element.get_ref().as_table() {
        Some(table) => {
            entry.declared_name = table
                .get("name")
                .and_then(|name| name.get_ref().as_str())
                .map(str::to_string);
            entry.raw = deserialize_section::<RawService>(diag, element, &path);
        }
        None => diag.error(
            element.span(),
            path,
            "each service must be a table: write [[service]]",
        ),
    }
    entry
}

/// Deserializes one section, reporting serde's complaint (unknown key,
/// wrong type) at the setting it concerns.
fn deserialize_section<'de, T: Deserialize<'de>>(
    diag: &mut Diagnostics<'_>,
    value: &Spanned<DeValue<'de>>,
    path: &str,
) -> Option<T> {
    match T::deserialize(value.clone().into_deserializer()) {
        Ok(section) => Some(section),
        Err(e) => {
            let span = e.span().unwrap_or_else(|| value.span());
            let field = value
                .get_ref()
                .as_table()
                .and_then(|table| field_at(table, span.start, path))
                .unwrap_or_else(|| path.to_string());
            diag.error(span, field, e.message());
            None
        }
    }
}

/// The dotted path of the key or value at `offset`, searched in the parsed
/// tree.
fn field_at(table: &DeTable<'_>, offset: usize, prefix: &str) -> Option<String> {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    for (key, value) in table.iter() {
        let path = join(key.get_ref());
        if key.span().contains(&offset) {
            return Some(path);
        }
        let span = value.span();
        if span.contains(&offset) || span == (offset..offset) {
            let deeper = value
                .get_ref()
                .as_table()
                .and_then(|t| field_at(t, offset, &path));
            return Some(deeper.unwrap_or(path));
        }
    }
    // A `[table]`'s span is its header only, so its body is searched apart.
    table.iter().find_map(|(key, value)| {
        value
            .get_ref()
            .as_table()
            .and_then(|t| field_at(t, offset, &join(key.get_ref())))
    })
}

/// Fallback for syntax errors the recovered tree does not cover: the
/// section from the last header above `offset`, plus the key on its line.
fn field_by_text(text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let mut section = String::new();
    let mut services = 0usize;
    for line in before[..line_start].lines() {
        let line = line.trim();
        let header = if let Some(inner) = line.strip_prefix("[[") {
            inner.split("]]").next().map(|name| (name.trim(), true))
        } else if let Some(inner) = line.strip_prefix('[') {
            inner.split(']').next().map(|name| (name.trim(), false))
        } else {
            None
        };
        match header {
            Some(("service", true)) => {
                section = format!("service[{services}]");
                services += 1;
            }
            Some((name, _)) => match name.strip_prefix("service.") {
                Some(sub) if services > 0 => section = format!("service[{}].{sub}", services - 1),
                _ => section = name.to_string(),
            },
            None => {}
        }
    }
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        });
    match (section.is_empty(), key) {
        (_, None) => section,
        (true, Some(key)) => key.to_string(),
        (false, Some(key)) => format!("{section}.{key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_by_text_follows_headers() {
        let text = "[node]\nname = 1\n[[service]]\n[[service]]\nname = \"x\n[service.timeouts]\nstart = ?\n";
        let at = |needle: &str| field_by_text(text, text.find(needle).unwrap());
        assert_eq!(at("name = 1"), "node.name");
        assert_eq!(at("name = \"x"), "service[1].name");
        assert_eq!(at("start"), "service[1].timeouts.start");
        assert_eq!(field_by_text(text, 0), "");
    }
}
