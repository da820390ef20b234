//! Collects [`ConfigError`]s while a file is checked, turning byte spans
//! into line and column.

use std::ops::Range;

use super::error::{ConfigError, ConfigErrors};

pub(super) struct Diagnostics<'a> {
    file: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
    errors: Vec<ConfigError>,
}

impl<'a> Diagnostics<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Diagnostics<'a> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Diagnostics {
            file,
            text,
            line_starts,
            errors: Vec::new(),
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn error(
        &mut self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let (line, column) = self.position(span.start);
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        });
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.position(offset).0
    }

    /// 1-based (line, column); the column counts characters, not bytes.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The errors collected; called only after something was reported.
    pub fn into_errors(self) -> ConfigErrors {
        let file = self.file.to_string();
        ConfigErrors::from_vec(self.errors)
            .unwrap_or_else(|| ConfigError::whole_file(file, "invalid configuration").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let d = Diagnostics::new("f", "ab\nçd\n\nx");
        assert_eq!(d.position(0), (1, 1));
        assert_eq!(d.position(2), (1, 3));
        assert_eq!(d.position(3), (2, 1));
        // 'ç' is two bytes: offset 5 is 'd', the second character.
        assert_eq!(d.position(5), (2, 2));
        assert_eq!(d.position(4), (2, 1), "inside a character: its start");
        assert_eq!(d.position(7), (3, 1));
        assert_eq!(d.position(8), (4, 1));
        assert_eq!(d.position(1000), (4, 2), "past the end: the end");
    }
}
