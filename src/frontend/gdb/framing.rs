//! The packet layer in front of gdbstub: what reaches gdbstub is one whole,
//! well-formed packet at a time.
//!
//! gdbstub 0.7 ends the session on anything it cannot take (a bad checksum,
//! a `-`, a byte outside a packet, an oversized packet) and passes some
//! packets on unchecked (the declared length of `M` and `X`, short `G`
//! packets, unknown thread ids in `vCont`).  [`Framed`] wraps the connection
//! and
//!
//! - reads whole packets of at most [`PACKET_SIZE`] bytes (`$`, body, `#`,
//!   checksum: what gdbstub's `PacketSize` advertises); a longer one is
//!   discarded as it arrives, never buffered, and answered `E07` (E2BIG);
//! - checks checksums itself: a bad one is answered `-` and the
//!   retransmission is served (in no-ack mode, which gdb negotiates, it is
//!   answered `E05`, EIO: gdb does not retransmit there);
//! - owns the acknowledgements: `+` for every good packet until
//!   `QStartNoAckMode`, a `-` from the client resends the last reply;
//! - skips bytes outside packets (as gdbserver does) and passes Ctrl-C (0x03);
//! - checks packets that gdbstub would take wrongly and answers them itself
//!   ([`check`]): `G`, `M` and `X` whose data is not the declared length,
//!   `vCont`, `Hg`, `Hc` and `T` naming a thread that does not exist,
//!   `qCRC` (answered: gdb's `compare-sections`), and the thread list while
//!   there is no process;
//! - while the program runs, passes only Ctrl-C: gdb sends nothing else then
//!   in all-stop mode, and a packet that arrives is acknowledged and dropped
//!   with a log line.
//!
//! A packet gdbstub still refuses (a malformed command) is answered `E16`
//! (EINVAL) by the server, which starts a fresh gdbstub on the same
//! connection and replays into it, muted, the packets that set gdbstub's
//! session state (`qSupported` features, `Hg`, `Hc`): see
//! [`Framed::begin_replay`].
use std::collections::VecDeque;
use std::io;

use gdbstub::arch::Registers;
use gdbstub::conn::{Connection, ConnectionExt};

use super::arch::FluxRegs;
use super::FluxTarget;
use crate::runtime::vm::MEM_SIZE;

/// The longest packet the stub takes, framing included: gdbstub's packet
/// buffer, which its qSupported reply advertises as `PacketSize`.
pub const PACKET_SIZE: usize = 4096;
/// The longest body: `$`, `#` and two checksum digits take the rest.
const MAX_BODY: usize = PACKET_SIZE - 4;

/// Error replies of the packet layer (errno values in hex, as gdbstub's).
pub const E_INVAL: &[u8] = b"E16";
pub const E_2BIG: &[u8] = b"E07";
pub const E_IO: &[u8] = b"E05";
pub const E_FAULT: &[u8] = b"E0e";

/// A connection the packet layer can sit on.
pub trait Transport: ConnectionExt<Error = io::Error> {}

impl<C: ConnectionExt<Error = io::Error>> Transport for C {}

