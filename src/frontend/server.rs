//! Serving a `FluxTarget` to gdb: over TCP (one debugger at a time, the next
//! one welcome after a detach or a dropped connection) or over stdin/stdout.
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::{DisconnectReason, GdbStub, GdbStubBuilder, GdbStubError};

use crate::frontend::gdb::event_loop::FluxEventLoop;
use crate::frontend::gdb::framing::{self, Framed, Transport, PACKET_SIZE};
use crate::frontend::gdb::FluxTarget;

/// How one debugging session ended.
#[derive(Debug)]
pub enum SessionEnd {
    Detached,
    Exited(u8),
    Terminated(u8),
    Killed,
    /// The connection broke (gdb went away, garbage, I/O error): the VM stays.
    ConnectionLost(String),
    /// The connection ended before its first complete packet (a client that
    /// sent nothing within the handshake timeout, a port probe).
    NoPacket(String),
}

/// Runs one gdb session on `conn`.  Errors that come from the other side
/// (a dropped connection, a malformed packet) end the session, not the
/// server; a packet gdbstub refuses is answered `E16` and the session goes on.
pub fn run_session<C: Transport>(target: &mut FluxTarget, conn: C) -> Result<SessionEnd, crate::frontend::gdb::TargetError> {
    let mut framed = Framed::new(conn);
    target.new_connection();
    let result = loop {
        let stub = match GdbStubBuilder::new(&mut framed).packet_buffer_size(PACKET_SIZE).build() {
            Ok(stub) => stub,
            Err(e) => break Ok(SessionEnd::ConnectionLost(format!("gdbstub: {e}"))),
        };
        match drive(stub, target) {
            Err(DriveError::Refused(why)) => {
                // gdbstub's state went with the error: a fresh one, told
                // again what this client had negotiated
                log::warn!("refused a packet gdbstub could not take ({why}): answered E16");
                if let Err(e) = framed.refuse_current(framing::E_INVAL) {
                    break Ok(SessionEnd::ConnectionLost(format!("connection: {e}")));
                }
                framed.begin_replay();
            }
            other => break end_of(other),
        }
    };
    match result {
        Ok(SessionEnd::ConnectionLost(why)) if !framed.started() => Ok(SessionEnd::NoPacket(why)),
        other => other,
    }
}

