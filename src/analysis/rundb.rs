//! The run database: a run's layers in SQLite (`flux-gdbstub collect`), and
//! the named queries over it (`flux-gdbstub query`).
//!
//! A run is indexed from its recording: `collect PROGRAM` records the run
//! (as `run --record` does) and indexes that recording; `collect --from
//! FILE` indexes a replay file.  Indexing re-executes the recording once with
//! the VM's trace and exact profile on, and turns what they say into layers:
//! output lines, the profile, every call, every memory write, agent switches
//! and messages, the final state.  Each layer is written in its own
//! transaction with prepared statements; a layer that fails is rolled back
//! and recorded in `layers` with its error, and the others still land.
//! Indices are built after loading.  docs/RUNDB.md describes every table.
use std::collections::{HashMap, VecDeque};
use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OpenFlags};

use crate::analysis::explore::RunOutcome;
use crate::analysis::profiler::profile_data;
use crate::analysis::recording::{self, program_hash, Recording, ReplayError, Runner};
use crate::program::disasm::{self, Decoded};
use crate::program::load::Program;
use crate::runtime::isa::{self, Flow};
use crate::runtime::vm::{AgentState, Schedule, StopKind, NUM_REGS};

/// `PRAGMA user_version` of the databases this build writes and reads.
pub const SCHEMA_VERSION: i32 = 1;
/// `PRAGMA application_id`: "FLXR".
pub const APPLICATION_ID: i32 = 0x464C_5852;

/// The named queries, in the order `query` lists them.
pub const QUERIES: &[&str] = &["runs", "top-ops", "hotpath", "calls", "writes", "output", "compare"];

#[derive(Debug, thiserror::Error)]
pub enum RunDbError {
    #[error("{path}: not a SQLite database")]
    NotSqlite { path: String },
    #[error("{path}: a SQLite database, but not a flux run database")]
    NotRunDb { path: String },
    #[error("{path}: run database version {found}; this flux-gdbstub reads version {SCHEMA_VERSION} (collect the runs again)")]
    Version { path: String, found: i32 },
    #[error("{path}: no such file")]
    Missing { path: String },
    #[error("{context}: {message}")]
    Sqlite { context: String, message: String },
    #[error("unknown query '{0}': the queries are {known}", known = QUERIES.join(", "))]
    UnknownQuery(String),
    #[error("{0}")]
    Usage(String),
    #[error("--sql: the statement writes, and queries open the database read-only")]
    Writes,
    #[error("no run {0} in the database")]
    NoRun(i64),
    #[error("the database holds no runs")]
    NoRuns,
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// SQLite's own words for an error (rusqlite's repeat the statement).
fn sqlite_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        e => e.to_string(),
    }
}

fn sql(context: &str) -> impl Fn(rusqlite::Error) -> RunDbError + '_ {
    move |e| RunDbError::Sqlite { context: context.to_string(), message: sqlite_message(&e) }
}

const SCHEMA: &str = "
CREATE TABLE runs(
    run INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    program TEXT NOT NULL,
    program_sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    seed INTEGER NOT NULL,
    energy INTEGER NOT NULL,
    schedule TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    exit_code INTEGER,
    signal TEXT,
    fault_pc INTEGER,
    reason TEXT,
    instructions INTEGER NOT NULL,
    explore_class INTEGER,
    output TEXT
);
CREATE TABLE layers(run INTEGER NOT NULL, layer TEXT NOT NULL, status TEXT NOT NULL, rows INTEGER NOT NULL, error TEXT);
CREATE TABLE recordings(run INTEGER PRIMARY KEY, replay BLOB NOT NULL);
CREATE TABLE output(run INTEGER NOT NULL, line INTEGER NOT NULL, instruction INTEGER, agent INTEGER, pc INTEGER, text TEXT NOT NULL);
CREATE TABLE profile_ops(run INTEGER NOT NULL, opcode TEXT NOT NULL, category TEXT NOT NULL, count INTEGER NOT NULL, energy INTEGER NOT NULL);
CREATE TABLE profile_pcs(run INTEGER NOT NULL, pc INTEGER NOT NULL, opcode TEXT NOT NULL, count INTEGER NOT NULL, energy INTEGER NOT NULL);
CREATE TABLE profile_paths(run INTEGER NOT NULL, path INTEGER NOT NULL, parent INTEGER, depth INTEGER NOT NULL, entry INTEGER NOT NULL,
    function TEXT NOT NULL, stack TEXT NOT NULL, self_count INTEGER NOT NULL, inclusive INTEGER NOT NULL, calls INTEGER NOT NULL);
CREATE TABLE calls(run INTEGER NOT NULL, call INTEGER NOT NULL, instruction INTEGER NOT NULL, agent INTEGER NOT NULL, caller_pc INTEGER NOT NULL,
    callee INTEGER NOT NULL, function TEXT NOT NULL, depth INTEGER NOT NULL, r1 INTEGER NOT NULL, return_instruction INTEGER, r0 INTEGER);
CREATE TABLE writes(run INTEGER NOT NULL, instruction INTEGER NOT NULL, pc INTEGER NOT NULL, agent INTEGER NOT NULL, addr INTEGER NOT NULL,
    size INTEGER NOT NULL, old INTEGER NOT NULL, new INTEGER NOT NULL);
CREATE TABLE switches(run INTEGER NOT NULL, instruction INTEGER NOT NULL, from_agent INTEGER NOT NULL, to_agent INTEGER NOT NULL, pc INTEGER NOT NULL);
CREATE TABLE messages(run INTEGER NOT NULL, instruction INTEGER NOT NULL, agent INTEGER NOT NULL, pc INTEGER NOT NULL, op TEXT NOT NULL,
    direction TEXT NOT NULL, peer INTEGER NOT NULL, value INTEGER NOT NULL);
