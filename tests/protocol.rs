//! The protocol layer under hostile input, with a raw-socket RSP client:
//! checksums and retransmission, declared lengths, unknown threads, qCRC,
//! oversized packets, idle and second clients; and real gdb where gdb can
//! send it (compare-sections, a second gdb).
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

/// A raw RSP client: whole packets out, whole replies in, every read bounded.
struct Rsp {
    s: TcpStream,
}

fn frame(body: &[u8]) -> Vec<u8> {
    let sum = body.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let mut p = vec![b'$'];
    p.extend_from_slice(body);
    p.extend_from_slice(format!("#{sum:02x}").as_bytes());
    p
}

impl Rsp {
    fn connect(port: u16) -> Rsp {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Rsp { s }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send");
    }

    fn send(&mut self, body: &str) {
        self.send_raw(&frame(body.as_bytes()));
    }

    fn byte(&mut self) -> u8 {
        let mut b = [0u8];
        match self.s.read(&mut b) {
            Ok(1) => b[0],
            other => panic!("expected a byte from the stub, got {other:?}"),
        }
    }

    /// The next reply packet's body (checksum checked); acks before it are
    /// returned too.
    fn reply_with_acks(&mut self) -> (String, String) {
        let mut acks = String::new();
        loop {
            match self.byte() {
                b'$' => break,
                b => acks.push(b as char),
            }
        }
        let mut body = Vec::new();
        loop {
            match self.byte() {
                b'#' => break,
                b => body.push(b),
            }
        }
        let sum = [self.byte(), self.byte()];
        let want = body.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        assert_eq!(std::str::from_utf8(&sum).unwrap(), format!("{want:02x}"), "reply checksum");
        // run-length encoding: X*n is X and n - 29 more of it
        let mut plain = Vec::new();
        let mut i = 0;
        while i < body.len() {
            if body[i] == b'*' && i + 1 < body.len() && !plain.is_empty() {
                let last = *plain.last().unwrap();
                plain.extend(std::iter::repeat_n(last, (body[i + 1] - 29) as usize));
                i += 2;
            } else {
                plain.push(body[i]);
                i += 1;
            }
        }
        (acks, String::from_utf8_lossy(&plain).into_owned())
    }

    /// Sends `body`, expects `+` then a reply, and returns the reply.
    fn ask(&mut self, body: &str) -> String {
        self.send(body);
        let (acks, reply) = self.reply_with_acks();
        assert_eq!(acks, "+", "ack of {body:?}");
        reply
    }

    /// After QStartNoAckMode: no acks either way.
    fn ask_noack(&mut self, body: &str) -> String {
        self.send(body);
        let (acks, reply) = self.reply_with_acks();
        assert_eq!(acks, "", "no ack in no-ack mode for {body:?}");
        reply
    }

    /// Everything until the stub closes the connection (bounded).
    fn until_eof(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.s.read(&mut buf) {
                Ok(0) => return all,
                Ok(n) => all.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
                Err(e) => panic!("waiting for the stub to close: {e}"),
            }
        }
    }
}

fn fib_stub(extra: &[&str]) -> Stub {
    Stub::start(&example("fibonacci.fasm"), extra)
}

#[test]
fn a_bad_checksum_gets_a_nak_and_the_retransmission_is_served() {
    let stub = fib_stub(&[]);
    let mut c = Rsp::connect(stub.port);
    // fibonacci.fasm starts LOAD_IMM r1, 20: 5b 01 14 00
    c.send_raw(b"$m0,4#00");
    assert_eq!(c.byte(), b'-', "a bad checksum is answered -");
    assert_eq!(c.ask("m0,4"), "5b011400", "the retransmission is served");
    // a - from the client: the last reply again
    c.send_raw(b"-");
    assert_eq!(c.reply_with_acks(), (String::new(), "5b011400".to_string()));
    // checksum digits that are not hex
    c.send_raw(b"$m0,4#zz");
    assert_eq!(c.byte(), b'-');
    // bytes outside packets are skipped
    c.send_raw(b"\x00junk ");
    assert_eq!(c.ask("m1,2"), "0114");
    // no-ack mode, as gdb negotiates it: a bad checksum is an error reply
    assert_eq!(c.ask("QStartNoAckMode"), "OK");
    c.send_raw(b"$m0,4#00");
    assert_eq!(c.reply_with_acks(), (String::new(), "E05".to_string()));
    assert_eq!(c.ask_noack("m0,4"), "5b011400");
    stub.wait_for_stderr("a packet with a bad checksum");
}

