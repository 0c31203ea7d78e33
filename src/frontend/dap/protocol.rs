//! DAP's wire format: each message is `Content-Length: N\r\n\r\n` and N
//! bytes of JSON.  Input that does not follow it is normal input: each
//! malformed message costs one line on stderr and the next well-formed one
//! is served.  Bytes before a `Content-Length:` header are skipped.
use std::io::{BufRead, Read, Write};
use std::sync::Mutex;

use serde_json::{json, Value};

/// The longest message body read (a writeMemory of all 64 KiB in base64 is
/// about 90 KB); a longer one is skipped as it arrives, never buffered.
pub const MAX_BODY: usize = 1 << 20;
/// The longest header line.
const MAX_HEADER_LINE: usize = 1024;

/// What the reader found in the input.
#[derive(Debug)]
pub enum Incoming {
    Message(Value),
    /// The client has gone (end of input or a read error).
    Closed,
}

/// Why a message was dropped (the one stderr line says it).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    #[error("malformed header {0:?}: expected `Content-Length: N`")]
    BadHeader(String),
    #[error("malformed Content-Length {0:?}: not a number of bytes")]
    BadLength(String),
    #[error("a header block without Content-Length")]
    NoLength,
    #[error("a message of {0} bytes, more than the {MAX_BODY} read at most: skipped")]
    TooLong(usize),
    #[error("a header line longer than {MAX_HEADER_LINE} bytes")]
    LongHeader,
    #[error("a message of {len} bytes is not JSON: {error}")]
    BadJson { len: usize, error: String },
}

/// Reads DAP messages; `report` gets one line per malformed message.
pub struct Reader<R> {
    input: R,
    /// After an error: skip what does not look like a header, silently.
    resyncing: bool,
}

enum Line {
    Text(Vec<u8>),
    TooLong,
    Eof,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Reader<R> {
        Reader { input, resyncing: false }
    }

    fn line(&mut self) -> std::io::Result<Line> {
        let mut out = Vec::new();
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                return Ok(if out.is_empty() { Line::Eof } else { Line::Text(out) });
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(k) => {
                    let take = (MAX_HEADER_LINE + 2).saturating_sub(out.len()).min(k);
                    out.extend_from_slice(&buf[..take]);
                    self.input.consume(k + 1);
                    if out.len() > MAX_HEADER_LINE {
                        return Ok(Line::TooLong);
                    }
                    if out.last() == Some(&b'\r') {
                        out.pop();
                    }
                    return Ok(Line::Text(out));
                }
                None => {
                    let n = buf.len();
                    let take = (MAX_HEADER_LINE + 2).saturating_sub(out.len()).min(n);
                    out.extend_from_slice(&buf[..take]);
                    self.input.consume(n);
                }
            }
        }
    }

    /// The next message, or the error that dropped one; None at the end of input.
    pub fn next(&mut self) -> std::io::Result<Option<Result<Value, FrameError>>> {
        let mut length: Option<Result<usize, FrameError>> = None;
        loop {
            let line = match self.line()? {
                Line::Eof => return Ok(None),
                Line::TooLong if self.resyncing => continue,
                Line::TooLong => return self.fail(FrameError::LongHeader),
                Line::Text(t) => t,
            };
            let text = String::from_utf8_lossy(&line).into_owned();
            if text.is_empty() {
                match length.take() {
                    None if self.resyncing => continue,
                    None => return self.fail(FrameError::NoLength),
                    Some(Err(e)) => return self.fail(e),
                    Some(Ok(n)) => return self.body(n).map(Some),
                }
            }
            // a header, perhaps after garbage on the same line
            let Some(at) = text.find("Content-Length:") else {
                if length.is_some() && text.contains(':') {
                    continue; // another header (Content-Type)
                }
                if self.resyncing {
                    continue;
                }
                return self.fail(FrameError::BadHeader(text));
            };
            if at > 0 && !self.resyncing && length.is_none() {
                log::debug!("skipped {at} bytes before a header");
            }
            let value = text[at + "Content-Length:".len()..].trim();
            length = Some(value.parse::<usize>().map_err(|_| FrameError::BadLength(value.to_string())));
        }
    }

    fn fail(&mut self, e: FrameError) -> std::io::Result<Option<Result<Value, FrameError>>> {
        self.resyncing = true;
        Ok(Some(Err(e)))
    }

    fn body(&mut self, n: usize) -> std::io::Result<Result<Value, FrameError>> {
        if n > MAX_BODY {
            std::io::copy(&mut (&mut self.input).take(n as u64), &mut std::io::sink())?;
            self.resyncing = true;
            return Ok(Err(FrameError::TooLong(n)));
        }
        let mut body = vec![0u8; n];
        self.input.read_exact(&mut body)?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => {
                self.resyncing = false;
                Ok(Ok(v))
            }
            Err(e) => {
                self.resyncing = true;
                Ok(Err(FrameError::BadJson { len: n, error: e.to_string() }))
            }
        }
    }
}

