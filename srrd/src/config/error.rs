//! The errors a configuration file can have: every problem found, each with
//! the file, line, column and setting it concerns, printed compiler-style.

/// One problem in a configuration file.
///
/// Displays as `FILE:LINE:COL: FIELD: MESSAGE`. `line` and `column` are
/// 1-based; both are 0 when the problem concerns the file as a whole (it
/// cannot be read), and the position is then left out of the display.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Path of the offending setting, e.g. `service[2].depends` or
    /// `node.vip_interface` (services are numbered from 0 in file order);
    /// empty when no single setting is at fault.
    pub field: String,
    pub message: String,
}

impl ConfigError {
    /// A problem with the file as a whole, e.g. it cannot be read.
    pub fn whole_file(file: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: file.into(),
            line: 0,
            column: 0,
            field: String::new(),
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        let mut out = self.file.clone();
        if self.line > 0 {
            out.push_str(&format!(":{}:{}", self.line, self.column));
        }
        if !self.field.is_empty() {
            out.push_str(": ");
            out.push_str(&self.field);
        }
        out.push_str(": ");
        out.push_str(&self.message);
        out
    }
}

/// All problems found in one configuration file, in file order; never empty.
/// Displays as one [`ConfigError`] per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_all(&self.errors))]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Sorts by position (whole-file problems first); `None` if there are none.
    pub fn from_vec(mut errors: Vec<ConfigError>) -> Option<ConfigErrors> {
        if errors.is_empty() {
            return None;
        }
        errors.sort_by_key(|e| (e.line, e.column));
        Some(ConfigErrors { errors })
    }

    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always false: kept for the `len`/`is_empty` convention.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }

    pub fn into_vec(self) -> Vec<ConfigError> {
        self.errors
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> ConfigErrors {
        ConfigErrors { errors: vec![e] }
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

fn render_all(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(ConfigError::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