CREATE TABLE final_agents(run INTEGER NOT NULL, agent INTEGER NOT NULL, state TEXT NOT NULL, pc INTEGER NOT NULL, sp INTEGER NOT NULL,
    fp INTEGER NOT NULL, flags INTEGER NOT NULL, energy INTEGER NOT NULL, retired INTEGER NOT NULL);
CREATE TABLE final_registers(run INTEGER NOT NULL, agent INTEGER NOT NULL, reg INTEGER NOT NULL, value INTEGER NOT NULL, conf REAL NOT NULL);
CREATE TABLE final_memory(run INTEGER PRIMARY KEY, memory BLOB NOT NULL, sha256 TEXT NOT NULL);
";

const INDICES: &str = "
CREATE INDEX IF NOT EXISTS output_run ON output(run, line);
CREATE INDEX IF NOT EXISTS profile_ops_run ON profile_ops(run);
CREATE INDEX IF NOT EXISTS profile_pcs_run ON profile_pcs(run, pc);
CREATE INDEX IF NOT EXISTS profile_paths_run ON profile_paths(run, path);
CREATE INDEX IF NOT EXISTS calls_run_function ON calls(run, function);
CREATE INDEX IF NOT EXISTS calls_run_instruction ON calls(run, instruction);
CREATE INDEX IF NOT EXISTS writes_run_addr ON writes(run, addr);
CREATE INDEX IF NOT EXISTS switches_run ON switches(run, instruction);
CREATE INDEX IF NOT EXISTS messages_run ON messages(run, instruction);
CREATE INDEX IF NOT EXISTS layers_run ON layers(run);
";

/// Binds each value to its parameter (?1, ?2, ...) of the prepared
/// statement and runs it: typed binds, no slice of trait objects per row.
macro_rules! insert {
    ($st:expr; $($v:expr),+ $(,)?) => {{
        let mut k = 0usize;
        $( k += 1; $st.raw_bind_parameter(k, $v)?; )+
        let _ = k;
        $st.raw_execute()
    }};
}

/// A run database open for writing.
pub struct RunDb {
    conn: Connection,
    path: String,
}

/// Checks the version and the application id of an open database (`fresh`:
/// an empty database may be set up).
fn check(conn: &Connection, path: &str, fresh_ok: bool) -> Result<bool, RunDbError> {
    let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            RunDbError::NotSqlite { path: path.to_string() }
        }
        e => sql(path)(e),
    })?;
    let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(sql(path))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(sql(path))?;
    if version == 0 && app == 0 && tables == 0 {
        return if fresh_ok { Ok(true) } else { Err(RunDbError::NoRuns) };
    }
    if app != APPLICATION_ID {
        return Err(RunDbError::NotRunDb { path: path.to_string() });
    }
    if version != SCHEMA_VERSION {
        return Err(RunDbError::Version { path: path.to_string(), found: version });
    }
    Ok(false)
}

