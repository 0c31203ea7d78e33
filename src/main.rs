//! flux-gdbstub: serve a FLUX program to gdb or lldb, run it headless,
//! assemble and disassemble it.
use std::io::Write;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use cuda_flux_debugger::analysis::debugger::DebugEvent;
use cuda_flux_debugger::analysis::explore;
use cuda_flux_debugger::analysis::recording::{self, Recording};
use cuda_flux_debugger::analysis::rundb;
use cuda_flux_debugger::analysis::session::{RunError, Session};
use cuda_flux_debugger::analysis::trace_buffer::TraceStream;
use cuda_flux_debugger::analysis::trace_format::TraceFormat;
use cuda_flux_debugger::frontend::gdb::FluxTarget;
use cuda_flux_debugger::frontend::server;
use cuda_flux_debugger::program::{asm, disasm, Program, ProgramError};
use cuda_flux_debugger::runtime::vm::{Outcome, SchedKind, Schedule, StopKind, VmConfig, DEFAULT_ENERGY, DEFAULT_SLICE, PCT_MAX_DEPTH};

#[derive(Parser)]
#[command(name = "flux-gdbstub", version, about = "A GDB stub, runner, assembler and disassembler for FLUX bytecode")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Copy)]
struct VmArgs {
    /// Energy budget at start
    #[arg(long, default_value_t = DEFAULT_ENERGY)]
    energy: i64,
    /// Seed of the VM's random number generator
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Warn (stop once under a debugger) when energy first falls below N
    #[arg(long, value_name = "N")]
    apoptosis_warn: Option<i64>,
    /// How agents take turns: round-robin, chaos (slices and order drawn from --seed),
    /// or pct (priorities and --depth - 1 change points drawn from --seed)
    #[arg(long, value_enum, default_value_t = SchedKind::RoundRobin)]
    sched: SchedKind,
    /// Instructions per time slice (chaos: the longest slice)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SLICE, value_parser = clap::value_parser!(u32).range(1..))]
    slice: u32,
    #[command(flatten)]
    pct: PctArgs,
}

/// PCT's parameters (`--sched pct`).
#[derive(Args, Clone, Copy)]
struct PctArgs {
    /// PCT's depth bound D (1-16; default 3): D - 1 priority change points
    #[arg(long, value_name = "D")]
    depth: Option<u32>,
    /// PCT: change points are drawn from instructions 1..K (default: the instructions of one round-robin run)
    #[arg(long, value_name = "K")]
    pct_steps: Option<u64>,
}

impl PctArgs {
    /// The schedule `kind` with slices of `slice`; for PCT, its depth and
    /// steps (measured on `program` when not given).
    fn schedule(self, kind: SchedKind, slice: u32, program: &[u8], energy: i64) -> Result<Schedule> {
        if kind != SchedKind::Pct {
            if self.depth.is_some() || self.pct_steps.is_some() {
                bail!("--depth and --pct-steps are for --sched pct");
            }
            return Ok(Schedule::new(kind, slice));
        }
        let depth = self.depth.unwrap_or(3);
        if !(1..=PCT_MAX_DEPTH).contains(&depth) {
            bail!("--depth {depth}: PCT's depth bound is 1 to {PCT_MAX_DEPTH}");
        }
        let steps = match self.pct_steps {
            Some(0) => bail!("--pct-steps 0: change points are drawn from instructions 1..K, K at least 1"),
            Some(k) => k,
            None => cuda_flux_debugger::analysis::explore::pct_steps(program, energy, slice)?,
        };
        log::info!("pct: depth {depth}, change points drawn from instructions 1..{steps}");
        Ok(Schedule::pct(slice, depth, steps))
    }
}

impl VmArgs {
    fn config(self) -> VmConfig {
        VmConfig { energy: self.energy, seed: self.seed }
    }

    fn schedule(self, program: &[u8]) -> Result<Schedule> {
        self.pct.schedule(self.sched, self.slice, program, self.energy)
    }
}

