//! The small grammars inside the file: endpoints, interface names,
//! binds and `exec` lines.

use super::*;

/// `node:iface` (containerlab's pattern `^\S+:\S+$`), with an interface
/// name Linux accepts, other than eth0 (containerlab's management port).
pub fn parse_endpoint(text: &str) -> Result<Endpoint, String> {
    let (node, iface) = text
        .split_once(':')
        .ok_or("an endpoint is NODE:INTERFACE")?;
    if node.is_empty() || node.chars().any(char::is_whitespace) {
        return Err("empty or spaced node name".into());
    }
    check_ifname(iface)?;
    if iface == "eth0" {
        return Err(
            "eth0 is containerlab's management interface; data links use eth1 and up".into(),
        );
    }
    Ok(Endpoint {
        node: node.to_string(),
        iface: iface.to_string(),
    })
}

/// A Linux interface name: 1–15 bytes (IFNAMSIZ - 1), no `/`, `:` or
/// white space, not `.` or `..`.
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err(format!(
            "interface name {name:?}: 1-15 characters (Linux IFNAMSIZ)"
        ));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "interface name {name:?}: no `/`, `:` or white space"
        ));
    }
    Ok(())
}

/// Docker's `-v` syntax as containerlab takes it: `SRC:DST[:MODE[,MODE]]`.
pub fn parse_bind(text: &str) -> Result<Bind, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, modes) = match parts.as_slice() {
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => return Err("a bind is SOURCE:TARGET or SOURCE:TARGET:MODE".into()),
    };
    if source.is_empty() {
        return Err("empty source".into());
    }
    if !target.starts_with('/') {
        return Err(format!("target {target:?} must be an absolute path"));
    }
    let mut read_only = false;
    for mode in modes.split(',').filter(|m| !m.is_empty()) {
        if !BIND_MODES.contains(&mode) {
            return Err(format!("unknown mode {mode:?}"));
        }
        read_only |= mode == "ro";
    }
    Ok(Bind {
        source: source.to_string(),
        target: target.trim_end_matches('/').to_string(),
        read_only,
    })
}

/// Splits an `exec` line into words the way containerlab does (shell-like
/// quoting, no shell: pipes, `;` or `$VAR` need an explicit `sh -c '…'`).
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(format!("unterminated ' in {line:?}")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(format!("unterminated \" in {line:?}")),
                        },
                        Some(c) => w.push(c),
                        None => return Err(format!("unterminated \" in {line:?}")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err(format!("trailing \\ in {line:?}")),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    if words.is_empty() {
        return Err("empty command".into());
    }
    Ok(words)
}