#[test]
fn short_and_long_g_packets_are_errors_that_change_nothing() {
    let stub = fib_stub(&[]);
    let mut c = Rsp::connect(stub.port);
    // a step's stop reply names the thread and carries pc, sp and fp
    // (gdb's register numbers 8, 4, 5); this client negotiated no multiprocess
    assert_eq!(c.ask("vCont;s:1"), "T05thread:01;08:06000000;04:00000100;05:00000100;");
    let before = c.ask("g");
    assert_eq!(c.ask("G00"), "E16");
    let full = "00".repeat(320);
    assert_eq!(c.ask(&format!("G{full}00")), "E16", "one byte too many");
    assert_eq!(c.ask(&format!("G{}", &full[1..])), "E16", "odd number of digits");
    assert_eq!(c.ask("g"), before, "no register changed");
    // r1 = 20 after the first instruction, energy and sp are what they were
    assert_eq!(c.ask("p21"), "14000000");
    // a G of exactly the block is taken (unavailable slots as zeros)
    let mut regs = full.clone();
    regs.replace_range(8 * 2 * 4..8 * 2 * 4 + 8, "10000000"); // eip = 0x10
    assert_eq!(c.ask(&format!("G{regs}")), "OK");
    assert_eq!(c.ask("p8"), "10000000");
    stub.wait_for_stderr("refused \"G00\": 1 bytes of registers, the block is 320");
}

#[test]
fn m_and_x_data_must_have_the_declared_length() {
    let stub = fib_stub(&[]);
    let mut c = Rsp::connect(stub.port);
    assert_eq!(c.ask("M8000,2:aabbcc"), "E16");
    assert_eq!(c.ask("M8000,3:aabb"), "E16");
    assert_eq!(c.ask("M8000,2:aab"), "E16");
    assert_eq!(c.ask("m8000,3"), "000000", "nothing was written");
    assert_eq!(c.ask("M8000,2:aabb"), "OK");
    assert_eq!(c.ask("m8000,3"), "aabb00");
    // X: binary with escapes; 0x7d and 0x23 travel as } ] and } 0x03
    // (a raw 0x03 inside a packet is data, not Ctrl-C)
    c.send_raw(&frame(b"X8010,3:}]}\x03}"));
    assert_eq!(c.reply_with_acks().1, "E16", "ends inside an escape");
    c.send_raw(&frame(b"X8010,3:}]}\x03"));
    assert_eq!(c.reply_with_acks().1, "E16", "two bytes, three declared");
    assert_eq!(c.ask("m8010,2"), "0000");
    c.send_raw(&frame(b"X8010,2:}]}\x03"));
    assert_eq!(c.reply_with_acks().1, "OK");
    assert_eq!(c.ask("m8010,2"), "7d23");
    stub.wait_for_stderr("refused \"M8000,2:aabbcc\": 3 bytes of data, 2 declared");
}

#[test]
fn unknown_threads_are_errors() {
    let stub = fib_stub(&[]);
    let mut c = Rsp::connect(stub.port);
    assert_eq!(c.ask("vCont;s:63"), "E16");
    assert_eq!(c.ask("vCont;c:p2.1"), "E16", "no process 2");
    assert_eq!(c.ask("vCont;x"), "E16", "no such action");
    assert_eq!(c.ask("Hg63"), "E16");
    assert_eq!(c.ask("Hc63"), "E16");
    assert_eq!(c.ask("T-1"), "E16");
    assert_eq!(c.ask("T63"), "E01");
    assert_eq!(c.ask("p8"), "00000000", "nothing ran");
    assert_eq!(c.ask("Hg1"), "OK");
    assert_eq!(c.ask("Hc-1"), "OK");
    assert_eq!(c.ask("T1"), "OK");
    assert_eq!(c.ask("vCont;s:1"), "T05thread:01;08:06000000;04:00000100;05:00000100;");
    assert_eq!(c.ask("p8"), "06000000");
}

