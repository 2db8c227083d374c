//! The frames the server and a worker exchange over the worker's stdin and stdout.
//!
//! A frame is a little-endian `u32` payload length, then the payload; its first byte says
//! what it is. Numbers are little-endian, scores raw `f32`s: a batch costs one copy each
//! way and no encoding library. Every reader bounds the length before allocating, so a
//! confused or compromised peer cannot make the other side allocate what it names.

use std::io::{self, Read, Write};

const LOAD: u8 = 1;
const SCORE: u8 = 2;
const READY: u8 = 0x10;
const SCORES: u8 = 0x11;
const FAILED: u8 = 0x12;

/// Longest error message a worker sends; the parent refuses longer replies.
pub(crate) const MAX_MESSAGE_BYTES: usize = 4096;

/// What the server asks of a worker.
#[derive(Debug, PartialEq)]
pub(crate) enum Request {
    /// The first frame: limits, where ONNX Runtime is, and the model.
    Load(Load),
    /// Score a `rows x cols` row-major batch.
    Score { rows: usize, cols: usize, values: Vec<f32> },
}

#[derive(Debug, PartialEq)]
pub(crate) struct Load {
    /// Bytes of data the worker may map (RLIMIT_DATA).
    pub memory_limit_bytes: u64,
    /// Per run, in milliseconds: the worker stops a run itself at this point (the parent
    /// kills it shortly after if it does not).
    pub run_timeout_ms: u64,
    /// Scores per row the model must return; a wider output is refused in the worker.
    pub n_outputs: u32,
    pub ort_library: String,
    pub model: Vec<u8>,
}

/// Which step of the worker's life failed, so the parent can say whose fault it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Limits, private directory, ONNX Runtime: the server's side.
    Setup = 0,
    /// The model did not load: the model's fault.
    Load = 1,
    /// The model failed while running: the model's fault.
    Run = 2,
    /// The worker stopped the run at its deadline (and lives on).
    Timeout = 3,
}

/// What a worker answers.
#[derive(Debug, PartialEq)]
pub(crate) enum Reply {
    Ready,
    Scores { rows: usize, cols: usize, values: Vec<f32> },
    Failed { stage: Stage, message: String },
}

pub(crate) fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| invalid("frame longer than 4 GiB"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(payload)?;
    out.flush()
}

/// Reads one frame of at most `max` bytes. `Ok(None)` at a clean end of stream.
pub(crate) fn read_frame(input: &mut impl Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(invalid(&format!("a frame of {len} bytes, more than the {max} expected")));
    }
    let mut payload = vec![0u8; len];
    input.read_exact(&mut payload)?;
    Ok(Some(payload))
}

impl Request {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Request::Load(load) => {
                let mut out = Vec::with_capacity(32 + load.ort_library.len() + load.model.len());
                out.push(LOAD);
                out.extend_from_slice(&load.memory_limit_bytes.to_le_bytes());
                out.extend_from_slice(&load.run_timeout_ms.to_le_bytes());
                out.extend_from_slice(&load.n_outputs.to_le_bytes());
                out.extend_from_slice(&(load.ort_library.len() as u32).to_le_bytes());
                out.extend_from_slice(load.ort_library.as_bytes());
                out.extend_from_slice(&load.model);
                out
            }
            Request::Score { rows, cols, values } => encode_matrix(SCORE, *rows, *cols, values),
        }
    }

    pub(crate) fn decode(payload: &[u8]) -> io::Result<Self> {
        let mut r = Cursor(payload);
        match r.u8()? {
            LOAD => {
                let memory_limit_bytes = r.u64()?;
                let run_timeout_ms = r.u64()?;
                let n_outputs = r.u32()?;
                let path_len = r.u32()? as usize;
                let ort_library =
                    String::from_utf8(r.take(path_len)?.to_vec()).map_err(|_| invalid("library path is not UTF-8"))?;
                Ok(Request::Load(Load {
                    memory_limit_bytes,
                    run_timeout_ms,
                    n_outputs,
                    ort_library,
                    model: r.0.to_vec(),
                }))
            }
            SCORE => {
                let (rows, cols, values) = decode_matrix(&mut r)?;
                Ok(Request::Score { rows, cols, values })
            }
            other => Err(invalid(&format!("unknown request kind {other}"))),
        }
    }
}