/// Reads messages from `input` into `tx` until the input ends; malformed
/// ones are reported on stderr, one line each.
pub fn pump(input: impl Read, tx: std::sync::mpsc::Sender<Incoming>) {
    let mut reader = Reader::new(std::io::BufReader::new(input));
    loop {
        match reader.next() {
            Ok(Some(Ok(v))) => {
                if tx.send(Incoming::Message(v)).is_err() {
                    return;
                }
            }
            Ok(Some(Err(e))) => eprintln!("flux-gdbstub dap: {e}"),
            Ok(None) | Err(_) => {
                let _ = tx.send(Incoming::Closed);
                return;
            }
        }
    }
}

/// The one writer of messages to the client: it numbers them (`seq`).
pub struct Outbox {
    inner: Mutex<(Box<dyn Write + Send>, i64)>,
}

impl Outbox {
    pub fn new(out: Box<dyn Write + Send>) -> Outbox {
        Outbox { inner: Mutex::new((out, 0)) }
    }

    pub fn send(&self, mut msg: Value) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.1 += 1;
        msg["seq"] = json!(g.1);
        let body = msg.to_string();
        let r = write!(g.0, "Content-Length: {}\r\n\r\n{}", body.len(), body).and_then(|_| g.0.flush());
        if let Err(e) = r {
            log::warn!("DAP client unreachable: {e}");
        }
    }

    pub fn event(&self, event: &str, body: Value) {
        self.send(json!({ "type": "event", "event": event, "body": body }));
    }

    /// The response to `request`: a body, or a failure with its message.
    pub fn respond(&self, request: &Value, result: Result<Value, String>) {
        let command = request.get("command").cloned().unwrap_or(Value::Null);
        let seq = request.get("seq").cloned().unwrap_or(json!(0));
        let msg = match result {
            Ok(body) => json!({ "type": "response", "request_seq": seq, "success": true, "command": command, "body": body }),
            Err(message) => json!({
                "type": "response", "request_seq": seq, "success": false, "command": command, "message": message,
                "body": { "error": { "id": 1, "format": message, "showUser": true } }
            }),
        };
        self.send(msg);
    }
}

/// The program's output as `output` events (category `stdout`).
pub struct OutputEvents(pub std::sync::Arc<Outbox>);

impl Write for OutputEvents {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.event("output", json!({ "category": "stdout", "output": String::from_utf8_lossy(buf) }));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &str) -> Vec<Result<Value, FrameError>> {
        let mut r = Reader::new(input.as_bytes());
        let mut out = Vec::new();
        while let Some(m) = r.next().unwrap() {
            out.push(m);
        }
        out
    }

    #[test]
    fn one_error_per_malformed_message_then_the_next_is_read() {
        let ok = r#"{"seq":1}"#;
        let input = format!(
            "Content-Length: abc\r\n\r\n{ok}Content-Length: {n}\r\n\r\n{ok}junk\r\n\r\nContent-Length: 3\r\n\r\n{{x}}Content-Length: {n}\r\nContent-Type: application/json\r\n\r\n{ok}",
            n = ok.len()
        );
        let got = all(&input);
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0], Err(FrameError::BadLength("abc".into())));
        assert_eq!(got[1], Ok(json!({"seq": 1})));
        assert_eq!(got[2], Err(FrameError::BadHeader("junk".into())));
        assert!(matches!(got[3], Err(FrameError::BadJson { len: 3, .. })));
        assert_eq!(got[4], Ok(json!({"seq": 1})));
    }
}
