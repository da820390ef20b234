//! A primitive's stdout and stderr: logged line by line, and the last
//! `OUTPUT_TAIL` bytes of both kept for `Finished::output`. Memory stays
//! bounded whatever the child prints: one read buffer, one log line of at
//! most `MAX_LOG_LINE` bytes and the tail per run.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncRead, AsyncReadExt};

use super::{EX_TEMPFAIL, OUTPUT_TAIL};
use crate::engine::OpId;
use crate::model::Primitive;

/// Longer lines are logged cut, with a marker.
pub(super) const MAX_LOG_LINE: usize = 1024;
const READ_CHUNK: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stream {
    Stdout,
    Stderr,
}

/// Which run a line belongs to, for the log fields.
#[derive(Clone, Debug)]
pub(super) struct LogContext {
    pub service: String,
    pub primitive: Primitive,
    pub op: OpId,
    /// The child is `make`: its stderr may name the recipe's exit code.
    pub make: bool,
}

/// What both readers of one run share.
#[derive(Debug, Default)]
pub(super) struct Captured {
    pub tail: Tail,
    /// The exit code of the first failed recipe, from make's own error
    /// line; make itself always exits 2.
    pub make_error: Option<u32>,
}

pub(super) type SharedCapture = Arc<Mutex<Captured>>;

pub(super) fn lock(shared: &SharedCapture) -> MutexGuard<'_, Captured> {
    // A reader that panicked mid-push leaves at worst a garbled tail.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads one pipe to its end. Runs as its own task, so a background process
/// that inherited the pipe is still logged after the primitive has ended.
pub(super) async fn drain<R: AsyncRead + Unpin>(
    mut pipe: R,
    stream: Stream,
    shared: SharedCapture,
    ctx: LogContext,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut lines = LineSplitter::default();
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(service = %ctx.service, primitive = %ctx.primitive, op = ctx.op.0,
                    "reading the primitive's {stream:?} failed: {e}");
                break;
            }
        };
        let chunk = &buf[..n];
        lock(&shared).tail.push(chunk);
        lines.feed(chunk, |line| emit(line, stream, &shared, &ctx));
    }
    lines.finish(|line| emit(line, stream, &shared, &ctx));
}

fn emit(line: Line<'_>, stream: Stream, shared: &SharedCapture, ctx: &LogContext) {
    let text = String::from_utf8_lossy(line.bytes);
    let cut = if line.truncated { " [line cut]" } else { "" };
    match stream {
        Stream::Stdout => {
            tracing::info!(service = %ctx.service, primitive = %ctx.primitive, op = ctx.op.0, "{text}{cut}")
        }
        Stream::Stderr => {
            let make_error = ctx.make.then(|| make_error_code(&text)).flatten();
            if let Some(code) = make_error {
                lock(shared).make_error.get_or_insert(code);
            }
            // make's report of a recall is no trouble: "primitive ended" says it.
            if make_error == Some(EX_TEMPFAIL as u32) {
                tracing::debug!(service = %ctx.service, primitive = %ctx.primitive, op = ctx.op.0, "{text}{cut}");
            } else {
                tracing::warn!(service = %ctx.service, primitive = %ctx.primitive, op = ctx.op.0, "{text}{cut}");
            }
        }
    }
}

/// GNU make's report of a failed recipe: `make: *** [Makefile:3: start]
/// Error 75` (make 4), `make: *** [start] Error 75` (3.81), `make[1]: ***
/// ...` from a sub-make. A recipe killed by a signal reads `... Terminated`
/// and yields nothing: the run stays `Failed(2)`.
pub(super) fn make_error_code(line: &str) -> Option<u32> {
    if !line.contains(": *** [") {
        return None;
    }
    let (_, code) = line.trim_end().rsplit_once("] Error ")?;
    code.parse().ok()
}

/// The last `OUTPUT_TAIL` bytes seen.
#[derive(Debug, Default)]
pub(super) struct Tail {
    bytes: VecDeque<u8>,
}

impl Tail {
    pub fn push(&mut self, chunk: &[u8]) {
        let chunk = &chunk[chunk.len().saturating_sub(OUTPUT_TAIL)..];
        let overflow = (self.bytes.len() + chunk.len()).saturating_sub(OUTPUT_TAIL);
        self.bytes.drain(..overflow);
        self.bytes.extend(chunk);
    }