impl RunDb {
    /// Opens (or creates) a run database for collecting into.
    pub fn create(path: &Path) -> Result<RunDb, RunDbError> {
        let name = path.display().to_string();
        let conn = Connection::open(path).map_err(sql(&name))?;
        let fresh = check(&conn, &name, true)?;
        if fresh {
            conn.execute_batch(&format!(
                "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; PRAGMA application_id = {APPLICATION_ID}; COMMIT;"
            ))
            .map_err(sql(&name))?;
        }
        // a database this collect creates holds nothing else: a crash may
        // leave it broken, and the collect is run again (journal in memory,
        // which still rolls a failed layer back; no syncs).  One that holds
        // runs already keeps its journal and syncs.
        let durability = if fresh { "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;" } else { "PRAGMA synchronous = NORMAL;" };
        // the indices are sorted in memory (64 MiB of page cache) rather than in temporary files
        conn.execute_batch(&format!("{durability} PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;")).map_err(sql(&name))?;
        Ok(RunDb { conn, path: name })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Builds the indices (after loading: inserting into them is slower).
    pub fn build_indices(&self) -> Result<(), RunDbError> {
        self.conn.execute_batch(INDICES).map_err(sql("building the indices"))
    }

    fn insert_run(&self, r: &RunRow) -> Result<i64, RunDbError> {
        self.conn
            .execute(
                "INSERT INTO runs(kind, program, program_sha256, source, seed, energy, schedule, outcome, status, exit_code, signal,
                    fault_pc, reason, instructions, explore_class, output)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                params![
                    r.kind,
                    r.program,
                    r.sha256,
                    r.source,
                    r.seed as i64,
                    r.energy,
                    serde_json::to_string(&r.schedule).unwrap_or_default(),
                    r.end.outcome,
                    r.end.status,
                    r.end.exit_code,
                    r.end.signal,
                    r.end.fault_pc,
                    r.end.reason,
                    r.instructions as i64,
                    r.explore_class,
                    r.output,
                ],
            )
            .map_err(sql("inserting the run"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Writes one layer in its own transaction; a failure is rolled back and
    /// recorded in `layers` (Ok with the error text).
    fn layer(
        &mut self,
        run: i64,
        name: &str,
        data: Result<&LayerWriter, String>,
    ) -> Result<LayerResult, RunDbError> {
        let result = match data {
            Err(e) => Err(e),
            Ok(write) => {
                let tx = self.conn.transaction().map_err(sql(name))?;
                match write(&tx) {
                    Ok(rows) => tx.commit().map(|_| rows).map_err(|e| sqlite_message(&e)),
                    Err(e) => Err(sqlite_message(&e)), // dropping tx rolls back
                }
            }
        };
        let (status, rows, error) = match &result {
            Ok(rows) => ("ok", *rows, None),
            Err(e) => ("failed", 0, Some(e.clone())),
        };
        if let Some(e) = &error {
            log::info!("run {run}: layer {name} failed: {e}");
        }
        self.conn
            .execute("INSERT INTO layers(run, layer, status, rows, error) VALUES (?1, ?2, ?3, ?4, ?5)", params![run, name, status, rows as i64, error])
            .map_err(sql("recording a layer"))?;
        Ok(LayerResult { name: name.to_string(), rows, error })
    }
}

/// Writes one layer's rows in a transaction; returns how many.
type LayerWriter<'a> = dyn Fn(&rusqlite::Transaction) -> rusqlite::Result<u64> + 'a;

/// How a layer went.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerResult {
    pub name: String,
    pub rows: u64,
    pub error: Option<String>,
}

/// What `collect` did.
#[derive(Debug, Clone)]
pub struct Collected {
    pub run: i64,
    pub end: RunEnd,
    pub instructions: u64,
    pub layers: Vec<LayerResult>,
}

impl Collected {
    pub fn rows(&self) -> u64 {
        self.layers.iter().map(|l| l.rows).sum::<u64>() + 1
    }
}

/// How a run ended, as the `runs` row says it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunEnd {
    /// `exited`, `signalled` or `running` (the recording ended first).
    pub outcome: String,
    pub status: Option<i64>,
    pub exit_code: Option<i64>,
    pub signal: Option<String>,
    pub fault_pc: Option<i64>,
    pub reason: Option<String>,
}

impl RunEnd {
    fn of(stop: Option<&crate::runtime::vm::Stop>) -> RunEnd {
        match stop.map(|s| (&s.kind, s.pc)) {
            Some((StopKind::Halted { code }, _)) => RunEnd {
                outcome: "exited".into(),
                status: Some(*code as i64),
                exit_code: Some(*code as i64),
                ..RunEnd::default()
            },
            Some((StopKind::Fault { signal, reason } | StopKind::Terminated { signal, reason }, pc)) => RunEnd {
                outcome: "signalled".into(),
                status: Some(128 + signal.number() as i64),
                signal: Some(signal.name().to_string()),
                fault_pc: Some(pc as i64),
                reason: Some(reason.clone()),
                ..RunEnd::default()
            },
            _ => RunEnd { outcome: "running".into(), ..RunEnd::default() },
        }
    }
}

struct RunRow<'a> {
    kind: &'a str,
    program: String,
    sha256: String,
    source: String,
    seed: u64,
    energy: i64,
    schedule: Schedule,
    end: RunEnd,
    instructions: u64,
    explore_class: Option<i64>,
    output: Option<String>,
}

struct OutLine {
    instruction: Option<u64>,
    agent: Option<u32>,
    pc: Option<u32>,
    text: String,
}

struct CallRow {
    instruction: u64,
    agent: u32,
    caller_pc: u32,
    callee: u32,
    depth: usize,
    r1: i32,
    ret: Option<(u64, i32)>,
}

struct WriteRow {
    instruction: u64,
    pc: u32,
    agent: u32,
    addr: u32,
    size: u8,
    old: u32,
    new: u32,
}

struct Message {
    instruction: u64,
    agent: u32,
    pc: u32,
    op: &'static str,
    send: bool,
    peer: i64,
    value: i64,
}

struct FinalState {
    agents: Vec<crate::runtime::vm::AgentInfo>,
    regs: Vec<(u32, crate::runtime::vm::Regs)>,
    memory: Vec<u8>,
}

/// What one pass over a recording found, layer by layer.
struct Indexed {
    end: RunEnd,
    instructions: u64,
    output: Vec<OutLine>,
    trace: Result<(), String>,
    calls: Vec<CallRow>,
    writes: Vec<WriteRow>,
    switches: Vec<(u64, u32, u32, u32)>,
    messages: Vec<Message>,
    profile: Result<crate::analysis::profile_report::ProfileData, String>,
    nodes_parent: Vec<u32>,
    pc_opcode: Vec<i16>,
    final_state: Result<FinalState, String>,
}

fn state_name(s: AgentState) -> String {
    s.to_string()
}