impl Reply {
    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Reply::Ready => vec![READY],
            Reply::Scores { rows, cols, values } => encode_matrix(SCORES, *rows, *cols, values),
            Reply::Failed { stage, message } => {
                let mut cut = message.len().min(MAX_MESSAGE_BYTES);
                while !message.is_char_boundary(cut) {
                    cut -= 1;
                }
                let mut out = vec![FAILED, *stage as u8];
                out.extend_from_slice(&message.as_bytes()[..cut]);
                out
            }
        }
    }

    pub(crate) fn decode(payload: &[u8]) -> io::Result<Self> {
        let mut r = Cursor(payload);
        match r.u8()? {
            READY => Ok(Reply::Ready),
            SCORES => {
                let (rows, cols, values) = decode_matrix(&mut r)?;
                Ok(Reply::Scores { rows, cols, values })
            }
            FAILED => {
                let stage = match r.u8()? {
                    0 => Stage::Setup,
                    1 => Stage::Load,
                    2 => Stage::Run,
                    3 => Stage::Timeout,
                    other => return Err(invalid(&format!("unknown stage {other}"))),
                };
                Ok(Reply::Failed { stage, message: String::from_utf8_lossy(r.0).into_owned() })
            }
            other => Err(invalid(&format!("unknown reply kind {other}"))),
        }
    }
}

/// Bytes of a scores frame of `rows x cols`, the most a parent accepts for that batch.
pub(crate) fn scores_frame_bytes(rows: usize, cols: usize) -> usize {
    (1 + 8usize).saturating_add(rows.saturating_mul(cols).saturating_mul(4)).max(2 + MAX_MESSAGE_BYTES)
}

fn encode_matrix(tag: u8, rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + values.len() * 4);
    out.push(tag);
    out.extend_from_slice(&(rows as u32).to_le_bytes());
    out.extend_from_slice(&(cols as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn decode_matrix(r: &mut Cursor<'_>) -> io::Result<(usize, usize, Vec<f32>)> {
    let rows = r.u32()? as usize;
    let cols = r.u32()? as usize;
    let n = rows.checked_mul(cols).ok_or_else(|| invalid("matrix too large"))?;
    if r.0.len() != n.saturating_mul(4) {
        return Err(invalid(&format!("a {rows} x {cols} matrix with {} bytes of values", r.0.len())));
    }
    let values = r.0.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok((rows, cols, values))
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(invalid("truncated frame"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> io::Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let load = Request::Load(Load {
            memory_limit_bytes: 1 << 29,
            run_timeout_ms: 2000,
            n_outputs: 3,
            ort_library: "/x/libonnxruntime.so".into(),
            model: vec![1, 2, 3],
        });
        let score = Request::Score { rows: 2, cols: 2, values: vec![1.0, -2.5, 0.0, f32::MAX] };
        for request in [load, score] {
            let mut wire = Vec::new();
            write_frame(&mut wire, &request.encode()).unwrap();
            let payload = read_frame(&mut wire.as_slice(), 1 << 20).unwrap().unwrap();
            assert_eq!(Request::decode(&payload).unwrap(), request);
        }
        for reply in [
            Reply::Ready,
            Reply::Scores { rows: 1, cols: 1, values: vec![0.5] },
            Reply::Failed { stage: Stage::Run, message: "boom".into() },
        ] {
            assert_eq!(Reply::decode(&reply.encode()).unwrap(), reply);
        }
    }

    #[test]
    fn an_oversized_frame_is_refused_before_allocation() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(read_frame(&mut wire.as_slice(), 1024).is_err());
        assert!(read_frame(&mut [].as_slice(), 1024).unwrap().is_none());
    }

    #[test]
    fn a_matrix_must_match_its_dimensions() {
        let mut bad = encode_matrix(SCORES, 2, 2, &[1.0]);
        assert!(Reply::decode(&bad).is_err());
        bad.truncate(3);
        assert!(Reply::decode(&bad).is_err());
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let reply = Reply::Failed { stage: Stage::Load, message: "é".repeat(MAX_MESSAGE_BYTES) };
        let encoded = reply.encode();
        assert!(encoded.len() <= 2 + MAX_MESSAGE_BYTES);
        assert!(matches!(Reply::decode(&encoded).unwrap(), Reply::Failed { stage: Stage::Load, .. }));
    }
}