/// What the receiving side made of the bytes so far.
enum Rx {
    Packet(Vec<u8>),
    Interrupt,
    Nack,
    /// A packet whose checksum is wrong or not hex.
    Corrupt,
    /// A packet longer than [`PACKET_SIZE`]: its length.
    Oversized(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RxState {
    Between,
    Body,
    Sum1,
    Sum2(u8),
}

/// The packet layer; see the module documentation.
pub struct Framed<C> {
    inner: C,
    /// Bytes of one checked packet (or a Ctrl-C) still to give gdbstub.
    pending: VecDeque<u8>,
    rx: RxState,
    body: Vec<u8>,
    /// Length of the packet being discarded (oversized), 0 when none.
    skipped: usize,
    sum: u8,
    /// gdb and the stub agreed to QStartNoAckMode.
    no_ack: bool,
    /// A complete good packet has arrived on this connection.
    started: bool,
    /// The reply being written by gdbstub (sent whole when its checksum is in).
    out: Vec<u8>,
    out_sum_left: u8,
    /// The last packet sent, for a `-`.
    last_sent: Vec<u8>,
    /// Replies are dropped (replaying session state into a fresh gdbstub).
    mute: bool,
    /// Packets to replay into a fresh gdbstub (whole, framed).
    replay: VecDeque<u8>,
    /// A packet that sets gdbstub's session state, given to gdbstub and kept
    /// once gdbstub has taken it (when the next packet is read).
    passed: Option<Vec<u8>>,
    /// The packets that set gdbstub's session state, last of each kind.
    state_qsupported: Option<Vec<u8>>,
    state_hg: Option<Vec<u8>>,
    state_hc: Option<Vec<u8>>,
}

fn checksum(body: &[u8]) -> u8 {
    body.iter().fold(0u8, |a, b| a.wrapping_add(*b))
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(body.len() + 4);
    p.push(b'$');
    p.extend_from_slice(body);
    p.extend_from_slice(format!("#{:02x}", checksum(body)).as_bytes());
    p
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

impl<C: Transport> Framed<C> {
    pub fn new(inner: C) -> Framed<C> {
        Framed {
            inner,
            pending: VecDeque::new(),
            rx: RxState::Between,
            body: Vec::new(),
            skipped: 0,
            sum: 0,
            no_ack: false,
            started: false,
            out: Vec::new(),
            out_sum_left: 0,
            last_sent: Vec::new(),
            mute: false,
            replay: VecDeque::new(),
            passed: None,
            state_qsupported: None,
            state_hg: None,
            state_hc: None,
        }
    }

    /// Whether a complete, good packet has arrived on this connection.
    pub fn started(&self) -> bool {
        self.started
    }

    /// One byte from the client, through the receiving state machine.
    fn feed(&mut self, b: u8) -> Option<Rx> {
        match self.rx {
            RxState::Between => match b {
                b'$' => {
                    self.rx = RxState::Body;
                    self.body.clear();
                    self.skipped = 0;
                    self.sum = 0;
                    None
                }
                0x03 => Some(Rx::Interrupt),
                b'-' => Some(Rx::Nack),
                b'+' => None,
                other => {
                    log::debug!("skipped byte 0x{other:02x} outside a packet");
                    None
                }
            },
            RxState::Body => match b {
                b'#' => {
                    self.rx = RxState::Sum1;
                    None
                }
                b'$' => {
                    // a new packet starts inside the old one (gdb's rule too)
                    log::warn!("a packet started inside another; the first is dropped");
                    self.body.clear();
                    self.skipped = 0;
                    self.sum = 0;
                    None
                }
                _ => {
                    self.sum = self.sum.wrapping_add(b);
                    if self.skipped > 0 {
                        self.skipped += 1;
                    } else if self.body.len() == MAX_BODY {
                        // refused without being buffered: the rest is only counted
                        self.skipped = self.body.len() + 1;
                        self.body = Vec::new();
                    } else {
                        self.body.push(b);
                    }
                    None
                }
            },
            RxState::Sum1 => {
                self.rx = RxState::Sum2(b);
                None
            }
            RxState::Sum2(first) => {
                self.rx = RxState::Between;
                if self.skipped > 0 {
                    return Some(Rx::Oversized(self.skipped + 4));
                }
                match (hex_digit(first), hex_digit(b)) {
                    (Some(h), Some(l)) if h << 4 | l == self.sum => Some(Rx::Packet(std::mem::take(&mut self.body))),
                    _ => Some(Rx::Corrupt),
                }
            }
        }
    }

    /// Sends one reply packet of the packet layer's own.
    fn reply(&mut self, body: &[u8]) -> io::Result<()> {
        let p = frame(body);
        self.inner.write_all(&p)?;
        self.last_sent = p;
        self.inner.flush()
    }

    fn ack(&mut self) -> io::Result<()> {
        if !self.no_ack {
            self.inner.write(b'+')?;
        }
        Ok(())
    }

    /// What every state does with a received event other than a good packet.
    fn on_framing_event(&mut self, rx: &Rx) -> io::Result<()> {
        match rx {
            Rx::Nack => {
                if !self.no_ack && !self.last_sent.is_empty() {
                    log::info!("the client asked for the last reply again");
                    let p = self.last_sent.clone();
                    self.inner.write_all(&p)?;
                    self.inner.flush()?;
                }
            }
            Rx::Corrupt => {
                log::warn!("a packet with a bad checksum: {}", if self.no_ack { "answered E05" } else { "asked again (-)" });
                if self.no_ack {
                    self.reply(E_IO)?;
                } else {
                    self.inner.write(b'-')?;
                    self.inner.flush()?;
                }
            }
            Rx::Oversized(n) => {
                log::warn!("a packet of {n} bytes, longer than PacketSize {PACKET_SIZE}: refused (E07)");
                self.ack()?;
                self.reply(E_2BIG)?;
            }
            Rx::Interrupt | Rx::Packet(_) => {}
        }
        Ok(())
    }

    fn first_packet(&mut self) {
        self.started = true;
    }

    /// The next byte for gdbstub while the program is stopped: the bytes of
    /// one checked packet, a Ctrl-C, or (after a refused packet) the replay
    /// of the session state, muted.
    pub fn next_byte(&mut self, target: &mut FluxTarget) -> io::Result<u8> {
        loop {
            if let Some(b) = self.replay.pop_front() {
                self.mute = true;
                return Ok(b);
            }
            self.mute = false;
            if let Some(b) = self.pending.pop_front() {
                return Ok(b);
            }
            if let Some(p) = self.passed.take() {
                // gdbstub took it without an error
                self.keep_state(p);
            }
            // work while gdb reads the last reply and decides what comes
            // next: the reply goes out first
            if target.session.has_idle_work() {
                self.inner.flush()?;
                target.session.idle();
            }
            let b = self.inner.read()?;
            let Some(rx) = self.feed(b) else { continue };
            match rx {
                Rx::Interrupt => return Ok(0x03),
                Rx::Packet(body) => {
                    self.first_packet();
                    self.ack()?;
                    match check(&body, target) {
                        Some(answer) => {
                            log::debug!("answered {:?} with {:?}", String::from_utf8_lossy(&body), String::from_utf8_lossy(&answer));
                            self.reply(&answer)?;
                        }
                        None => {
                            self.note_state(&body);
                            self.pending.extend(frame(&body));
                        }
                    }
                }
                other => self.on_framing_event(&other)?,
            }
        }
    }

    /// Notes a packet gdbstub's session state depends on, for a replay.
    fn note_state(&mut self, body: &[u8]) {
        if body == b"QStartNoAckMode" {
            // gdbstub answers OK; from then on neither side acknowledges
            self.no_ack = true;
        } else if [&b"qSupported"[..], b"Hg", b"Hc"].iter().any(|p| body.starts_with(p)) {
            self.passed = Some(body.to_vec());
        }
    }

    fn keep_state(&mut self, p: Vec<u8>) {
        let slot = if p.starts_with(b"qSupported") {
            &mut self.state_qsupported
        } else if p.starts_with(b"Hg") {
            &mut self.state_hg
        } else {
            &mut self.state_hc
        };
        *slot = Some(p);
    }

    /// gdbstub refused the packet it was given: drops what it had begun to
    /// answer and answers `reply` instead.  A refusal during a replay (it
    /// should not happen: gdbstub took these packets before) answers
    /// nothing, the client asked nothing, and forgets the session state.
    pub fn refuse_current(&mut self, reply: &[u8]) -> io::Result<()> {
        self.out.clear();
        self.out_sum_left = 0;
        self.passed = None;
        if self.mute {
            log::warn!("gdbstub refused the replay of the session state; starting without it");
            self.mute = false;
            self.replay.clear();
            self.state_qsupported = None;
            self.state_hg = None;
            self.state_hc = None;
            return Ok(());
        }
        self.reply(reply)
    }

    /// Queues the packets that set gdbstub's session state, to be fed,
    /// muted, to a fresh gdbstub before anything else.
    pub fn begin_replay(&mut self) {
        for p in [&self.state_qsupported, &self.state_hg, &self.state_hc].into_iter().flatten() {
            self.replay.extend(frame(p));
        }
    }

    /// While the program runs: a Ctrl-C goes to gdbstub, anything else is
    /// handled here.
    fn on_running_byte(&mut self, b: u8) -> io::Result<()> {
        let Some(rx) = self.feed(b) else { return Ok(()) };
        match rx {
            Rx::Interrupt => self.pending.push_back(0x03),
            Rx::Packet(body) => {
                self.first_packet();
                self.ack()?;
                self.inner.flush()?;
                log::warn!("dropped {:?}: it came while the program runs", String::from_utf8_lossy(&body));
            }
            other => self.on_framing_event(&other)?,
        }
        Ok(())
    }
}

impl<C: Transport> Connection for Framed<C> {
    type Error = io::Error;

    /// gdbstub's acknowledgements are dropped (this layer sends its own);
    /// a reply goes out whole once its checksum is written.
    fn write(&mut self, byte: u8) -> io::Result<()> {
        if self.mute {
            return Ok(());
        }
        if self.out.is_empty() {
            return match byte {
                b'$' => {
                    self.out.push(byte);
                    Ok(())
                }
                b'+' | b'-' => Ok(()),
                other => self.inner.write(other),
            };
        }
        self.out.push(byte);
        if self.out_sum_left > 0 {
            self.out_sum_left -= 1;
            if self.out_sum_left == 0 {
                let p = std::mem::take(&mut self.out);
                self.inner.write_all(&p)?;
                self.last_sent = p;
            }
        } else if byte == b'#' {
            self.out_sum_left = 2;
        }
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        buf.iter().try_for_each(|&b| Connection::write(self, b))
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.mute {
            return Ok(());
        }
        self.inner.flush()
    }

    fn on_session_start(&mut self) -> io::Result<()> {
        self.inner.on_session_start()
    }
}

impl<C: Transport> ConnectionExt for Framed<C> {
    /// Only called while the program runs (the event loop).
    fn read(&mut self) -> io::Result<u8> {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Ok(b);
            }
            let b = self.inner.read()?;
            self.on_running_byte(b)?;
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            if let Some(&b) = self.pending.front() {
                return Ok(Some(b));
            }
            if self.inner.peek()?.is_none() {
                return Ok(None);
            }
            let b = self.inner.read()?;
            self.on_running_byte(b)?;
        }
    }
}

// gdbstub takes its connection by value; a `&mut Framed` lets the server keep
// the connection when it has to start a fresh gdbstub on it.
impl<C: Transport> Connection for &mut Framed<C> {
    type Error = io::Error;