/// Re-executes `rec` with the trace and the profile on.
fn index(rec: &Recording) -> Result<Indexed, RunDbError> {
    let mut runner = Runner::new(rec)?;
    let trace = runner.vm.set_tracing(true).map_err(|e| e.to_string());
    let profiling = runner.vm.set_profiling(true).map_err(|e| e.to_string());
    // per agent id (the trace's agent is a byte): no hashing per instruction
    const IDS: usize = 256;
    let mut regs: Vec<[i32; NUM_REGS]> = vec![[0; NUM_REGS]; IDS];
    for a in runner.vm.agents() {
        if let Some(r) = runner.vm.agent_regs(a.id) {
            regs[a.id as usize % IDS] = r.r;
        }
    }
    let mut calls: Vec<CallRow> = Vec::new();
    let mut stacks: Vec<Vec<usize>> = vec![Vec::new(); IDS];
    let mut awaiting: Vec<Option<usize>> = vec![None; IDS];
    let mut writes = Vec::new();
    let mut switches = Vec::new();
    let mut messages = Vec::new();
    let mut pc_opcode = vec![-1i16; crate::runtime::vm::MEM_SIZE as usize];
    let mut printers: VecDeque<(u64, u32, u32)> = VecDeque::new();
    let mut output: Vec<OutLine> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut last_agent: Option<u32> = None;
    let mut events = Vec::new();
    let program = &rec.program;
    let decode = |pc: u32| -> Option<Vec<u32>> {
        match disasm::decode(program.get(pc as usize..)?, pc)? {
            Decoded::Instruction(i) => Some(i.operands),
            Decoded::Byte { .. } => None,
        }
    };
    let mut stalls = 0;
    while runner.ended.is_none() {
        let before = runner.index;
        let cycles = runner.vm.regs().cycles;
        runner.run(u64::MAX, &mut events, &mut pending).map_err(|source| ReplayError::Io { path: "<output>".into(), source })?;
        events.clear();
        runner.vm.drain_trace_writes(|r| {
            let index = before + r.cycle.wrapping_sub(cycles);
            let agent = r.agent;
            if last_agent.is_some_and(|a| a != agent) {
                switches.push((index, last_agent.unwrap_or(0), agent, r.pc));
            }
            last_agent = Some(agent);
            let slot = agent as usize % IDS;
            if let Some(i) = awaiting[slot].take() {
                calls[i].callee = r.pc;
            }
            if let Some(slot) = pc_opcode.get_mut(r.pc as usize) {
                *slot = r.opcode as i16;
            }
            let g = &mut regs[slot];
            for c in r.regs {
                // what the register held before, as the trace says
                g[c.reg as usize] = c.old;
            }
            let op = isa::opcode(r.opcode);
            let flow = op.map_or(Flow::Next, |o| o.flow);
            let mnemonic = op.map_or("DB", |o| o.mnemonic);
            if flow == Flow::Call {
                let st = &mut stacks[slot];
                calls.push(CallRow { instruction: index, agent, caller_pc: r.pc, callee: 0, depth: st.len(), r1: g[1], ret: None });
                st.push(calls.len() - 1);
                awaiting[slot] = Some(calls.len() - 1);
            }
            let reg = |k: u32| g.get(k as usize).copied().unwrap_or(0) as i64;
            match mnemonic {
                "TELL" | "DELEGATE" | "GOSSIP" => {
                    if let Some(o) = decode(r.pc).filter(|o| o.len() >= 2) {
                        messages.push(Message { instruction: index, agent, pc: r.pc, op: mnemonic, send: true, peer: reg(o[0]), value: reg(o[1]) });
                    }
                }
                "BROADCAST" => {
                    if let Some(o) = decode(r.pc).filter(|o| !o.is_empty()) {
                        messages.push(Message { instruction: index, agent, pc: r.pc, op: mnemonic, send: true, peer: 0, value: o[0] as i16 as i64 });
                    }
                }
                "DBG_PRINT" | "LOG" => printers.push_back((index, agent, r.pc)),
                _ => {}
            }
            for c in r.regs {
                g[c.reg as usize] = c.new;
            }
            if mnemonic == "ASK" {
                if let Some(o) = decode(r.pc).filter(|o| o.len() >= 2) {
                    let value = g.get(o[0] as usize).copied().unwrap_or(0) as i64;
                    messages.push(Message { instruction: index, agent, pc: r.pc, op: mnemonic, send: false, peer: g.get(o[1] as usize).copied().unwrap_or(0) as i64, value });
                }
            }
            if flow == Flow::Return {
                if let Some(i) = stacks[slot].pop() {
                    calls[i].ret = Some((index, g[0]));
                }
            }
            for m in r.mem {
                writes.push(WriteRow { instruction: index, pc: r.pc, agent, addr: m.addr, size: m.len, old: m.old, new: m.new });
            }
        });
        // every DBG_PRINT and LOG prints one line
        while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            let at = if trace.is_ok() { printers.pop_front() } else { None };
            output.push(OutLine { instruction: at.map(|a| a.0), agent: at.map(|a| a.1), pc: at.map(|a| a.2), text });
        }
        if runner.index == before {
            stalls += 1;
            if stalls > 3 {
                break;
            }
        } else {
            stalls = 0;
        }
    }
    if !pending.is_empty() {
        let at = printers.pop_front();
        output.push(OutLine {
            instruction: at.map(|a| a.0),
            agent: at.map(|a| a.1),
            pc: at.map(|a| a.2),
            text: String::from_utf8_lossy(&pending).into_owned(),
        });
    }
    let vm = &runner.vm;
    let agents = vm.agents();
    let final_state = Ok(FinalState {
        regs: agents.iter().filter_map(|a| vm.agent_regs(a.id).map(|r| (a.id, r))).collect(),
        agents,
        memory: vm.memory_view().to_vec(),
    });
    let (profile, nodes_parent) = match profiling {
        Ok(()) => (Ok(profile_data(vm)), vm.profile_counts().nodes.iter().map(|n| n.parent).collect()),
        Err(e) => (Err(e), Vec::new()),
    };
    Ok(Indexed {
        end: RunEnd::of(runner.ended.as_ref()),
        instructions: runner.index,
        output,
        trace,
        calls,
        writes,
        switches,
        messages,
        profile,
        nodes_parent,
        pc_opcode,
        final_state,
    })
}

/// Where a run comes from, for its `runs` row.
pub struct Source<'a> {
    /// `collect` (or `explore`).
    pub kind: &'a str,
    /// `run`, or the replay file's path.
    pub from: String,
}