fn end_of(r: StubResult) -> Result<SessionEnd, crate::frontend::gdb::TargetError> {
    match r {
        Ok(DisconnectReason::Disconnect) => Ok(SessionEnd::Detached),
        Ok(DisconnectReason::TargetExited(code)) => Ok(SessionEnd::Exited(code)),
        Ok(DisconnectReason::TargetTerminated(sig)) => Ok(SessionEnd::Terminated(sig.0)),
        Ok(DisconnectReason::Kill) => Ok(SessionEnd::Killed),
        Err(DriveError::Target(te)) => Err(te),
        Err(DriveError::Connection(e)) => Ok(SessionEnd::ConnectionLost(format!("connection: {e}"))),
        Err(DriveError::Refused(why)) => Ok(SessionEnd::ConnectionLost(why)),
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

type StubError = GdbStubError<crate::frontend::gdb::TargetError, io::Error>;

/// Why [`drive`] gave up: what gdbstub reports, or what our event loop saw
/// (gdbstub's error type cannot be built outside it).
enum DriveError {
    Stub(StubError),
    /// gdbstub could not take a packet (a malformed command): the session
    /// goes on with a fresh gdbstub.
    Refused(String),
    Target(crate::frontend::gdb::TargetError),
    Connection(io::Error),
}

impl From<StubError> for DriveError {
    fn from(e: StubError) -> Self {
        DriveError::Stub(e)
    }
}

/// A packet gdbstub refused while stopped is the client's mistake, not the
/// end of the session; a broken connection or a failing target is.
fn refused_or_fatal(e: StubError) -> DriveError {
    if e.is_target_error() || e.is_connection_error() {
        DriveError::Stub(e)
    } else {
        DriveError::Refused(describe(&e))
    }
}

type StubResult = Result<DisconnectReason, DriveError>;

/// gdbstub's `run_blocking` loop, with two differences: in extended mode
/// (`target extended-remote`) an exit, a termination or a detach does not
/// end the session (gdbstub reports it to gdb and would disconnect; we go
/// back to reading packets instead, so gdb stays connected as with
/// gdbserver's multi mode: `monitor` answers, `run` starts over), and the
/// packets come through the packet layer ([`Framed`]).
fn drive<C: Transport>(stub: GdbStub<'_, FluxTarget, &mut Framed<C>>, target: &mut FluxTarget) -> StubResult {
    use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
    use gdbstub::stub::state_machine::GdbStubStateMachine;
    type Loop<'c, C> = FluxEventLoop<&'c mut Framed<C>>;
    let mut gdb = stub.run_state_machine(target)?;
    loop {
        gdb = match gdb {
            GdbStubStateMachine::Idle(mut gdb) => {
                let byte = match gdb.borrow_conn().next_byte(target) {
                    Ok(b) => b,
                    // gdb went away between packets: the same as a dropped connection
                    Err(e) => return Err(DriveError::Connection(e)),
                };
                gdb.incoming_data(target, byte).map_err(refused_or_fatal)?
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
                let stop = Loop::<C>::on_interrupt(target).map_err(DriveError::Target)?;
                gdb.interrupt_handled(target, stop)?
            }
            GdbStubStateMachine::Running(mut gdb) => match Loop::<C>::wait_for_stop_reason(target, gdb.borrow_conn()) {
                Ok(Event::TargetStopped(reason)) => gdb.report_stop(target, reason)?,
                Ok(Event::IncomingData(byte)) => gdb.incoming_data(target, byte)?,
                Err(WaitForStopReasonError::Target(e)) => return Err(DriveError::Target(e)),
                Err(WaitForStopReasonError::Connection(e)) => return Err(DriveError::Connection(e)),
            },
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
        SessionEnd::NoPacket(why) => log::warn!("connection dropped before its first packet ({why})"),
    }
    if matches!(end, SessionEnd::Exited(_) | SessionEnd::Terminated(_) | SessionEnd::Killed) || target.program_ended() {
        target.start_fresh();
    }
}

/// Whether `addr` keeps the stub private to this machine.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// How the TCP server treats its clients.
#[derive(Debug, Clone, Copy)]
pub struct TcpOptions {
    /// Exit after the first session (one that sent a packet).
    pub once: bool,
    /// A connection that has not completed a packet this long after
    /// connecting is dropped; after that it may stay idle for ever.
    pub handshake_timeout: Duration,
    /// How long the stub polls for gdb's next packet before it sleeps in
    /// `read` ([`BufferedTcp`]); zero: it sleeps at once.
    pub busy_poll: Duration,
}

/// The default of [`TcpOptions::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default of [`TcpOptions::busy_poll`]: longer than gdb takes between
/// a stop reply and its next packet while it steps (about 60 to 150 µs on a
/// 2-core machine), short enough that an idle session costs nothing to speak of.
pub const DEFAULT_BUSY_POLL: Duration = Duration::from_micros(500);

/// The busy poll a connection gets: `asked`, or none on a machine with one
/// CPU, where polling would only take the CPU from gdb.
pub fn busy_poll_for_this_machine(asked: Duration) -> Duration {
    match std::thread::available_parallelism() {
        Ok(n) if n.get() >= 2 => asked,
        _ => Duration::ZERO,
    }
}

/// How long a connection that arrives during a session waits for it to end
/// before it is refused.
pub const BUSY_GRACE: Duration = Duration::from_millis(500);

/// The reply a client gets when another debugger is attached, before the
/// connection is closed (gdb shows it: "Remote failure reply: E.another
/// debugger is attached").
pub const BUSY_REPLY: &[u8] = b"E.another debugger is attached";

/// How many connections may wait for their first packet at once; more are
/// closed at once, with a log line.
pub const MAX_PENDING: usize = 16;

/// Listens on `listener` and serves one gdb after another (only one session
/// when `once`).  Connections are accepted on a thread of their own, and each
/// new one waits for its first complete packet on a thread of its own, for
/// at most the handshake timeout: a client that connects and says nothing
/// holds no one up.  A connection whose first packet arrives while a
/// debugger is attached is answered [`BUSY_REPLY`] and closed (after at most
/// [`BUSY_GRACE`]), with a log line, and the attached session goes on.
pub fn serve_tcp(target: &mut FluxTarget, listener: TcpListener, opts: TcpOptions) -> Result<(), crate::frontend::gdb::TargetError> {
    let busy = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<(TcpStream, SocketAddr, Vec<u8>)>();
    {
        let busy = busy.clone();
        std::thread::Builder::new()
            .name("accept".into())
            .spawn(move || accept_loop(listener, busy, tx, opts.handshake_timeout))
            .map_err(crate::frontend::gdb::TargetError::Output)?;
    }
    for (stream, peer, first) in rx {
        log::info!("debugger connected from {peer}");
        let mut conn = BufferedTcp::with_first_packet(stream, &first);
        conn.set_busy_poll(opts.busy_poll);
        let end = run_session(target, conn);
        busy.store(false, Ordering::SeqCst);
        let end = end?;
        match &end {
            SessionEnd::NoPacket(why) => eprintln!("flux-gdbstub: dropped {peer}: {why}"),
            _ => eprintln!("flux-gdbstub: session ended: {end:?}"),
        }
        after_session(target, &end);
        if opts.once && !matches!(end, SessionEnd::NoPacket(_)) {
            return Ok(());
        }
    }
    Ok(())
}

fn accept_loop(
    listener: TcpListener,
    busy: Arc<AtomicBool>,
    tx: mpsc::Sender<(TcpStream, SocketAddr, Vec<u8>)>,
    timeout: Duration,
) {
    let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(x) => x,
            Err(e) => {
                log::warn!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let deadline = Instant::now() + timeout;
        if pending.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING {
            pending.fetch_sub(1, Ordering::SeqCst);
            eprintln!("flux-gdbstub: refused {peer}: {MAX_PENDING} connections already wait for their first packet");
            continue;
        }
        let (busy, tx, waiting) = (busy.clone(), tx.clone(), pending.clone());
        let spawned = std::thread::Builder::new().name(format!("handshake {peer}")).spawn(move || {
            let first = read_first_packet(&stream, deadline, timeout);
            waiting.fetch_sub(1, Ordering::SeqCst);
            let first = match first {
                Ok(bytes) => bytes,
                Err(why) => {
                    eprintln!("flux-gdbstub: dropped {peer}: {why}");
                    return;
                }
            };
            // a debugger that detaches and the next that connects right away
            // (a script) may cross the end of the session: it gets a moment
            let asked = Instant::now();
            let mut free = !busy.swap(true, Ordering::SeqCst);
            while !free && asked.elapsed() < BUSY_GRACE {
                std::thread::sleep(Duration::from_millis(5));
                free = !busy.swap(true, Ordering::SeqCst);
            }
            if !free {
                eprintln!("flux-gdbstub: refused {peer}: another debugger is attached");
                refuse(stream);
            } else if let Err(mpsc::SendError((stream, ..))) = tx.send((stream, peer, first)) {
                // the server is done
                drop(stream);
                busy.store(false, Ordering::SeqCst);
            }
        });
        if let Err(e) = spawned {
            pending.fetch_sub(1, Ordering::SeqCst);
            log::warn!("no thread for {peer}'s handshake: {e}");
        }
    }
}

/// Reads from a new connection until its first complete packet (`$...#xx`),
/// by `deadline`, and returns what it sent from that packet's `$` on.  Bytes
/// before the `$` are skipped, as the packet layer skips them; a first
/// packet longer than [`PACKET_SIZE`] ends the connection.
fn read_first_packet(mut stream: &TcpStream, deadline: Instant, timeout: Duration) -> Result<Vec<u8>, String> {
    let expired = || format!("no complete packet within {} s of connecting", timeout.as_secs_f64());
    let mut got: Vec<u8> = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(expired());
        }
        stream.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        let n = match Read::read(&mut stream, &mut buf) {
            Ok(0) => return Err("closed before its first packet".into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => return Err(expired()),
            Err(e) => return Err(e.to_string()),
        };
        for &b in &buf[..n] {
            if got.is_empty() && b != b'$' {
                continue;
            }
            if b == b'$' && got.iter().all(|&c| c != b'#') {
                got.clear(); // a `$` inside a packet starts a new one
            }
            got.push(b);
        }
        if let Some(hash) = got.iter().position(|&c| c == b'#') {
            if got.len() >= hash + 3 {
                stream.set_read_timeout(None).map_err(|e| e.to_string())?;
                return Ok(got);
            }
        }
        if got.len() > PACKET_SIZE {
            return Err(format!("first packet longer than {PACKET_SIZE} bytes"));
        }
    }
}

/// Tells a client that another debugger is attached, and closes.  What it
/// sent is read first (at most 100 ms of it), so that the close does not
/// reset the connection before the client has read the reply.
fn refuse(mut stream: TcpStream) {
    // `+` acknowledges the packet the client may have sent (gdb's qSupported)
    let mut reply = b"+$".to_vec();
    reply.extend_from_slice(BUSY_REPLY);
    reply.extend_from_slice(format!("#{:02x}", BUSY_REPLY.iter().fold(0u8, |a, b| a.wrapping_add(*b))).as_bytes());
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = Write::write_all(&mut stream, &reply);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let until = Instant::now() + Duration::from_millis(100);
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        match Read::read(&mut stream, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
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
pub fn serve_stdio(target: &mut FluxTarget) -> Result<(), crate::frontend::gdb::TargetError> {
    let end = run_session(target, StdioConnection::new())?;
    log::info!("session ended: {end:?}");
    Ok(())
}

/// A TCP connection that sends each packet in one write and reads in chunks.
/// (gdbstub's own `TcpStream` connection makes a system call per byte, which
/// made `stepi` through gdb several times slower than gdbserver.)
///
/// With a busy poll set, a `read` that finds nothing buffered polls the
/// socket for that long before it sleeps in the kernel.  While gdb steps, its
/// next packet comes 60 to 150 µs after our reply: a stub asleep by then is
/// woken by the kernel, and on a virtual machine going to sleep and being
/// woken cost both sides about as much as all the rest of a step (measured
/// on a 2-core virtual machine: a gdb `stepi` took 300 µs without the poll,
/// 150 µs with it).  The poll ends with the first byte or at its deadline, so an
/// idle session costs one poll per reply.
pub struct BufferedTcp {
    stream: TcpStream,
    out: Vec<u8>,
    buf: Box<[u8; 4096]>,
    pos: usize,
    len: usize,
    busy_poll: Duration,
}

impl BufferedTcp {
    pub fn new(stream: TcpStream) -> BufferedTcp {
        BufferedTcp { stream, out: Vec::with_capacity(4096), buf: Box::new([0; 4096]), pos: 0, len: 0, busy_poll: Duration::ZERO }
    }

    /// Sets how long a `read` polls before it sleeps (zero: not at all).
    pub fn set_busy_poll(&mut self, busy_poll: Duration) {
        self.busy_poll = busy_poll;
    }

    /// A connection whose first bytes were read already ([`read_first_packet`]):
    /// they are read again from here first.  More than the buffer holds is
    /// cut (the packet layer then refuses the packet as too long).
    pub fn with_first_packet(stream: TcpStream, first: &[u8]) -> BufferedTcp {
        let mut conn = BufferedTcp::new(stream);
        let n = first.len().min(conn.buf.len());
        conn.buf[..n].copy_from_slice(&first[..n]);
        conn.len = n;
        conn
    }

    /// One read from the socket.
    fn read_socket(&mut self) -> io::Result<usize> {
        loop {
            match Read::read(&mut self.stream, &mut self.buf[..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }

    /// Polls the socket without sleeping until bytes come (their count, 0 at
    /// the end of the stream) or the busy poll is over (None).
    fn poll_socket(&mut self) -> io::Result<Option<usize>> {
        if self.busy_poll.is_zero() {
            return Ok(None);
        }
        let start = Instant::now();
        loop {
            match rustix::net::recv(&self.stream, &mut self.buf[..], rustix::net::RecvFlags::DONTWAIT) {
                Ok((n, _)) => return Ok(Some(n)),
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            if start.elapsed() >= self.busy_poll {
                return Ok(None);
            }
            std::hint::spin_loop();
        }
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
            let n = match self.poll_socket()? {
                Some(n) => n,
                None => self.read_socket()?,
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