#[test]
fn a_malformed_command_is_an_error_and_the_session_keeps_its_state() {
    let stub = fib_stub(&[]);
    let mut c = Rsp::connect(stub.port);
    assert!(c.ask("qSupported:multiprocess+").contains("PacketSize=1000"));
    for bad in ["m zz,4", "m1000000000000000000,4", "qC junk", "Hx1", "Z0,zz,1"] {
        assert_eq!(c.ask(bad), "E16", "{bad}");
    }
    // gdbstub was started afresh, with multiprocess ids as negotiated
    assert_eq!(c.ask("qC"), "QCp01.01");
    // a refused qSupported is not what the session negotiated
    assert_eq!(c.ask("qSupported:multiprocess-;;"), "E16");
    assert_eq!(c.ask("m zz,4"), "E16");
    assert_eq!(c.ask("qC"), "QCp01.01");
    assert_eq!(c.ask("m0,4"), "5b011400");
    stub.wait_for_stderr("refused a packet gdbstub could not take");
}

#[test]
fn qcrc_is_gdbs_crc32() {
    let stub = fib_stub(&[]);
    let mut c = Rsp::connect(stub.port);
    // "123456789": the CRC-32/MPEG-2 check value, gdb's xcrc32
    assert_eq!(c.ask("M9000,9:313233343536373839"), "OK");
    assert_eq!(c.ask("qCRC:9000,9"), "C0376e6e7");
    assert_eq!(c.ask("qCRC:9000,0"), "Cffffffff");
    assert_eq!(c.ask("qCRC:ffff,2"), "E0e", "past the end of memory");
    assert_eq!(c.ask("qCRC:zz"), "E16");
    assert_eq!(c.ask("m0,1"), "5b", "the session goes on");
}

#[test]
fn gdb_compare_sections_answers() {
    let dir = tempfile::tempdir().unwrap();
    let elf = dir.path().join("fib.elf");
    let (code, _, err) = flux(&["asm", example("fibonacci.fasm").to_str().unwrap(), "-o", elf.to_str().unwrap(), "--elf"]);
    assert_eq!(code, 0, "{err}");
    let stub = Stub::start(&elf, &[]);
    let out = gdb_batch(stub.port, &["compare-sections", "set {char}5 = 0x11", "compare-sections", "p 1"]);
    assert!(out.contains("Section .text, range 0x0 -- 0x31: matched."), "{out}");
    assert!(out.contains("Section .text, range 0x0 -- 0x31: MIS-MATCHED!"), "{out}");
    assert_eq!(values(&out), ["1"], "gdb is still connected: {out}");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).expect("VmRSS")
}

#[test]
fn an_oversized_packet_is_refused_without_being_buffered() {
    let stub = fib_stub(&[]);
    let mut c = Rsp::connect(stub.port);
    assert_eq!(c.ask("m0,1"), "5b");
    let before = rss_kib(stub.pid());
    // 32 MiB of body without a '#'
    c.send_raw(b"$");
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..32 {
        c.send_raw(&chunk);
    }
    c.send_raw(b"#00");
    let (acks, reply) = c.reply_with_acks();
    assert_eq!((acks.as_str(), reply.as_str()), ("+", "E07"));
    let grown = rss_kib(stub.pid()).saturating_sub(before);
    assert!(grown < 4096, "the stub grew by {grown} KiB for a 32 MiB packet");
    // the largest packet that fits PacketSize (0x1000 bytes, framing included) is taken
    let data = "00".repeat((4096 - 4 - "M8000,7fe:".len()) / 2);
    assert_eq!(c.ask(&format!("M8000,{:x}:{data}", data.len() / 2)), "OK");
    assert_eq!(c.ask(&format!("M8000,{:x}:{data}00", data.len() / 2 + 1)), "E07", "one byte more");
    assert_eq!(c.ask("m0,1"), "5b");
    stub.wait_for_stderr(&format!("a packet of {} bytes, longer than PacketSize 4096", (32 << 20) + 4));
}