/// Indexes `rec` (whose program is `program`) into `db` as a new run.
pub fn collect(db: &mut RunDb, program: &Program, rec: &Recording, source: Source) -> Result<Collected, RunDbError> {
    let ix = index(rec)?;
    let run = db.insert_run(&RunRow {
        kind: source.kind,
        program: program.path.display().to_string(),
        sha256: program_hash(&rec.program),
        source: source.from,
        seed: rec.seed,
        energy: rec.energy,
        schedule: rec.schedule,
        end: ix.end.clone(),
        instructions: ix.instructions,
        explore_class: None,
        output: None,
    })?;
    let mut layers = Vec::new();
    let trace_err = ix.trace.clone().err().map(|e| format!("the trace: {e}"));
    let traced = |e: &Option<String>| e.clone().map_or(Ok(()), Err);

    // the recording
    let replay = rec.to_bytes().map_err(|e| e.to_string());
    let write_recording = |tx: &rusqlite::Transaction| -> rusqlite::Result<u64> {
        let Ok(bytes) = &replay else { return Ok(0) };
        tx.execute("INSERT INTO recordings(run, replay) VALUES (?1, ?2)", params![run, bytes])?;
        Ok(1)
    };
    layers.push(db.layer(run, "recording", replay.as_ref().map(|_| &write_recording as &LayerWriter).map_err(|e| e.clone()))?);

    let write_output = |tx: &rusqlite::Transaction| -> rusqlite::Result<u64> {
        let mut st = tx.prepare("INSERT INTO output(run, line, instruction, agent, pc, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for (k, l) in ix.output.iter().enumerate() {
            insert!(st; run, k as i64 + 1, l.instruction.map(|i| i as i64), l.agent, l.pc, &l.text)?;
        }
        Ok(ix.output.len() as u64)
    };
    layers.push(db.layer(run, "output", Ok(&write_output as &LayerWriter))?);

    let write_profile = |tx: &rusqlite::Transaction| -> rusqlite::Result<u64> {
        let Ok(p) = &ix.profile else { return Ok(0) };
        let mut rows = 0u64;
        let mut ops: std::collections::BTreeMap<&str, (&str, u64, u64)> = Default::default();
        let mut st = tx.prepare("INSERT INTO profile_pcs(run, pc, opcode, count, energy) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for (pc, &count) in p.pc_count.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let energy = p.pc_energy.get(pc).copied().unwrap_or(0);
            let op = ix.pc_opcode.get(pc).and_then(|&c| u8::try_from(c).ok()).and_then(isa::opcode);
            let (name, category) = op.map_or(("DB", "data"), |o| (o.mnemonic, o.category));
            insert!(st; run, pc as i64, name, count as i64, energy as i64)?;
            let e = ops.entry(name).or_insert((category, 0, 0));
            e.1 += count;
            e.2 += energy;
            rows += 1;
        }
        let mut st = tx.prepare("INSERT INTO profile_ops(run, opcode, category, count, energy) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for (name, (category, count, energy)) in &ops {
            insert!(st; run, name, category, *count as i64, *energy as i64)?;
            rows += 1;
        }
        let mut st = tx.prepare(
            "INSERT INTO profile_paths(run, path, parent, depth, entry, function, stack, self_count, inclusive, calls)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for (k, cp) in p.call_paths.iter().enumerate() {
            let parent = ix.nodes_parent.get(k).copied().filter(|&q| (q as usize) < k && k > 0).map(i64::from);
            let names: Vec<String> = cp.stack.iter().map(|&e| program.function_name(e)).collect();
            let entry = cp.stack.last().copied().unwrap_or(0);
            insert!(st; 
                run,
                k as i64,
                parent,
                cp.stack.len() as i64 - 1,
                entry,
                names.last().cloned().unwrap_or_default(),
                names.join(" > "),
                cp.self_count as i64,
                cp.inclusive as i64,
                cp.calls as i64
            )?;
            rows += 1;
        }
        Ok(rows)
    };
    layers.push(db.layer(run, "profile", ix.profile.as_ref().map(|_| &write_profile as &LayerWriter).map_err(|e| format!("the profile: {e}")))?);

    let write_calls = |tx: &rusqlite::Transaction| -> rusqlite::Result<u64> {
        let mut st = tx.prepare(
            "INSERT INTO calls(run, call, instruction, agent, caller_pc, callee, function, depth, r1, return_instruction, r0)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let mut names: HashMap<u32, String> = HashMap::new();
        for (k, c) in ix.calls.iter().enumerate() {
            let name = names.entry(c.callee).or_insert_with(|| program.function_name(c.callee));
            insert!(st; 
                run,
                k as i64 + 1,
                c.instruction as i64,
                c.agent,
                c.caller_pc,
                c.callee,
                name.as_str(),
                c.depth as i64,
                c.r1,
                c.ret.map(|r| r.0 as i64),
                c.ret.map(|r| r.1)
            )?;
        }
        Ok(ix.calls.len() as u64)
    };
    layers.push(db.layer(run, "calls", traced(&trace_err).map(|_| &write_calls as &LayerWriter))?);

    // in the order of the index on (run, addr): building it is then a
    // third cheaper than from instruction order (the rows' order is no
    // promise: queries say ORDER BY)
    let mut by_addr: Vec<&WriteRow> = ix.writes.iter().collect();
    by_addr.sort_by_key(|w| (w.addr, w.instruction));
    let write_writes = |tx: &rusqlite::Transaction| -> rusqlite::Result<u64> {
        let mut st = tx.prepare("INSERT INTO writes(run, instruction, pc, agent, addr, size, old, new) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
        for w in &by_addr {
            insert!(st; run, w.instruction as i64, w.pc, w.agent, w.addr, w.size, w.old, w.new)?;
        }
        Ok(ix.writes.len() as u64)
    };
    layers.push(db.layer(run, "writes", traced(&trace_err).map(|_| &write_writes as &LayerWriter))?);

    let write_agents = |tx: &rusqlite::Transaction| -> rusqlite::Result<u64> {
        let mut st = tx.prepare("INSERT INTO switches(run, instruction, from_agent, to_agent, pc) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for &(i, from, to, pc) in &ix.switches {
            insert!(st; run, i as i64, from, to, pc)?;
        }
        let mut st = tx.prepare(
            "INSERT INTO messages(run, instruction, agent, pc, op, direction, peer, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for m in &ix.messages {
            insert!(st; run, m.instruction as i64, m.agent, m.pc, m.op, if m.send { "send" } else { "receive" }, m.peer, m.value)?;
        }
        Ok((ix.switches.len() + ix.messages.len()) as u64)
    };
    layers.push(db.layer(run, "agents", traced(&trace_err).map(|_| &write_agents as &LayerWriter))?);

    let write_final = |tx: &rusqlite::Transaction| -> rusqlite::Result<u64> {
        let Ok(f) = &ix.final_state else { return Ok(0) };
        let mut rows = 0;
        let mut st = tx.prepare(
            "INSERT INTO final_agents(run, agent, state, pc, sp, fp, flags, energy, retired) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for a in &f.agents {
            let r = f.regs.iter().find(|(id, _)| *id == a.id).map(|(_, r)| *r).unwrap_or_default();
            insert!(st; run, a.id, state_name(a.state), a.pc, r.sp, r.fp, r.flags, a.energy, a.retired as i64)?;
            rows += 1;
        }
        let mut st = tx.prepare("INSERT INTO final_registers(run, agent, reg, value, conf) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for (id, r) in &f.regs {
            for k in 0..NUM_REGS {
                insert!(st; run, id, k as i64, r.r[k], r.conf[k] as f64)?;
                rows += 1;
            }
        }
        tx.execute("INSERT INTO final_memory(run, memory, sha256) VALUES (?1, ?2, ?3)", params![run, f.memory, program_hash(&f.memory)])?;
        Ok(rows + 1)
    };
    layers.push(db.layer(run, "final_state", Ok(&write_final as &LayerWriter))?);
    db.build_indices()?;
    Ok(Collected { run, end: ix.end, instructions: ix.instructions, layers })
}

/// Records the run of one explored seed: its `runs` row and outcome class.
pub fn record_explored(
    db: &mut RunDb,
    program: &Program,
    (seed, energy, schedule): (u64, i64, Schedule),
    outcome: &RunOutcome,
    instructions: u64,
    class: usize,
) -> Result<i64, RunDbError> {
    let end = match &outcome.fault {
        None => RunEnd { outcome: "exited".into(), status: Some(outcome.status as i64), exit_code: Some(outcome.status as i64), ..RunEnd::default() },
        Some(f) => RunEnd { outcome: "signalled".into(), status: Some(outcome.status as i64), reason: Some(f.clone()), ..RunEnd::default() },
    };
    db.insert_run(&RunRow {
        kind: "explore",
        program: program.path.display().to_string(),
        sha256: program_hash(&program.bytes),
        source: "explore".into(),
        seed,
        energy,
        schedule,
        end,
        instructions,
        explore_class: Some(class as i64),
        output: Some(String::from_utf8_lossy(&outcome.output).into_owned()),
    })
}

impl RunDb {
    /// Runs `f` in one transaction (explore's rows).
    pub fn in_transaction<T>(&mut self, f: impl FnOnce(&mut RunDb) -> Result<T, RunDbError>) -> Result<T, RunDbError> {
        self.conn.execute_batch("BEGIN").map_err(sql("BEGIN"))?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT").map_err(sql("COMMIT"))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

// ---------------------------------------------------------------- queries

/// A value of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    /// Shown as hexadecimal.
    Blob(Vec<u8>),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Int(v) => v.to_string(),
            Cell::Real(v) => v.to_string(),
            Cell::Text(s) => s.clone(),
            Cell::Blob(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        }
    }

    fn json(&self) -> String {
        match self {
            Cell::Null => "null".into(),
            Cell::Int(v) => v.to_string(),
            Cell::Real(v) => serde_json::to_string(v).unwrap_or_else(|_| "null".into()),
            Cell::Text(_) | Cell::Blob(_) => serde_json::to_string(&self.text()).unwrap_or_default(),
        }
    }
}

impl From<ValueRef<'_>> for Cell {
    fn from(v: ValueRef<'_>) -> Cell {
        match v {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(i) => Cell::Int(i),
            ValueRef::Real(f) => Cell::Real(f),
            ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
        }
    }
}

/// An answer: named columns and rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answer {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Answer {
    /// A table: a header, then one line per row, columns two spaces apart.
    pub fn table(&self) -> String {
        let mut width: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        let cells: Vec<Vec<String>> = self.rows.iter().map(|r| r.iter().map(Cell::text).collect()).collect();
        for r in &cells {
            for (k, c) in r.iter().enumerate() {
                width[k] = width[k].max(c.chars().count());
            }
        }
        let line = |r: &[String]| -> String {
            let parts: Vec<String> = r.iter().enumerate().map(|(k, c)| format!("{c:<w$}", w = width[k])).collect();
            parts.join("  ").trim_end().to_string() + "\n"
        };
        let mut s = line(&self.columns);
        for r in &cells {
            s.push_str(&line(r));
        }
        s
    }

    /// One JSON object per row, keys in column order.
    pub fn json_lines(&self) -> String {
        let mut s = String::new();
        for r in &self.rows {
            let fields: Vec<String> = self
                .columns
                .iter()
                .zip(r)
                .map(|(c, v)| format!("{}:{}", serde_json::to_string(c).unwrap_or_default(), v.json()))
                .collect();
            s.push('{');
            s.push_str(&fields.join(","));
            s.push_str("}\n");
        }
        s
    }
}