    fn write(&mut self, byte: u8) -> io::Result<()> {
        Connection::write(&mut **self, byte)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        Connection::write_all(&mut **self, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Connection::flush(&mut **self)
    }

    fn on_session_start(&mut self) -> io::Result<()> {
        Connection::on_session_start(&mut **self)
    }
}

impl<C: Transport> ConnectionExt for &mut Framed<C> {
    fn read(&mut self) -> io::Result<u8> {
        ConnectionExt::read(&mut **self)
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        ConnectionExt::peek(&mut **self)
    }
}

/// A hex number of at most 16 digits.
fn hex_num(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
}

/// Hex-encoded bytes.
fn hex_bytes(s: &[u8]) -> Option<usize> {
    (s.len() % 2 == 0 && s.iter().all(|b| b.is_ascii_hexdigit())).then_some(s.len() / 2)
}

/// The length of binary data with `}` escapes, None when it ends inside an escape.
fn unescaped_len(s: &[u8]) -> Option<usize> {
    let mut n = 0;
    let mut i = 0;
    while i < s.len() {
        i += if s[i] == b'}' { 2 } else { 1 };
        n += 1;
    }
    (i == s.len()).then_some(n)
}

/// The bytes of a `g` reply (and so of a `G` packet's data).
pub fn register_block_len() -> usize {
    let mut n = 0;
    FluxRegs::default().gdb_serialize(|_| n += 1);
    n
}

/// A thread id as gdb writes one (`-1` all, `0` any, hex, or `pPID.TID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Id {
    All,
    Any,
    Some(u64),
}

fn id(s: &[u8]) -> Option<Id> {
    match s {
        b"-1" => Some(Id::All),
        b"0" => Some(Id::Any),
        _ => hex_num(s).map(Id::Some),
    }
}

/// (process, thread) of a thread id.
fn thread_id(s: &[u8]) -> Option<(Id, Id)> {
    match s.strip_prefix(b"p") {
        Some(rest) => {
            let mut parts = rest.splitn(2, |&b| b == b'.');
            let pid = id(parts.next()?)?;
            let tid = match parts.next() {
                Some(t) => id(t)?,
                None => Id::All,
            };
            Some((pid, tid))
        }
        None => Some((Id::Any, id(s)?)),
    }
}

/// Whether a thread id names threads that exist: the live agents (the
/// threads gdb is told of), of process 1.
fn known(target: &FluxTarget, (pid, tid): (Id, Id), all_ok: bool) -> bool {
    let pid_ok = match pid {
        Id::All => all_ok,
        Id::Any => true,
        Id::Some(p) => p == 1,
    };
    let tid_ok = match tid {
        Id::All => all_ok,
        Id::Any => true,
        Id::Some(t) => live_threads(target).contains(&t),
    };
    pid_ok && tid_ok
}

fn live_threads(target: &FluxTarget) -> Vec<u64> {
    let agents = target.session.vm.agents();
    if agents.is_empty() {
        return vec![target.session.vm.current_agent() as u64];
    }
    agents.iter().map(|a| a.id as u64).collect()
}

fn valid_vcont(actions: &[u8], target: &FluxTarget) -> bool {
    let Some(actions) = actions.strip_prefix(b";") else { return false };
    actions.split(|&b| b == b';').all(|action| {
        let mut parts = action.splitn(2, |&b| b == b':');
        let kind = parts.next().unwrap_or_default();
        let kind_ok = match kind.split_first() {
            Some((b'c' | b's' | b't', rest)) => rest.is_empty(),
            Some((b'C' | b'S', sig)) => sig.len() == 2 && hex_num(sig).is_some(),
            Some((b'r', range)) => {
                let mut r = range.splitn(2, |&b| b == b',');
                r.next().and_then(hex_num).is_some() && r.next().and_then(hex_num).is_some()
            }
            _ => false,
        };
        let thread_ok = match parts.next() {
            None => true,
            Some(t) => thread_id(t).is_some_and(|t| known(target, t, true)),
        };
        kind_ok && thread_ok
    })
}

/// A packet the stub answers here instead of gdbstub, with the answer.
pub fn check(body: &[u8], target: &mut FluxTarget) -> Option<Vec<u8>> {
    let refuse = |why: &str| {
        log::warn!("refused {:?}: {why}", String::from_utf8_lossy(&body[..body.len().min(64)]));
        Some(E_INVAL.to_vec())
    };
    if let Some(regs) = body.strip_prefix(b"G") {
        let want = register_block_len();
        return match hex_bytes(regs) {
            Some(n) if n == want => None,
            Some(n) => refuse(&format!("{n} bytes of registers, the block is {want}")),
            None => refuse("the registers are not hex"),
        };
    }
    if let Some(rest) = body.strip_prefix(b"M") {
        let (head, data) = rest.split_at(rest.iter().position(|&b| b == b':').unwrap_or(rest.len()));
        let mut h = head.splitn(2, |&b| b == b',');
        let (addr, len) = (h.next().and_then(hex_num), h.next().and_then(hex_num));
        let data = data.strip_prefix(b":").and_then(hex_bytes);
        return match (addr, len, data) {
            (Some(_), Some(len), Some(n)) if n as u64 == len => None,
            (Some(_), Some(len), Some(n)) => refuse(&format!("{n} bytes of data, {len} declared")),
            _ => refuse("not Maddr,length:hex"),
        };
    }
    if let Some(rest) = body.strip_prefix(b"X") {
        let colon = rest.iter().position(|&b| b == b':');
        let Some(colon) = colon else { return refuse("not Xaddr,length:data") };
        let mut h = rest[..colon].splitn(2, |&b| b == b',');
        let (addr, len) = (h.next().and_then(hex_num), h.next().and_then(hex_num));
        return match (addr, len, unescaped_len(&rest[colon + 1..])) {
            (Some(_), Some(len), Some(n)) if n as u64 == len => None,
            (Some(_), Some(len), Some(n)) => refuse(&format!("{n} bytes of data, {len} declared")),
            _ => refuse("not Xaddr,length:data"),
        };
    }
    if let Some(actions) = body.strip_prefix(b"vCont") {
        if actions == b"?" || valid_vcont(actions, target) {
            return None;
        }
        return refuse("not a vCont of known threads");
    }
    if let Some(t) = body.strip_prefix(b"Hg") {
        return if thread_id(t).is_some_and(|t| known(target, t, false)) { None } else { refuse("no such thread") };
    }
    if let Some(t) = body.strip_prefix(b"Hc") {
        return if thread_id(t).is_some_and(|t| known(target, t, true)) { None } else { refuse("no such thread") };
    }
    if let Some(t) = body.strip_prefix(b"T") {
        // gdbstub answers E01 for a dead thread; it cannot take "all" or "any"
        return match thread_id(t) {
            Some((_, Id::Some(_))) => None,
            _ => refuse("not a thread id"),
        };
    }
    if let Some(range) = body.strip_prefix(b"qCRC:") {
        let mut r = range.splitn(2, |&b| b == b',');
        let (Some(addr), Some(len)) = (r.next().and_then(hex_num), r.next().and_then(hex_num)) else {
            return refuse("not qCRC:addr,length");
        };
        if addr.checked_add(len).is_none_or(|end| end > MEM_SIZE as u64) {
            return Some(E_FAULT.to_vec());
        }
        let mut mem = vec![0u8; len as usize];
        if target.session.vm.read_mem(addr as u32, &mut mem).is_err() {
            return Some(E_FAULT.to_vec());
        }
        return Some(format!("C{:08x}", gdb_crc32(&mem)).into_bytes());
    }
    if !target.has_process() && (body == b"qfThreadInfo" || body == b"qsThreadInfo") {
        // gdbstub always lists its threads; with no process there are none,
        // as gdbserver says (gdb would otherwise bring back an ended process)
        return Some(b"l".to_vec());
    }
    None
}

/// gdb's CRC-32 (libiberty's xcrc32, used by `compare-sections`): polynomial
/// 0x04c11db7, most significant bit first, initial value 0xffffffff, no
/// final inversion.
pub fn gdb_crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= (b as u32) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04c1_1db7 } else { crc << 1 };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_gdbs() {
        // xcrc32 ("123456789", 9, 0xffffffff): the CRC-32/MPEG-2 check value
        assert_eq!(gdb_crc32(b"123456789"), 0x0376_e6e7);
        assert_eq!(gdb_crc32(b""), 0xffff_ffff);
    }

    #[test]
    fn escapes_and_thread_ids() {
        assert_eq!(unescaped_len(b"a}]b"), Some(3));
        assert_eq!(unescaped_len(b"ab}"), None);
        assert_eq!(thread_id(b"p1.2"), Some((Id::Some(1), Id::Some(2))));
        assert_eq!(thread_id(b"p-1.-1"), Some((Id::All, Id::All)));
        assert_eq!(thread_id(b"p1"), Some((Id::Some(1), Id::All)));
        assert_eq!(thread_id(b"-1"), Some((Id::Any, Id::All)));
        assert_eq!(thread_id(b"zz"), None);
    }

    #[test]
    fn the_register_block_is_what_g_sends() {
        // 32 i386 core registers (8 of them 10 bytes), 16 r, 16 conf, energy, cycles
        assert_eq!(register_block_len(), 24 * 4 + 8 * 10 + 16 * 4 + 16 * 4 + 8 + 8);
    }
}
