//! Serving a `FluxTarget` to gdb: over TCP (one debugger at a time, the next
//! one welcome after a detach or a dropped connection) or over stdin/stdout.
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::{DisconnectReason, GdbStub, GdbStubError};

use crate::gdb::event_loop::FluxEventLoop;
use crate::gdb::FluxTarget;

/// How one debugging session ended.
#[derive(Debug)]
pub enum SessionEnd {
    Detached,
    Exited(u8),
    Terminated(u8),
    Killed,
    /// The connection broke (gdb went away, garbage, I/O error): the VM stays.
    ConnectionLost(String),
}

/// Runs one gdb session on `conn`.  Errors that come from the other side
/// (a dropped connection, a malformed packet) end the session, not the server.
pub fn run_session<C>(target: &mut FluxTarget, conn: C) -> Result<SessionEnd, crate::gdb::TargetError>
where
    C: ConnectionExt<Error = io::Error>,
{
    let stub = GdbStub::new(conn);
    match drive::<C>(stub, target) {
        Ok(DisconnectReason::Disconnect) => Ok(SessionEnd::Detached),
        Ok(DisconnectReason::TargetExited(code)) => Ok(SessionEnd::Exited(code)),
        Ok(DisconnectReason::TargetTerminated(sig)) => Ok(SessionEnd::Terminated(sig.0)),
        Ok(DisconnectReason::Kill) => Ok(SessionEnd::Killed),
        Err(DriveError::Target(te)) => Err(te),
        Err(DriveError::Connection(e)) => Ok(SessionEnd::ConnectionLost(format!("connection: {e}"))),
        Err(DriveError::Stub(e)) => {
            if e.is_target_error() {
                match e.into_target_error() {
                    Some(te) => Err(te),
                    None => Ok(SessionEnd::ConnectionLost("target error".into())),
                }
            } else {
                Ok(SessionEnd::ConnectionLost(describe(&e)))
            }
        }
    }
}

/// Why [`drive`] gave up: what gdbstub reports, or what our event loop saw
/// (gdbstub's error type cannot be built outside it).
enum DriveError {
    Stub(GdbStubError<crate::gdb::TargetError, io::Error>),
    Target(crate::gdb::TargetError),
    Connection(io::Error),
}

impl From<GdbStubError<crate::gdb::TargetError, io::Error>> for DriveError {
    fn from(e: GdbStubError<crate::gdb::TargetError, io::Error>) -> Self {
        DriveError::Stub(e)
    }
}

type StubResult = Result<DisconnectReason, DriveError>;