/// A run database open read-only, for queries.
pub struct QueryDb {
    conn: Connection,
}

impl QueryDb {
    pub fn open(path: &Path) -> Result<QueryDb, RunDbError> {
        let name = path.display().to_string();
        if !path.exists() {
            return Err(RunDbError::Missing { path: name });
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(sql(&name))?;
        check(&conn, &name, false)?;
        Ok(QueryDb { conn })
    }

    /// Any statement that only reads.
    pub fn sql(&self, text: &str) -> Result<Answer, RunDbError> {
        self.select(text, &[] as &[&dyn rusqlite::ToSql])
    }

    fn select(&self, text: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Answer, RunDbError> {
        let mut st = self.conn.prepare(text).map_err(sql("--sql"))?;
        if !st.readonly() {
            return Err(RunDbError::Writes);
        }
        let columns: Vec<String> = st.column_names().iter().map(|c| c.to_string()).collect();
        let n = columns.len();
        let mut rows = Vec::new();
        let mut q = st.query(args).map_err(sql("query"))?;
        while let Some(r) = q.next().map_err(sql("query"))? {
            rows.push((0..n).map(|k| r.get_ref(k).map(Cell::from).unwrap_or(Cell::Null)).collect());
        }
        Ok(Answer { columns, rows })
    }

    fn latest(&self) -> Result<i64, RunDbError> {
        let run: Option<i64> = self.conn.query_row("SELECT max(run) FROM runs", [], |r| r.get(0)).map_err(sql("runs"))?;
        run.ok_or(RunDbError::NoRuns)
    }

    fn run_arg(&self, arg: Option<&str>) -> Result<i64, RunDbError> {
        let run = match arg {
            None => return self.latest(),
            Some(a) => a.parse::<i64>().map_err(|_| RunDbError::Usage(format!("'{a}' is not a run number")))?,
        };
        let n: i64 = self.conn.query_row("SELECT count(*) FROM runs WHERE run = ?1", [run], |r| r.get(0)).map_err(sql("runs"))?;
        if n == 0 {
            return Err(RunDbError::NoRun(run));
        }
        Ok(run)
    }

    /// The named query `name` with `args`.
    pub fn named(&self, name: &str, args: &[String]) -> Result<Answer, RunDbError> {
        let most = |n: usize, usage: &str| {
            if args.len() > n {
                Err(RunDbError::Usage(format!("query {name}: too many arguments (usage: {usage})")))
            } else {
                Ok(())
            }
        };
        let arg = |k: usize| args.get(k).map(String::as_str);
        match name {
            "runs" => {
                most(0, "runs")?;
                self.select(SQL_RUNS, &[])
            }
            "top-ops" => {
                most(1, "top-ops [RUN]")?;
                let run = self.run_arg(arg(0))?;
                self.select(SQL_TOP_OPS, &[&run])
            }
            "hotpath" => {
                most(1, "hotpath [RUN]")?;
                let run = self.run_arg(arg(0))?;
                self.select(SQL_HOTPATH, &[&run])
            }
            "calls" => {
                most(2, "calls [FUNCTION] [RUN]")?;
                // a number alone is a run; function names are never numbers
                let (function, run) = match (arg(0), arg(1)) {
                    (Some(a), None) if a.parse::<i64>().is_ok() => (None, Some(a)),
                    (f, r) => (f, r),
                };
                let run = self.run_arg(run)?;
                self.select(SQL_CALLS, &[&run, &function])
            }
            "writes" => {
                most(2, "writes ADDR [RUN]")?;
                let a = arg(0).ok_or_else(|| RunDbError::Usage("query writes: which address? (usage: writes ADDR [RUN])".into()))?;
                let addr = parse_addr(a).ok_or_else(|| RunDbError::Usage(format!("query writes: '{a}' is not an address (0x0000-0xFFFF)")))?;
                let run = self.run_arg(arg(1))?;
                self.select(SQL_WRITES, &[&run, &addr])
            }
            "output" => {
                most(1, "output [RUN]")?;
                let run = self.run_arg(arg(0))?;
                self.select(SQL_OUTPUT, &[&run])
            }
            "compare" => {
                if args.len() != 2 {
                    return Err(RunDbError::Usage("query compare: two runs (usage: compare RUN_A RUN_B)".into()));
                }
                let a = self.run_arg(arg(0))?;
                let b = self.run_arg(arg(1))?;
                self.compare(a, b)
            }
            other => Err(RunDbError::UnknownQuery(other.to_string())),
        }
    }

    /// Where two runs differ: (aspect, run A, run B) rows.
    fn compare(&self, a: i64, b: i64) -> Result<Answer, RunDbError> {
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        let mut row = |what: &str, x: String, y: String| rows.push(vec![Cell::Text(what.into()), Cell::Text(x), Cell::Text(y)]);
        let run = |r: i64| -> Result<Vec<Cell>, RunDbError> {
            let ans = self.select(
                "SELECT program_sha256, seed, schedule, outcome, status, coalesce(signal, ''), coalesce(reason, ''), instructions FROM runs WHERE run = ?1",
                &[&r],
            )?;
            Ok(ans.rows.into_iter().next().unwrap_or_default())
        };
        let (ra, rb) = (run(a)?, run(b)?);
        let names = ["program_sha256", "seed", "schedule", "outcome", "status", "signal", "reason", "instructions"];
        for (k, n) in names.iter().enumerate() {
            let (x, y) = (ra.get(k).map(Cell::text).unwrap_or_default(), rb.get(k).map(Cell::text).unwrap_or_default());
            if x != y {
                row(n, x, y);
            }
        }
        // output: the first line that differs
        let lines = |r: i64| -> Result<Vec<(String, String)>, RunDbError> {
            let ans = self.select("SELECT text, coalesce(instruction, '') FROM output WHERE run = ?1 ORDER BY line", &[&r])?;
            Ok(ans.rows.iter().map(|r| (r[0].text(), r[1].text())).collect())
        };
        let (la, lb) = (lines(a)?, lines(b)?);
        if la.len() != lb.len() {
            row("output lines", la.len().to_string(), lb.len().to_string());
        }
        if let Some(k) = (0..la.len().max(lb.len())).find(|&k| la.get(k).map(|l| &l.0) != lb.get(k).map(|l| &l.0)) {
            let show = |l: Option<&(String, String)>| match l {
                Some((t, i)) if i.is_empty() => t.clone(),
                Some((t, i)) => format!("{t} (instruction {i})"),
                None => "(no line)".into(),
            };
            row(&format!("output line {}", k + 1), show(la.get(k)), show(lb.get(k)));
        }
        // the profile: opcode counts that differ
        let ops = self.select(
            "SELECT opcode, sum(ca), sum(cb) FROM (
                SELECT opcode, count AS ca, 0 AS cb FROM profile_ops WHERE run = ?1
                UNION ALL SELECT opcode, 0, count FROM profile_ops WHERE run = ?2)
             GROUP BY opcode HAVING sum(ca) != sum(cb) ORDER BY abs(sum(ca) - sum(cb)) DESC, opcode",
            &[&a, &b],
        )?;
        for r in &ops.rows {
            row(&format!("count {}", r[0].text()), r[1].text(), r[2].text());
        }
        // the first differing event, as `replay diff` finds it
        let recording = |r: i64| -> Result<Option<Recording>, RunDbError> {
            let blob: Option<Vec<u8>> = self
                .conn
                .query_row("SELECT replay FROM recordings WHERE run = ?1", [r], |x| x.get(0))
                .map(Some)
                .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })
                .map_err(sql("recordings"))?;
            blob.map(|b| Recording::parse(&b, &format!("run {r}'s recording"))).transpose().map_err(RunDbError::from)
        };
        match (recording(a)?, recording(b)?) {
            (Some(x), Some(y)) => match recording::diff(&x, &y)? {
                None => row("recordings", "agree".into(), "agree".into()),
                Some(d) => {
                    let at = format!("instruction {}, pc 0x{:04X}: {}", d.detail.instruction_index, d.detail.pc, d.detail.instruction);
                    row("first divergence", format!("{at}: {}", d.expected), format!("{at}: {}", d.actual));
                }
            },
            _ => row("recordings", "(not both recorded)".into(), String::new()),
        }
        Ok(Answer { columns: vec!["aspect".into(), format!("run {a}"), format!("run {b}")], rows })
    }
}