    /// The tail as text. The cut may fall inside a UTF-8 sequence: its
    /// orphaned continuation bytes are dropped rather than shown as U+FFFD.
    pub fn text(&self) -> String {
        let (front, back) = self.bytes.as_slices();
        let mut bytes = Vec::with_capacity(self.bytes.len());
        bytes.extend_from_slice(front);
        bytes.extend_from_slice(back);
        let skip = bytes
            .iter()
            .take(3)
            .take_while(|b| (0x80..0xC0).contains(*b))
            .count();
        String::from_utf8_lossy(&bytes[skip..]).into_owned()
    }
}

pub(super) struct Line<'a> {
    pub bytes: &'a [u8],
    pub truncated: bool,
}

/// Cuts a byte stream into lines of at most `MAX_LOG_LINE` bytes; the rest
/// of an overlong line is dropped, so a child printing a gigabyte without a
/// newline costs one line buffer.
#[derive(Debug, Default)]
pub(super) struct LineSplitter {
    partial: Vec<u8>,
    truncated: bool,
}

impl LineSplitter {
    pub fn feed(&mut self, mut chunk: &[u8], mut emit: impl FnMut(Line<'_>)) {
        while !chunk.is_empty() {
            let (segment, ends_line) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], true),
                None => (chunk, false),
            };
            let room = MAX_LOG_LINE - self.partial.len();
            if segment.len() > room {
                self.truncated = true;
            }
            self.partial
                .extend_from_slice(&segment[..segment.len().min(room)]);
            if ends_line {
                self.flush(&mut emit);
                chunk = &chunk[segment.len() + 1..];
            } else {
                chunk = &[];
            }
        }
    }

    /// End of stream: a last line without newline is still a line.
    pub fn finish(&mut self, mut emit: impl FnMut(Line<'_>)) {
        if !self.partial.is_empty() || self.truncated {
            self.flush(&mut emit);
        }
    }

    fn flush(&mut self, emit: &mut impl FnMut(Line<'_>)) {
        let bytes = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
        emit(Line {
            bytes,
            truncated: self.truncated,
        });
        self.partial.clear();
        self.truncated = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let mut splitter = LineSplitter::default();
        for chunk in chunks {
            splitter.feed(chunk, |l| {
                out.push((String::from_utf8_lossy(l.bytes).into_owned(), l.truncated))
            });
        }
        splitter.finish(|l| out.push((String::from_utf8_lossy(l.bytes).into_owned(), l.truncated)));
        out
    }

    #[test]
    fn lines_across_chunks() {
        let got = split(&[b"one\ntw", b"o\r\n\nthree"]);
        let want = [
            ("one", false),
            ("two", false),
            ("", false),
            ("three", false),
        ];
        assert_eq!(got.len(), want.len());
        for ((g, gt), (w, wt)) in got.iter().zip(want) {
            assert_eq!((g.as_str(), *gt), (w, wt));
        }
    }

    #[test]
    fn overlong_line_is_cut_and_the_next_one_is_whole() {
        let long = vec![b'x'; MAX_LOG_LINE * 3];
        let got = split(&[&long, &long, b"\nnext\n"]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.len(), MAX_LOG_LINE);
        assert!(got[0].1);
        assert_eq!(got[1], ("next".to_string(), false));
    }

    #[test]
    fn tail_keeps_the_last_bytes() {
        let mut tail = Tail::default();
        for i in 0..10_000u32 {
            tail.push(format!("{i}\n").as_bytes());
        }
        let text = tail.text();
        assert!(text.len() <= OUTPUT_TAIL);
        assert!(text.ends_with("9998\n9999\n"));
        tail.push(&vec![b'y'; OUTPUT_TAIL * 2]);
        assert_eq!(tail.text(), "y".repeat(OUTPUT_TAIL));
    }

    #[test]
    fn tail_drops_a_cut_utf8_sequence() {
        let mut tail = Tail::default();
        let mut bytes = "é".as_bytes().to_vec();
        bytes.extend(vec![b'a'; OUTPUT_TAIL - 1]);
        tail.push(&bytes);
        assert_eq!(tail.text(), "a".repeat(OUTPUT_TAIL - 1));
    }

    #[test]
    fn make_error_lines() {
        assert_eq!(
            make_error_code("make: *** [Makefile:2: check] Error 75"),
            Some(75)
        );
        assert_eq!(make_error_code("make[1]: *** [check] Error 3"), Some(3));
        assert_eq!(
            make_error_code("make: *** [Makefile:6: sig] Terminated"),
            None
        );
        assert_eq!(
            make_error_code("make: *** No rule to make target 'nope'.  Stop."),
            None
        );
        assert_eq!(
            make_error_code("make: [Makefile:2: x] Error 1 (ignored)"),
            None
        );
        assert_eq!(make_error_code("Error 75"), None);
    }
}