/// gdbstub's `run_blocking` loop, with one difference: in extended mode
/// (`target extended-remote`) an exit, a termination or a detach does not
/// end the session.  gdbstub reports it to gdb and would disconnect; we go
/// back to reading packets instead, so gdb stays connected as with
/// gdbserver's multi mode (`monitor` answers, `run` starts over).
fn drive<C>(stub: GdbStub<'_, FluxTarget, C>, target: &mut FluxTarget) -> StubResult
where
    C: ConnectionExt<Error = io::Error>,
{
    use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
    use gdbstub::stub::state_machine::GdbStubStateMachine;
    let mut gdb = stub.run_state_machine(target)?;
    let mut packets = NoProcessFilter::default();
    loop {
        gdb = match gdb {
            GdbStubStateMachine::Idle(mut gdb) => {
                let byte = match packets.next_byte(gdb.borrow_conn(), target.has_process()) {
                    Ok(b) => b,
                    // gdb went away between packets: the same as a dropped connection
                    Err(e) => return Err(DriveError::Connection(e)),
                };
                gdb.incoming_data(target, byte)?
            }
            GdbStubStateMachine::Disconnected(gdb) => {
                let reason = gdb.get_reason();
                if target.stays_connected(reason) {
                    log::info!("extended mode: {reason:?}; gdb stays connected");
                    gdb.return_to_idle()
                } else {
                    return Ok(reason);
                }
            }
            GdbStubStateMachine::CtrlCInterrupt(gdb) => {
                let stop = FluxEventLoop::<C>::on_interrupt(target).map_err(DriveError::Target)?;
                gdb.interrupt_handled(target, stop)?
            }
            GdbStubStateMachine::Running(mut gdb) => match FluxEventLoop::<C>::wait_for_stop_reason(target, gdb.borrow_conn()) {
                Ok(Event::TargetStopped(reason)) => gdb.report_stop(target, reason)?,
                Ok(Event::IncomingData(byte)) => gdb.incoming_data(target, byte)?,
                Err(WaitForStopReasonError::Target(e)) => return Err(DriveError::Target(e)),
                Err(WaitForStopReasonError::Connection(e)) => return Err(DriveError::Connection(e)),
            },
        }
    }
}

/// Answers gdb's thread-list queries while there is no process (extended
/// mode, after an exit, a kill or a detach) with "no threads", as gdbserver
/// does.  gdbstub's single-threaded targets always report their one thread,
/// and gdb, which lists threads after every stop, exit included, would then
/// bring back a live "process 1" that has ended.  Every other packet goes
/// to gdbstub untouched.
#[derive(Default)]
struct NoProcessFilter {
    /// Bytes read and found not to be for us, still to give to gdbstub.
    pending: std::collections::VecDeque<u8>,
    /// gdb and gdbstub agreed to QStartNoAckMode: answers carry no '+'.
    no_ack: bool,
}

impl NoProcessFilter {
    fn next_byte<C: ConnectionExt<Error = io::Error>>(&mut self, conn: &mut C, has_process: bool) -> io::Result<u8> {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Ok(b);
            }
            let first = conn.read()?;
            if first != b'$' {
                return Ok(first);
            }
            // a whole packet: $data#xx
            let mut packet = vec![first];
            loop {
                let b = conn.read()?;
                packet.push(b);
                if b == b'#' {
                    packet.push(conn.read()?);
                    packet.push(conn.read()?);
                    break;
                }
                if packet.len() > 64 * 1024 {
                    break; // not a query of ours; gdbstub judges it
                }
            }
            let data = packet.get(1..packet.len().saturating_sub(3)).unwrap_or(&[]);
            if data == b"QStartNoAckMode" {
                self.no_ack = true;
            }
            if !has_process && (data == b"qfThreadInfo" || data == b"qsThreadInfo") {
                if !self.no_ack {
                    conn.write(b'+')?;
                }
                conn.write_all(b"$l#6c")?;
                conn.flush()?;
                continue;
            }
            self.pending.extend(packet);
        }
    }
}

fn describe<T: std::fmt::Debug, C: std::fmt::Debug>(e: &GdbStubError<T, C>) -> String
where
    GdbStubError<T, C>: std::fmt::Display,
{
    e.to_string()
}

/// After a session: a finished or killed program starts over for the next one.
fn after_session(target: &mut FluxTarget, end: &SessionEnd) {
    match end {
        SessionEnd::Exited(code) => log::info!("program exited with code {code}"),
        SessionEnd::Terminated(sig) => log::info!("program terminated by signal {sig}"),
        SessionEnd::Killed => log::info!("gdb killed the program"),
        SessionEnd::Detached => log::info!("gdb detached; the VM stays where it is"),
        SessionEnd::ConnectionLost(why) => log::warn!("connection lost ({why}); the VM stays where it is"),
    }
    if matches!(end, SessionEnd::Exited(_) | SessionEnd::Terminated(_) | SessionEnd::Killed) || target.program_ended() {
        target.start_fresh();
    }
}

/// Whether `addr` keeps the stub private to this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Listens on `listener` and serves one gdb after another (only one when `once`).
pub fn serve_tcp(target: &mut FluxTarget, listener: TcpListener, once: bool) -> Result<(), crate::gdb::TargetError> {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(x) => x,
            Err(e) => {
                log::warn!("accept failed: {e}");
                continue;
            }
        };
        log::info!("debugger connected from {peer}");
        let end = run_session(target, BufferedTcp::new(stream))?;
        eprintln!("flux-gdbstub: session ended: {end:?}");
        after_session(target, &end);
        if once {
            return Ok(());
        }
    }
}