#[derive(Subcommand)]
enum ReplayCommand {
    /// The first divergence between two recordings: exit 0 when they match, 1 when they diverge, 2 on error
    Diff {
        expected: PathBuf,
        actual: PathBuf,
        /// One JSON object instead of text
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ExploreCommand {
    /// Combine the --json records of every shard of one exploration into its report and exit status
    Merge {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Serve PROGRAM to gdb/lldb over the GDB remote serial protocol
    Serve {
        /// FLUX assembly (.fasm) or raw bytecode (with --replay: optional, checked against the file)
        #[arg(required_unless_present = "replay")]
        program: Option<PathBuf>,
        /// Address to listen on; anything but loopback must be asked for explicitly
        #[arg(long, default_value = "127.0.0.1:1234")]
        listen: String,
        /// Serve on stdin/stdout (`target remote | flux-gdbstub serve --stdio PROG`)
        #[arg(long, conflicts_with = "listen")]
        stdio: bool,
        /// Exit after the first debugger session
        #[arg(long)]
        once: bool,
        /// Drop a connection that has not sent a complete packet SECS seconds after connecting
        #[arg(long, value_name = "SECS", default_value_t = server::DEFAULT_HANDSHAKE_TIMEOUT.as_secs_f64(), value_parser = handshake_secs)]
        handshake_timeout: f64,
        /// Poll for gdb's next packet this many microseconds before sleeping
        /// (0: sleep at once; no polling on a machine with one CPU)
        #[arg(long, value_name = "MICROSECONDS", default_value_t = server::DEFAULT_BUSY_POLL.as_micros() as u64, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
        busy_poll: u64,
        /// Record from the first instruction, so that gdb can go backwards
        #[arg(long)]
        record: bool,
        /// The most memory a recording's history takes (bytes, or K, M, G; at least 1M): past it,
        /// old checkpoints are thinned out, then the oldest part of the history is dropped
        #[arg(long, value_name = "SIZE", value_parser = cuda_flux_debugger::analysis::history::parse_limit, default_value = "256M")]
        record_limit: u64,
        /// Serve a recorded run from a replay file (`run --record`, `monitor replay save`)
        #[arg(long, value_name = "PATH", conflicts_with = "record")]
        replay: Option<PathBuf>,
        /// The only directory `monitor ... save PATH` writes into (default: the current directory)
        #[arg(long, value_name = "DIR", default_value = ".")]
        save_dir: PathBuf,
        #[command(flatten)]
        vm: VmArgs,
    },
    /// Run PROGRAM without a debugger: output on stdout, exit status = HALT code (128 + signal on a fault)
    Run {
        program: PathBuf,
        #[command(flatten)]
        vm: VmArgs,
        /// Record every instruction to PATH (a directory for codetracer)
        #[arg(long, value_name = "PATH")]
        trace: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text", requires = "trace")]
        trace_format: TraceFormat,
        /// Profile the run exactly and write a speedscope file to PATH
        #[arg(long, value_name = "PATH")]
        profile: Option<PathBuf>,
        /// The most call events the --profile file holds (one per call and
        /// one per return): past it, the file holds aggregated samples
        #[arg(long, value_name = "N", default_value_t = cuda_flux_debugger::analysis::profile_report::DEFAULT_MAX_EVENTS, requires = "profile")]
        profile_events: u64,
        /// Record the run to a replay file (`serve --replay PATH` debugs it)
        #[arg(long, value_name = "PATH", conflicts_with_all = ["trace", "profile", "apoptosis_warn"])]
        record: Option<PathBuf>,
        /// The largest replay file --record writes (bytes, or K, M, G; at least 1M): past it,
        /// digests are kept further apart
        #[arg(long, value_name = "SIZE", value_parser = cuda_flux_debugger::analysis::history::parse_limit, default_value = "256M", requires = "record")]
        record_limit: u64,
    },
    /// Replay files
    Replay {
        #[command(subcommand)]
        command: ReplayCommand,
    },
    /// Assemble FLUX assembly into bytecode, or with --elf into an ELF32 i386 executable with symbols and DWARF for gdb
    Asm {
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Write an ELF executable (symbols, line table, call-frame information) instead of raw bytecode
        #[arg(long)]
        elf: bool,
    },
    /// Disassemble bytecode in flux-disasm's format
    Disasm { file: PathBuf },
    /// Serve the Debug Adapter Protocol (for editors) on stdin/stdout, or on ADDR:PORT
    Dap {
        /// Listen on ADDR:PORT (a port of 0: any free one; the address is printed on stderr) instead of stdin/stdout
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
    },
    /// Run PROGRAM once (recorded) and write its layers into the run database FILE (docs/RUNDB.md);
    /// with --from, index a replay file instead: exit 0, 1 when a layer failed, 2 on error
    Collect {
        /// FLUX assembly or bytecode (with --from: optional, checked against the recording, for names)
        #[arg(required_unless_present = "from")]
        program: Option<PathBuf>,
        /// The run database (created when missing; several runs share one)
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// Index this replay file (`run --record`, `monitor replay save`) instead of running
        #[arg(long, value_name = "REPLAY_FILE")]
        from: Option<PathBuf>,
        #[command(flatten)]
        vm: VmArgs,
    },
    /// Ask a run database: a named query (runs, top-ops, hotpath, calls, writes, output, compare)
    /// or --sql; a table, or with --json one JSON object per row
    Query {
        file: PathBuf,
        /// The named query
        #[arg(required_unless_present = "sql")]
        name: Option<String>,
        /// Its arguments
        args: Vec<String>,
        /// Any statement that reads (the database is opened read-only)
        #[arg(long, value_name = "SELECT", conflicts_with = "name")]
        sql: Option<String>,
        /// One JSON object per row instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Print the opcode table as JSON (what `monitor isa json` answers; scripts/flux-gdb.py reads it)
    Isa,
    /// Run PROGRAM once per seed and group the runs by outcome (exit status, output, fault):
    /// exit 0 for one outcome, 1 for several, 2 on error
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Explore {
        #[command(subcommand)]
        merge: Option<ExploreCommand>,
        #[arg(required = true)]
        program: Option<PathBuf>,
        /// Seeds to run: A..B (B excluded) or A..=B
        #[arg(long, required_unless_present = "why", conflicts_with = "why", value_parser = cuda_flux_debugger::analysis::explore::parse_seeds)]
        seeds: Option<std::ops::Range<u64>>,
        /// Branch the run of SEED again at each of its scheduling decisions: the probability of its
        /// outcome after each, and the decision after which it is inevitable
        #[arg(long, value_name = "SEED", conflicts_with_all = ["shard", "json"])]
        why: Option<u64>,
        /// --why: branches per decision (default 20)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100000))]
        branches: Option<u64>,
        /// --why: write the branch table as JSON to FILE
        #[arg(long, value_name = "FILE")]
        why_json: Option<PathBuf>,
        /// Run only shard K of N (K from 0) of the seeds: the K-th of N consecutive blocks
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Write the outcome classes as one JSON record (for `explore merge`) instead of the report
        #[arg(long)]
        json: bool,
        /// Do not count schedules up to equivalence (runs without the access log: faster)
        #[arg(long, conflicts_with = "why")]
        no_coverage: bool,
        /// How agents take turns (chaos: each seed is one interleaving)
        #[arg(long, value_enum, default_value_t = SchedKind::Chaos)]
        sched: SchedKind,
        /// Instructions per time slice (chaos: the longest slice)
        #[arg(long, value_name = "N", default_value_t = DEFAULT_SLICE, value_parser = clap::value_parser!(u32).range(1..))]
        slice: u32,
        /// Energy budget of each agent
        #[arg(long, default_value_t = DEFAULT_ENERGY)]
        energy: i64,
        /// Runs in parallel (default: the machine's cores)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        jobs: Option<u32>,
        /// Record each seed's run (its runs row and outcome class) in this run database
        #[arg(long, value_name = "FILE", conflicts_with = "json")]
        db: Option<PathBuf>,
        #[command(flatten)]
        pct: PctArgs,
    },
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("flux-gdbstub: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve { program, listen, stdio, once, handshake_timeout, busy_poll, record, record_limit, replay, save_dir, vm } => {
            let tcp = server::TcpOptions {
                once,
                handshake_timeout: std::time::Duration::from_secs_f64(handshake_timeout),
                busy_poll: server::busy_poll_for_this_machine(std::time::Duration::from_micros(busy_poll)),
            };
            serve(program, &listen, stdio, tcp, (record, record_limit), replay, &save_dir, vm)
        }
        Command::Run { program, vm, record: Some(path), record_limit, .. } => run_recorded(program, vm, path, record_limit),
        Command::Run { program, vm, trace, trace_format, profile, profile_events, record: None, .. } => {
            run_headless(program, vm, trace.map(|p| (p, trace_format)), profile.map(|p| (p, profile_events)))
        }
        Command::Replay { command: ReplayCommand::Diff { expected, actual, json } } => replay_diff(&expected, &actual, json),
        Command::Asm { input, output, elf } => {
            // the same reading rules as `run` (regular files, UTF-8): an
            // assembly error exits 1, anything else 2
            let text = match Program::read_source(&input) {
                Ok(text) => text,
                Err(ProgramError::Assembly { error, .. }) => {
                    eprintln!("{}:{error}", input.display());
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(e.into()),
            };
            match asm::assemble(&text) {
                Ok(a) => {
                    let bytes = if elf { cuda_flux_debugger::program::elf::write(&a, &input)? } else { a.bytes };
                    std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{}:{e}", input.display());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Explore { merge: Some(ExploreCommand::Merge { files }), .. } => explore_merge(&files),
        Command::Explore { merge: None, program: Some(program), why: Some(seed), branches, why_json, sched, slice, energy, jobs, pct, db, .. } => {
            if db.is_some() {
                bail!("--db is for explore --seeds, not --why");
            }
            explore_why(program, seed, (branches.unwrap_or(20), why_json), (pct, sched, slice), energy, jobs)
        }
        Command::Explore { merge: None, program, seeds, shard, json, sched, slice, energy, jobs, pct, branches, why_json, no_coverage, db, .. } => {
            if branches.is_some() || why_json.is_some() {
                bail!("--branches and --why-json are for --why SEED");
            }
            let (Some(program), Some(seeds)) = (program, seeds) else { bail!("explore needs PROGRAM and --seeds") };
            let shard = match shard {
                Some(s) => Some(cuda_flux_debugger::analysis::explore::Shard::parse(&s).map_err(anyhow::Error::msg)?),
                None => None,
            };
            explore(program, seeds, (shard, json), (pct, sched, slice), energy, (jobs, !no_coverage), db)
        }
        Command::Collect { program, db, from, vm } => collect(program, &db, from, vm),
        Command::Query { file, name, args, sql, json } => query(&file, name, &args, sql, json),
        Command::Isa => {
            println!("{}", cuda_flux_debugger::runtime::isa::to_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Dap { listen } => {
            match listen {
                None => cuda_flux_debugger::frontend::dap::serve_stdio(),
                Some(listen) => {
                    let addr = resolve(&listen)?;
                    if !server::is_loopback(&addr) {
                        eprintln!("flux-gdbstub: warning: listening on {addr}, which other machines can reach; anyone who connects can run programs and write memory");
                    }
                    let listener = TcpListener::bind(addr).with_context(|| format!("--listen {listen}"))?;
                    eprintln!("flux-gdbstub dap: listening on {}", listener.local_addr()?);
                    cuda_flux_debugger::frontend::dap::serve_tcp(listener)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Disasm { file } => {
            let p = Program::load(&file)?;
            print!("{}", disasm::listing(&p.bytes));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `--handshake-timeout`: seconds, more than 0 and at most a day.
fn handshake_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86400.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds in (0, 86400]")),
    }
}

fn resolve(listen: &str) -> Result<SocketAddr> {
    listen
        .to_socket_addrs()
        .with_context(|| format!("--listen {listen}: not an ADDR:PORT"))?
        .next()
        .with_context(|| format!("--listen {listen}: no address"))
}

#[allow(clippy::too_many_arguments)] // serve's options, as clap gives them
fn serve(
    path: Option<PathBuf>,
    listen: &str,
    stdio: bool,
    tcp: server::TcpOptions,
    (record, record_limit): (bool, u64),
    replay: Option<PathBuf>,
    save_dir: &std::path::Path,
    vm: VmArgs,
) -> Result<ExitCode> {
    let save_dir = std::sync::Arc::new(cuda_flux_debugger::program::save_path::SaveDir::open(save_dir)?);
    log::info!("monitor ... save PATH writes inside {}", save_dir.root().display());
    // With --stdio, stdout is the protocol: the program's output goes to stderr.
    let output: Box<dyn Write + Send> = if stdio { Box::new(std::io::stderr()) } else { Box::new(std::io::stdout()) };
    let mut target = match &replay {
        Some(file) => {
            let (rec, program) = recording_and_program(file, path.as_deref())?;
            let config = VmConfig { energy: rec.energy, seed: rec.seed };
            let mut target = FluxTarget::new(program, config, output)?;
            target.session.record_limit = record_limit;
            target.session.vm.set_schedule(rec.schedule);
            target.session.replay_from(&rec)?;
            target
        }
        None => {
            let path = path.context("no PROGRAM")?;
            let program = Program::load(&path)?;
            let schedule = vm.schedule(&program.bytes)?;
            let mut target = FluxTarget::new(program, vm.config(), output)?;
            target.session.record_limit = record_limit;
            target.session.vm.set_schedule(schedule);
            if record {
                target.session.record_from_start = true;
                target.session.start_recording()?;
            }
            target
        }
    };
    if let Some(level) = vm.apoptosis_warn {
        target.session.set_apoptosis_warning(level)?;
    }
    let root = save_dir.root().display().to_string();
    target.session.save_dir = Some(save_dir);
    if stdio {
        server::serve_stdio(&mut target)?;
        return Ok(ExitCode::SUCCESS);
    }
    let addr = resolve(listen)?;
    if !server::is_loopback(&addr) {
        eprintln!(
            "flux-gdbstub: warning: listening on {addr}, which other machines can reach; anyone who connects can run and change the VM and write files in {root}"
        );
    }
    let listener = TcpListener::bind(addr).with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr()?;
    // Tests and scripts wait for this line.
    eprintln!("flux-gdbstub: listening on {local}");
    server::serve_tcp(&mut target, listener, tcp)?;
    Ok(ExitCode::SUCCESS)
}

/// `run --record PATH`: the run, recorded to a replay file of at most `limit` bytes.
fn run_recorded(path: PathBuf, args: VmArgs, file: PathBuf, limit: u64) -> Result<ExitCode> {
    let program = Program::load(&path)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let schedule = args.schedule(&program.bytes)?;
    let (rec, ended) = Recording::record_run_within(&program.bytes, args.config(), schedule, None, Some(limit), &mut out)?;
    out.flush()?;
    rec.save(&file)?;
    if rec.digest_interval > recording::DIGEST_INTERVAL {
        let kept = rec.events.iter().filter(|e| matches!(e, recording::Event::Digest { .. })).count() as u64;
        let dropped = (rec.instructions() / recording::DIGEST_INTERVAL).saturating_sub(kept);
        eprintln!(
            "flux-gdbstub: {}: the record limit ({limit} bytes) kept a digest every {} instructions instead of {}: {dropped} digests dropped",
            file.display(),
            rec.digest_interval,
            recording::DIGEST_INTERVAL
        );
    }
    let outcome = match ended.map(|s| (s.kind, s.pc)) {
        Some((StopKind::Halted { code }, _)) => Outcome::Exited(code),
        Some((StopKind::Fault { signal, reason } | StopKind::Terminated { signal, reason }, pc)) => {
            Outcome::Signalled { signal, pc, reason }
        }
        _ => bail!("the run did not end"),
    };
    if let Outcome::Signalled { signal, pc, reason } = &outcome {
        eprintln!("flux-gdbstub: {signal} at 0x{pc:04X}: {reason}");
    }
    Ok(ExitCode::from(outcome.exit_status().clamp(0, 255) as u8))
}

/// `replay diff A B [--json]`.
fn replay_diff(expected: &std::path::Path, actual: &std::path::Path, json: bool) -> Result<ExitCode> {
    // each file must reproduce itself before its events say anything
    let load = |p: &std::path::Path| -> Result<Recording> {
        let rec = Recording::load(p)?;
        rec.verify().with_context(|| p.display().to_string())?;
        Ok(rec)
    };
    let a = load(expected)?;
    let b = load(actual)?;
    let d = recording::diff(&a, &b)?;
    match (&d, json) {
        (None, true) => println!("{}", serde_json::json!({"diverged": false, "events": a.events.len()})),
        (None, false) => println!("the recordings agree: {} events, {} instructions", a.events.len(), a.instructions()),
        (Some(d), true) => {
            let mut v = serde_json::to_value(d)?;
            v["diverged"] = serde_json::Value::Bool(true);
            println!("{v}");
        }
        (Some(d), false) => {
            println!(
                "first divergence: event {}, instruction {}, pc 0x{:04X}: {}",
                d.position, d.detail.instruction_index, d.detail.pc, d.detail.instruction
            );
            println!("  expected ({}): {}", expected.display(), d.expected);
            println!("  actual   ({}): {}", actual.display(), d.actual);
            let x = &d.detail;
            println!("  seeds: {} vs {}", x.expected_seed, x.actual_seed);
            println!("  programs: sha256 {} vs {}", x.expected_program_sha256, x.actual_program_sha256);
            println!("  the last {} events before it:", x.context.len());
            for c in &x.context {
                println!("    {c}");
            }
        }
    }
    Ok(ExitCode::from(if d.is_some() { 1 } else { 0 }))
}

fn run_headless(path: PathBuf, args: VmArgs, trace: Option<(PathBuf, TraceFormat)>, profile: Option<(PathBuf, u64)>) -> Result<ExitCode> {
    let program = Program::load(&path)?;
    let schedule = args.schedule(&program.bytes)?;
    let mut session = Session::new(program, args.config(), Box::new(std::io::stdout()))?;
    session.vm.set_schedule(schedule);
    let mut stream = match &trace {
        Some((p, format)) => Some(TraceStream::create(p, *format).with_context(|| format!("creating {}", p.display()))?),
        None => None,
    };
    if let Some((_, max_events)) = &profile {
        session.arm_timeline(*max_events)?;
        session.set_profiling(true)?;
    }
    if let Some(level) = args.apoptosis_warn {
        session.set_apoptosis_warning(level)?;
    }
    let outcome = session.run_to_end(stream.as_mut(), &mut |event| {
        if let DebugEvent::ApoptosisWarning { pc, energy, level } = event {
            eprintln!("flux-gdbstub: apoptosis warning: energy {energy} left, below {level}, at 0x{pc:04X}");
        }
    })?;
    if let Some(s) = stream {
        let path = s.path().to_path_buf();
        s.finish(&session.program).map_err(|e| RunError::trace(&path, &e))?;
    }
    if let Some((p, max_events)) = &profile {
        session.write_profile(p).with_context(|| format!("writing {}", p.display()))?;
        if session.timeline.as_ref().is_some_and(|t| t.overflowed) {
            eprintln!(
                "flux-gdbstub: the profile has more than {max_events} call events: {} holds aggregated samples (no timeline); --profile-events raises the limit",
                p.display()
            );
        }
    }
    if let Outcome::Signalled { signal, pc, reason } = &outcome {
        eprintln!("flux-gdbstub: {signal} at 0x{pc:04X}: {reason}");
    }
    let status = outcome.exit_status();
    if status < 0 || status > 255 {
        bail!("exit status {status} out of range");
    }
    Ok(ExitCode::from(status as u8))
}

/// Set by SIGINT while `explore` runs.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    // only an atomic store: async-signal-safe
    INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The first Ctrl-C sets [`INTERRUPTED`]; a second one ends the process as usual.
fn catch_sigint() -> Result<()> {
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the
    // handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error()).context("catching SIGINT");
        }
    }
    Ok(())
}

/// `explore PROGRAM --seeds A..B`: one run per seed, grouped by outcome.
/// Ctrl-C ends it early: the classes of the runs finished so far, exit 130.
fn explore(
    path: PathBuf,
    all_seeds: std::ops::Range<u64>,
    (shard, json): (Option<explore::Shard>, bool),
    (pct, sched, slice): (PctArgs, SchedKind, u32),
    energy: i64,
    (jobs, coverage): (Option<u32>, bool),
    db: Option<PathBuf>,
) -> Result<ExitCode> {
    use std::io::IsTerminal;
    use std::sync::atomic::{AtomicU64, Ordering};
    let program = Program::load(&path)?;
    let schedule = pct.schedule(sched, slice, &program.bytes, energy)?;
    let shard = shard.unwrap_or(explore::Shard { index: 0, count: 1 });
    let seeds = shard.seeds(&all_seeds);
    let total = seeds.end - seeds.start;
    let jobs = jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize);
    let jobs = jobs.min(total.clamp(1, 1 << 16) as usize).max(1);
    // progress on a terminal only, at most every 100 ms
    let tty = std::io::stderr().is_terminal();
    let start = std::time::Instant::now();
    let last = AtomicU64::new(0);
    let progress = |done: u64| {
        log::debug!("explore: {done}/{total} runs done");
        if !tty {
            return;
        }
        let ms = start.elapsed().as_millis() as u64;
        if ms >= last.load(Ordering::Relaxed) + 100 || done == total {
            last.store(ms, Ordering::Relaxed);
            eprint!("\rexplore: {done}/{total} runs");
        }
    };
    catch_sigint()?;
    log::info!("explore: {total} runs on {jobs} threads");
    let mut database = match &db {
        Some(path) => Some(rundb::RunDb::create(path)?),
        None => None,
    };
    let each = std::sync::Mutex::new(Vec::new());
    let keep = database.is_some();
    let on_run = |seed: u64, o: &explore::RunOutcome, instructions: u64| {
        if keep {
            each.lock().unwrap_or_else(|p| p.into_inner()).push((seed, o.clone(), instructions));
        }
    };
    let found = explore::explore_each(&program.bytes, energy, schedule, seeds.clone(), jobs, coverage, &progress, &INTERRUPTED, &on_run)?;
    if let (Some(db), Some(path)) = (database.as_mut(), &db) {
        let mut runs = each.into_inner().unwrap_or_else(|p| p.into_inner());
        runs.sort_by_key(|r| r.0);
        db.in_transaction(|db| {
            for (seed, o, instructions) in &runs {
                let class = found.classes.iter().position(|c| &c.outcome == o).unwrap_or(0) + 1;
                rundb::record_explored(db, &program, (*seed, energy, schedule), o, *instructions, class)?;
            }
            Ok(())
        })?;
        db.build_indices()?;
        log::info!("explore: {} runs recorded in {}", runs.len(), path.display());
    }
    if tty {
        eprint!("\r\x1b[K");
    }
    log::info!("explore: {} runs on {jobs} threads in {:.2} s", found.runs, start.elapsed().as_secs_f64());
    if json && !found.stopped {
        let record = explore::ShardRecord::new(&program.bytes, &all_seeds, shard, schedule, energy, &found);
        println!("{}", serde_json::to_string(&record)?);
        return Ok(ExitCode::SUCCESS);
    }
    Ok(report(&found, seeds.start, total))
}

/// `explore PROGRAM --why SEED`: the probability of SEED's outcome after
/// each of its scheduling decisions, and the one that made it inevitable.
fn explore_why(
    path: PathBuf,
    seed: u64,
    (branches, json): (u64, Option<PathBuf>),
    (pct, sched, slice): (PctArgs, SchedKind, u32),
    energy: i64,
    jobs: Option<u32>,
) -> Result<ExitCode> {
    use cuda_flux_debugger::analysis::why;
    let program = Program::load(&path)?;
    let schedule = pct.schedule(sched, slice, &program.bytes, energy)?;
    let jobs = jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize);
    let found = why::why(&program.bytes, energy, schedule, seed, branches, jobs)?;
    println!("seed {seed}: {}", found.outcome.summary());
    println!("{branches} branches with fresh scheduler seeds after each decision; P = branches ending so:");
    for r in &found.rows {
        let p = r.bad as f64 / r.branches as f64;
        let switch = if r.decision == 0 { "the start".to_string() } else { format!("{}; agent {} runs", r.describe(), r.to) };
        println!("{:>6}  P = {:>5.3} ({}/{})  {switch}", r.decision, p, r.bad, r.branches);
    }
    match found.inevitable_after {
        Some(0) => println!("inevitable from the start"),
        Some(k) => println!("inevitable after {} (decision {k} of {})", found.rows[k].describe(), found.rows.len() - 1),
        None => println!("not inevitable at any decision: after the last, P = {}/{branches}", found.rows.last().map_or(0, |r| r.bad)),
    }
    if let Some(file) = json {
        let o = &found.outcome;
        let record = serde_json::json!({
            "format": "flux-explore-why",
            "version": 1,
            "tool_version": env!("CARGO_PKG_VERSION"),
            "program_sha256": explore::program_sha256(&program.bytes),
            "seed": seed,
            "schedule": schedule,
            "energy": energy,
            "branches": branches,
            "outcome": {
                "status": o.status,
                "output": o.output.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "fault": o.fault,
            },
            "decisions": found.rows,
            "inevitable_after": found.inevitable_after,
        });
        std::fs::write(&file, serde_json::to_string_pretty(&record)? + "\n").with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `explore merge FILES...`: the report one machine would have printed.
fn explore_merge(files: &[PathBuf]) -> Result<ExitCode> {
    let mut shards = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let data = cuda_flux_debugger::program::load::read_regular(f, 1 << 30).with_context(|| name.clone())?;
        shards.push((name.clone(), explore::parse_shard(&data, &name)?));
    }
    let found = explore::merge(&shards)?;
    let total = shards[0].1.seeds[1] - shards[0].1.seeds[0];
    Ok(report(&found, shards[0].1.seeds[0], total))
}

/// The classes, most frequent first, how the distinct schedules grew with
/// the runs (seeds in order from `start`), and the summary line; the exit status.
fn report(found: &explore::Exploration, start: u64, total: u64) -> ExitCode {
    let classes = &found.classes;
    for c in classes {
        println!("{:>8} run{} (first seed {}): {}", c.count, if c.count == 1 { " " } else { "s" }, c.first_seed, c.outcome.summary());
    }
    if !found.schedules.is_empty() && !found.stopped {
        let growth: Vec<String> = found.growth(start, total).iter().map(|(runs, n)| format!("{runs}:{n}")).collect();
        let last = found.schedules.values().max().map_or(0, |s| s - start + 1);
        println!("schedules up to equivalence after N runs (N:count): {}; the last new one at run {last}", growth.join(" "));
    }
    let n = found.schedules.len();
    let mut distinct = format!("{} distinct outcome{}", classes.len(), if classes.len() == 1 { "" } else { "s" });
    if found.coverage {
        distinct += &format!(", {n} distinct schedule{}", if n == 1 { "" } else { "s" });
    }
    if found.stopped {
        println!("interrupted: {} of {total} runs, {distinct}", found.runs);
        return ExitCode::from(130);
    }
    println!("{total} runs, {distinct}");
    ExitCode::from(if classes.len() == 1 { 0 } else { 1 })
}

/// A replay file and the program it ran: the one given (checked against the
/// file's copy), else the file's own bytes.
fn recording_and_program(file: &std::path::Path, path: Option<&std::path::Path>) -> Result<(Recording, Program)> {
    let rec = Recording::load(file)?;
    let program = match path {
        Some(path) => {
            let given = Program::load(path)?;
            rec.check_program(file, &path.display().to_string(), &given.bytes)?;
            given
        }
        None => Program::from_bytes(file.to_path_buf(), rec.program.clone()),
    };
    Ok((rec, program))
}

/// `collect PROGRAM --db FILE` (recorded, then indexed) or `collect --from REPLAY_FILE`.
fn collect(path: Option<PathBuf>, db: &std::path::Path, from: Option<PathBuf>, args: VmArgs) -> Result<ExitCode> {
    if args.apoptosis_warn.is_some() {
        bail!("--apoptosis-warn is for run and serve, not collect");
    }
    let (program, rec, source) = match &from {
        Some(file) => {
            let (rec, program) = recording_and_program(file, path.as_deref())?;
            (program, rec, file.display().to_string())
        }
        None => {
            let path = path.context("no PROGRAM")?;
            let program = Program::load(&path)?;
            let schedule = args.schedule(&program.bytes)?;
            let (rec, _) = Recording::record_run(&program.bytes, args.config(), schedule, None, &mut std::io::sink())?;
            (program, rec, "run".to_string())
        }
    };
    let mut database = rundb::RunDb::create(db)?;
    let c = rundb::collect(&mut database, &program, &rec, rundb::Source { kind: "collect", from: source })?;
    let end = match (&c.end.outcome[..], c.end.exit_code, &c.end.signal) {
        ("exited", Some(code), _) => format!("exited with code {code}"),
        ("signalled", _, Some(signal)) => format!("{signal} at 0x{:04X}: {}", c.end.fault_pc.unwrap_or(0), c.end.reason.as_deref().unwrap_or("")),
        _ => "still running when the recording ended".to_string(),
    };
    let failed: Vec<&rundb::LayerResult> = c.layers.iter().filter(|l| l.error.is_some()).collect();
    println!(
        "run {}: {end} after {} instructions; {} rows in {} layers{}",
        c.run,
        c.instructions,
        c.rows(),
        c.layers.len(),
        if failed.is_empty() { String::new() } else { format!(" ({} failed)", failed.len()) }
    );
    for l in &failed {
        eprintln!("flux-gdbstub: {}: run {}: layer {} failed: {}", database.path(), c.run, l.name, l.error.as_deref().unwrap_or(""));
    }
    Ok(ExitCode::from(if failed.is_empty() { 0 } else { 1 }))
}

/// `query FILE NAME [ARGS] [--json]`, `query FILE --sql "SELECT ..."`.
fn query(file: &std::path::Path, name: Option<String>, args: &[String], sql: Option<String>, json: bool) -> Result<ExitCode> {
    let db = rundb::QueryDb::open(file)?;
    let answer = match (&sql, &name) {
        (Some(text), _) => {
            if !args.is_empty() {
                bail!("--sql takes no arguments besides the statement");
            }
            db.sql(text)?
        }
        (None, Some(name)) => db.named(name, args)?,
        (None, None) => bail!("query: a query name or --sql"),
    };
    if json {
        print!("{}", answer.json_lines());
    } else {
        print!("{}", answer.table());
    }
    Ok(ExitCode::SUCCESS)
}