fn parse_addr(s: &str) -> Option<i64> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => s.parse().ok()?,
    };
    (0..crate::runtime::vm::MEM_SIZE as i64).contains(&v).then_some(v)
}

/// `runs`.
pub const SQL_RUNS: &str = "SELECT run, kind, program, substr(program_sha256, 1, 16) AS sha256, seed, schedule, outcome, status, instructions, explore_class
FROM runs ORDER BY run";
/// `top-ops [RUN]`: opcodes by instructions executed (?1: the run).
pub const SQL_TOP_OPS: &str = "SELECT opcode, category, count, energy,
       round(100.0 * count / (SELECT sum(count) FROM profile_ops WHERE run = ?1), 1) AS share
FROM profile_ops WHERE run = ?1 ORDER BY count DESC, opcode LIMIT 20";
/// `hotpath [RUN]`: call paths by the instructions run in them (self), with
/// their inclusive counts and calls.
pub const SQL_HOTPATH: &str = "SELECT stack, self_count, inclusive, calls,
       round(100.0 * inclusive / (SELECT instructions FROM runs WHERE run = ?1), 1) AS share
FROM profile_paths WHERE run = ?1 ORDER BY self_count DESC, depth, path LIMIT 20";
/// `calls [FUNCTION] [RUN]` (?1: the run, ?2: the function or NULL).
pub const SQL_CALLS: &str = "SELECT call, instruction, function, caller_pc, r1, return_instruction, r0, agent, depth
FROM calls WHERE run = ?1 AND (?2 IS NULL OR function = ?2) ORDER BY instruction";
/// `writes ADDR [RUN]`: writes that cover ADDR (?1: the run, ?2: ADDR).
pub const SQL_WRITES: &str = "SELECT instruction, pc, agent, addr, size, old, new
FROM writes WHERE run = ?1 AND addr <= ?2 AND ?2 < addr + size ORDER BY instruction";
/// `output [RUN]`.
pub const SQL_OUTPUT: &str = "SELECT line, instruction, agent, text FROM output WHERE run = ?1 ORDER BY line";