/// A gdb connection over this process's stdin and stdout
/// (`target remote | flux-gdbstub serve --stdio prog`).
pub struct StdioConnection {
    rx: Receiver<io::Result<u8>>,
    peeked: Option<u8>,
    out: io::Stdout,
}

impl StdioConnection {
    pub fn new() -> StdioConnection {
        let (tx, rx) = mpsc::sync_channel(4096);
        std::thread::spawn(move || {
            let mut stdin = io::stdin().lock();
            let mut buf = [0u8; 4096];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stdin closed")));
                        return;
                    }
                    Ok(n) => {
                        for &b in &buf[..n] {
                            if tx.send(Ok(b)).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        StdioConnection { rx, peeked: None, out: io::stdout() }
    }
}

impl Default for StdioConnection {
    fn default() -> Self {
        StdioConnection::new()
    }
}

impl Connection for StdioConnection {
    type Error = io::Error;

    fn write(&mut self, byte: u8) -> io::Result<()> {
        self.out.write_all(&[byte])
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl ConnectionExt for StdioConnection {
    fn read(&mut self) -> io::Result<u8> {
        if let Some(b) = self.peeked.take() {
            return Ok(b);
        }
        match self.rx.recv() {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stdin closed")),
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.peeked.is_some() {
            return Ok(self.peeked);
        }
        match self.rx.try_recv() {
            Ok(Ok(b)) => {
                self.peeked = Some(b);
                Ok(Some(b))
            }
            Ok(Err(e)) => Err(e),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stdin closed")),
        }
    }
}

/// Serves one gdb over stdin/stdout.
pub fn serve_stdio(target: &mut FluxTarget) -> Result<(), crate::gdb::TargetError> {
    let end = run_session(target, StdioConnection::new())?;
    log::info!("session ended: {end:?}");
    Ok(())
}

/// A TCP connection that sends each packet in one write and reads in chunks.
/// (gdbstub's own `TcpStream` connection makes a system call per byte, which
/// made `stepi` through gdb several times slower than gdbserver.)
pub struct BufferedTcp {
    stream: std::net::TcpStream,
    out: Vec<u8>,
    buf: Box<[u8; 4096]>,
    pos: usize,
    len: usize,
}

impl BufferedTcp {
    pub fn new(stream: std::net::TcpStream) -> BufferedTcp {
        BufferedTcp { stream, out: Vec::with_capacity(4096), buf: Box::new([0; 4096]), pos: 0, len: 0 }
    }

    fn send_pending(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            Write::write_all(&mut self.stream, &self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    fn fill(&mut self, n: usize) -> io::Result<Option<u8>> {
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "gdb closed the connection"));
        }
        self.pos = 0;
        self.len = n;
        Ok(Some(self.buf[0]))
    }
}

impl Connection for BufferedTcp {
    type Error = io::Error;

    fn write(&mut self, byte: u8) -> io::Result<()> {
        self.out.push(byte);
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_pending()
    }

    fn on_session_start(&mut self) -> io::Result<()> {
        self.stream.set_nodelay(true)
    }
}

impl ConnectionExt for BufferedTcp {
    fn read(&mut self) -> io::Result<u8> {
        if self.pos == self.len {
            // whatever we owe gdb goes out before we wait for it
            self.send_pending()?;
            let n = loop {
                match Read::read(&mut self.stream, &mut self.buf[..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r?,
                }
            };
            self.fill(n)?;
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.pos < self.len {
            return Ok(Some(self.buf[self.pos]));
        }
        self.send_pending()?;
        self.stream.set_nonblocking(true)?;
        let got = Read::read(&mut self.stream, &mut self.buf[..]);
        self.stream.set_nonblocking(false)?;
        match got {
            Ok(n) => self.fill(n),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