#[test]
fn a_second_client_is_told_at_once_and_the_first_goes_on() {
    let stub = fib_stub(&[]);
    let mut first = Rsp::connect(stub.port);
    assert_eq!(first.ask("vCont;s:1"), "T05thread:01;08:06000000;04:00000100;05:00000100;");
    let mut second = Rsp::connect(stub.port);
    second.send("qSupported");
    let got = second.until_eof();
    let want = [&b"+"[..], &frame(b"E.another debugger is attached")].concat();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
    stub.wait_for_stderr("another debugger is attached");
    stub.wait_for_stderr("flux-gdbstub: refused 127.0.0.1:");
    // the first session saw nothing of it
    assert_eq!(first.ask("p8"), "06000000");
    assert_eq!(first.ask("vCont;s:1"), "T05thread:01;08:0c000000;04:fcff0000;05:00000100;");
    assert_eq!(first.ask("p8"), "0c000000");
    // real gdb as the second client shows the reason
    let out = gdb_batch(stub.port, &["p 1"]);
    assert!(out.contains("Remote failure reply: E.another debugger is attached"), "{out}");
    assert_eq!(first.ask("m0,1"), "5b");
}

#[test]
fn an_idle_connection_is_dropped_after_the_handshake_timeout_and_the_next_is_served() {
    let stub = fib_stub(&["--handshake-timeout", "1"]);
    let start = Instant::now();
    let mut idle = Rsp::connect(stub.port);
    // a byte every 200 ms never completes a packet
    let mut trickle = idle.s.try_clone().unwrap();
    let t = std::thread::spawn(move || {
        for b in b"$m0,4" {
            if trickle.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    // meanwhile a client that speaks is served: the silent one holds no one up
    let mut second = Rsp::connect(stub.port);
    assert_eq!(second.ask("m0,1"), "5b");
    assert_eq!(idle.until_eof(), b"", "dropped without a reply");
    drop(second);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(900), "dropped after {waited:?}");
    t.join().unwrap();
    stub.wait_for_stderr("no complete packet within 1 s of connecting");
    stub.wait_for_stderr("flux-gdbstub: dropped 127.0.0.1:");
    // a debugger that has begun may stay idle as long as it likes
    let mut c = Rsp::connect(stub.port);
    assert_eq!(c.ask("m0,1"), "5b");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(c.ask("m1,1"), "01");
}

/// The stub's CPU time so far, in clock ticks (user + system).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // the fields after the command's closing parenthesis; utime and stime are 14 and 15
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn packets_are_served_whether_they_come_during_the_busy_poll_or_after_it() {
    for poll in ["0", "2000"] {
        let stub = fib_stub(&["--busy-poll", poll]);
        let mut c = Rsp::connect(stub.port);
        assert_eq!(c.ask("m0,1"), "5b", "--busy-poll {poll}");
        // at once, while the stub polls
        assert_eq!(c.ask("m1,1"), "01", "--busy-poll {poll}");
        // long after the poll ended: the stub sleeps and is woken
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(c.ask("m1,1"), "01", "--busy-poll {poll}");
        // a packet whose second half comes after the poll ended
        c.send_raw(b"$m0,");
        std::thread::sleep(Duration::from_millis(20));
        c.send_raw(&frame(b"m0,1")[4..]);
        let (acks, reply) = c.reply_with_acks();
        assert_eq!((acks.as_str(), reply.as_str()), ("+", "5b"), "--busy-poll {poll}");
        // and a closed connection is seen from the poll too
        drop(c);
        let mut next = Rsp::connect(stub.port);
        assert_eq!(next.ask("m1,1"), "01", "--busy-poll {poll}: the next debugger is served");
    }
}

#[test]
fn an_idle_session_leaves_the_stub_asleep() {
    // the default poll: it ends with its deadline, not with gdb's next packet
    let stub = fib_stub(&[]);
    let mut c = Rsp::connect(stub.port);
    assert_eq!(c.ask("m0,1"), "5b");
    let before = cpu_ticks(stub.pid());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(stub.pid()) - before;
    // a poll that never ended would take all of the 2 s (about 200 ticks)
    assert!(used <= 20, "the stub took {used} ticks of CPU in 2 s of an idle session");
    assert_eq!(c.ask("m1,1"), "01");
}

#[test]
fn with_once_a_connection_without_packets_does_not_count() {
    let mut stub = fib_stub(&["--once", "--handshake-timeout", "0.5"]);
    drop(TcpStream::connect(("127.0.0.1", stub.port)).expect("connect"));
    stub.wait_for_stderr("flux-gdbstub: dropped 127.0.0.1:");
    let out = gdb_batch(stub.port, &["stepi", "p $r1"]);
    assert_eq!(values(&out), ["20"], "{out}");
    assert!(stub.wait_exit().success());
}

#[test]
fn packets_while_the_program_runs_are_dropped_and_ctrl_c_still_stops_it() {
    let (_d, p) = program(
        "loop.fasm",
        "
spin:   INCR     r1
        JMP      spin
",
    );
    let stub = Stub::start_env(&p, &[], &[("RUST_LOG", "warn")]);
    let mut c = Rsp::connect(stub.port);
    c.send("vCont;c");
    assert_eq!(c.byte(), b'+');
    c.send("m0,1");
    assert_eq!(c.byte(), b'+', "acknowledged");
    stub.wait_for_stderr("dropped \"m0,1\": it came while the program runs");
    c.send_raw(b"\x03");
    let (acks, reply) = c.reply_with_acks();
    assert_eq!((acks.as_str(), reply.as_str()), ("", "S02"));
    assert_eq!(c.ask("m0,1"), "39", "the session goes on (INCR)");
}

#[test]
fn silent_connections_wait_apart_and_past_the_limit_are_closed() {
    let stub = fib_stub(&["--handshake-timeout", "30"]);
    // 16 connections that say nothing: each waits on its own, none holds the stub
    let silent: Vec<TcpStream> = (0..16).map(|_| TcpStream::connect(("127.0.0.1", stub.port)).expect("connect")).collect();
    // the 17th waiting one is closed at once, with a log line
    let mut extra = Rsp::connect(stub.port);
    assert_eq!(extra.until_eof(), b"", "closed without a reply");
    stub.wait_for_stderr("connections already wait for their first packet");
    stub.wait_for_stderr("flux-gdbstub: refused 127.0.0.1:");
    // one that closes frees its place, and a debugger that speaks is served
    drop(silent);
    let start = Instant::now();
    while stub.stderr().matches("closed before its first packet").count() < 16 {
        assert!(start.elapsed() < Duration::from_secs(60), "{}", stub.stderr());
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut c = Rsp::connect(stub.port);
    assert_eq!(c.ask("m0,1"), "5b");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// gdb's Host I/O: read-only, and only the program's ELF (built in memory
/// from the .fasm) under the path qXfer:exec-file names.
#[test]
fn host_io_serves_only_the_programs_elf_and_only_for_reading() {
    let stub = fib_stub(&["--once"]);
    let mut c = Rsp::connect(stub.port);
    let fasm = example("fibonacci.fasm").canonicalize().unwrap();
    let path = fasm.as_os_str().as_encoded_bytes();
    assert_eq!(c.ask("qXfer:exec-file:read::0,fff"), format!("m{}", fasm.display()));
    assert_eq!(c.ask(&format!("qXfer:exec-file:read::{:x},fff", path.len())), "l");
    // other files: no such file; the program's own source is not served either
    assert_eq!(c.ask(&format!("vFile:open:{},0,0", hex(b"/etc/passwd"))), "F-1,02");
    assert_eq!(c.ask(&format!("vFile:open:{},0,0", hex(b"just probing"))), "F-1,02");
    // writing, creating, truncating, appending: permission denied (EACCES = 13)
    for flags in ["1", "2", "8", "200", "400", "601"] {
        assert_eq!(c.ask(&format!("vFile:open:{},{flags},1a4", hex(path))), "F-1,0d", "flags {flags}");
    }
    // no pwrite, unlink or readlink at all (an empty reply: not supported)
    assert_eq!(c.ask(&format!("vFile:unlink:{}", hex(path))), "");
    assert_eq!(c.ask(&format!("vFile:readlink:{}", hex(b"/proc/self/exe"))), "");
    assert_eq!(c.ask("vFile:setfs:0"), "F0");
    // replies are hex with an even number of digits: fd 0
    assert_eq!(c.ask(&format!("vFile:open:{},0,0", hex(path))), "F00");
    assert_eq!(c.ask("vFile:pwrite:0,0,x"), "");
    assert_eq!(c.ask("vFile:pread:0,4,0"), "F04;\u{7f}ELF");
    assert!(c.ask("vFile:fstat:0").starts_with("F40;"));
    assert_eq!(c.ask("vFile:close:0"), "F0");
    assert_eq!(c.ask("vFile:pread:0,4,0"), "F-1,09", "closed: EBADF");
    assert_eq!(c.ask("vFile:close:0"), "F-1,09");
    // the VM is untouched: the program still runs to its end
    assert_eq!(c.ask("vCont;c"), "W6d");
}
