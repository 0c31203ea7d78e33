//! Export of an execution trace as a CodeTracer trace (its "db" format), written
//! with the `runtime_tracing` crate.
//!
//! [`write_codetracer`] writes a directory CodeTracer can open:
//!
//! ```text
//! DIR/trace.json           the events: paths, functions, steps, calls, returns, values
//! DIR/trace_metadata.json  the program and the working directory
//! DIR/trace_paths.json     the source files the steps point into (absolute paths)
//! DIR/files/<path>         a copy of each of them, under its absolute path less the leading '/'
//! ```
//!
//! How FLUX maps onto it:
//!
//! - Every [`TraceRecord`] is one `Step`, on its line of the `.fasm` source, or,
//!   for raw bytecode, on its line of a generated listing (`<stem>.listing.fasm`
//!   next to the program, in `disasm::listing`'s format: line 1 is the header, the
//!   n-th decoded item is on line n + 1).
//! - The top level is the function `main` (or the program's label at address 0).
//! - A `CALL` record is a step in the caller; the record after it is the first step
//!   of a `Call` into the function named after the label at its pc (`fn_0x000C`
//!   when there is none).  `runtime_tracing` writes that first step itself, on the
//!   function's line, as CodeTracer expects for a call.
//! - A `RET` record is a step in the callee followed by a `Return`.  A `RET` with no
//!   call of this trace to return from (a trace that starts inside a function)
//!   is only a step.
//! - After each step come the values the instruction left: `rN` (i32) and `confN`
//!   (f32) for each register it wrote, and `energy` (i64).  Its disassembly is the
//!   step's `Asm`, and its FLUX events are `TraceLogEvent` events (their JSON).
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use runtime_tracing::{
    EventLogKind, FunctionId, Line, NonStreamingTraceWriter, TraceEventsFileFormat, TraceLowLevelEvent, TraceMetadata,
    TraceWriter, TypeKind, ValueRecord, NONE_TYPE_ID, NONE_VALUE,
};

use crate::program::disasm;
use crate::program::load::Program;
use crate::runtime::isa::Flow;
use crate::runtime::records::{FluxEvent, TraceRecord};

/// Why a CodeTracer trace could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CodeTracerError {
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("writing {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error(transparent)]
    SavePath(#[from] crate::program::save_path::PathError),
}

/// The names of the files in a trace directory.
pub const TRACE_EVENTS_FILE: &str = "trace.json";
pub const TRACE_METADATA_FILE: &str = "trace_metadata.json";
pub const TRACE_PATHS_FILE: &str = "trace_paths.json";
pub const TRACE_FILES_DIR: &str = "files";

/// Where the source a trace's steps point into lives inside the trace directory:
/// `DIR/files/` plus the path without its root.
pub fn copied_source_path(dir: &Path, source_path: &Path) -> PathBuf {
    dir.join(copied_source_relative_path(source_path))
}

/// [`copied_source_path`] inside the trace directory: `files/` plus the path
/// without its root.
pub fn copied_source_relative_path(source_path: &Path) -> PathBuf {
    let relative: PathBuf = source_path
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    Path::new(TRACE_FILES_DIR).join(relative)
}

/// The source the steps point into: its path as recorded, its text, where each
/// pc's line is, and the labels.
struct SourceMap {
    path: PathBuf,
    text: String,
    /// pc -> 1-based line, for every instruction.
    lines: BTreeMap<u32, usize>,
    labels: HashMap<u32, String>,
}

impl SourceMap {
    fn new(program: &Program) -> SourceMap {
        let absolute = std::path::absolute(&program.path).unwrap_or_else(|_| program.path.clone());
        match &program.source {
            Some((text, assembled)) => {
                let mut labels = HashMap::new();
                for &addr in assembled.labels.values() {
                    if let Some(name) = assembled.label_at(addr) {
                        labels.entry(addr).or_insert_with(|| name.to_string());
                    }
                }
                SourceMap {
                    path: absolute,
                    text: text.clone(),
                    lines: assembled.line_table.iter().copied().collect(),
                    labels,
                }
            }
            None => {
                let stem = absolute.file_stem().map_or_else(|| "program".into(), |s| s.to_string_lossy().into_owned());
                let path = absolute.with_file_name(format!("{stem}.listing.fasm"));
                let lines = disasm::decode_all(&program.bytes, 0)
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let addr = match d {
                            disasm::Decoded::Instruction(ins) => ins.addr,
                            disasm::Decoded::Byte { addr, .. } => *addr,
                        };
                        (addr, i + 2)
                    })
                    .collect();
                // a program from an ELF file: its functions' symbols
                let labels = program.symbols.iter().map(|(&a, n)| (a, n.clone())).collect();
                SourceMap { path, text: disasm::listing(&program.bytes), lines, labels }
            }
        }
    }

    /// The line of the instruction at `pc`; a pc inside an instruction (or past
    /// the end) gets the line of the instruction before it.
    fn line(&self, pc: u32) -> Line {
        let line = self.lines.range(..=pc).next_back().map_or(1, |(_, &l)| l);
        Line(line as i64)
    }

    fn function_name(&self, pc: u32) -> String {
        crate::program::names::function_name(self.labels.get(&pc).map(String::as_str), pc)
    }
}

/// A FLUX event as the log shows it: its JSON, `{"event":"confidence_drop","reg":1,...}`.
fn flux_event_text(event: &FluxEvent) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| format!("{event:?}"))
}

/// Writes `records`, an execution of `program`, as a CodeTracer trace in `dir`
/// (created if need be; files already there are overwritten).
pub fn write_codetracer(dir: &Path, program: &Program, records: &[TraceRecord]) -> Result<(), CodeTracerError> {
    let create = |relative: &Path| {
        let path = dir.join(relative);
        let io = |error| CodeTracerError::Io { path: path.clone(), error };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io)?;
        }
        fs::File::create(&path).map_err(io)
    };
    write_codetracer_with(dir, program, records, &create)
}

/// [`write_codetracer`] with the files made by `create(relative)`, which
/// creates (or truncates) the file at `relative` inside the trace directory,
/// with the directories before it (`monitor trace save` makes them inside
/// the save directory only).  `dir` names the directory in messages.
pub fn write_codetracer_with(
    dir: &Path,
    program: &Program,
    records: &[TraceRecord],
    create: &dyn Fn(&Path) -> Result<fs::File, CodeTracerError>,
) -> Result<(), CodeTracerError> {
    let source = SourceMap::new(program);
    let mut writer = NonStreamingTraceWriter::new(&program.path.display().to_string(), &[]);
    writer.set_format(TraceEventsFileFormat::Json);
    record_events(&mut writer, &source, &program.bytes, records);

    // What runtime_tracing's finish_writing_trace_* write, to files made here.
    let workdir = std::env::current_dir().map_err(|error| CodeTracerError::Io { path: PathBuf::from("."), error })?;
    let metadata = TraceMetadata { workdir, program: program.path.display().to_string(), args: Vec::new() };
    let paths: Vec<&PathBuf> = writer
        .events
        .iter()
        .filter_map(|e| match e {
            TraceLowLevelEvent::Path(p) => Some(p),
            _ => None,
        })
        .collect();
    let json_err = |e: serde_json::Error| e.to_string();
    write_file(dir, Path::new(TRACE_METADATA_FILE), create, |w| serde_json::to_writer(w, &metadata).map_err(json_err))?;
    write_file(dir, Path::new(TRACE_EVENTS_FILE), create, |w| serde_json::to_writer(w, &writer.events).map_err(json_err))?;
    write_file(dir, Path::new(TRACE_PATHS_FILE), create, |w| serde_json::to_writer(w, &paths).map_err(json_err))?;
    let copy = copied_source_relative_path(&source.path);
    write_file(dir, &copy, create, |w| w.write_all(source.text.as_bytes()).map_err(|e| e.to_string()))?;
    Ok(())
}

/// Makes `relative` with `create` and fills it with `fill`.
fn write_file(
    dir: &Path,
    relative: &Path,
    create: &dyn Fn(&Path) -> Result<fs::File, CodeTracerError>,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), String>,
) -> Result<(), CodeTracerError> {
    let path = dir.join(relative);
    let file = create(relative)?;
    let mut w = std::io::BufWriter::new(file);
    fill(&mut w)
        .and_then(|()| w.flush().map_err(|e| e.to_string()))
        .map_err(|message| CodeTracerError::Write { path, message })
}

fn record_events(writer: &mut NonStreamingTraceWriter, source: &SourceMap, bytes: &[u8], records: &[TraceRecord]) {
    let path = source.path.as_path();
    // The top level, as `TraceWriter::start` does it but named as the entry
    // function is everywhere (crate::program::names): the first function (id 0) and a call into it without a step.
    let main_line = records.first().map_or(source.line(0), |r| source.line(r.pc));
    let main_name = source.function_name(0);
    let main_id = writer.ensure_function_id(&main_name, path, main_line);
    debug_assert_eq!(main_id, FunctionId(0));
    writer.register_call(main_id, vec![]);
    let none_type = writer.ensure_type_id(TypeKind::None, "None");
    debug_assert_eq!(none_type, NONE_TYPE_ID);
    let reg_type = writer.ensure_type_id(TypeKind::Int, "i32");
    let conf_type = writer.ensure_type_id(TypeKind::Float, "f32");
    let energy_type = writer.ensure_type_id(TypeKind::Int, "i64");

    // The line each function was registered with (`ensure_function_id` keeps the first).
    let mut function_lines: HashMap<String, Line> = HashMap::from([(main_name, main_line)]);
    // Calls of this trace not yet returned from (the top level not included).
    let mut depth = 0usize;
    let mut after_call = false;
    for record in records {
        let line = source.line(record.pc);
        let mut stepped = false;
        if after_call {
            // The first instruction of the callee: the call, with its first step.
            let name = source.function_name(record.pc);
            let function_line = *function_lines.entry(name.clone()).or_insert(line);
            let id = writer.ensure_function_id(&name, path, function_line);
            writer.register_call(id, vec![]);
            depth += 1;
            // register_call stepped onto the function's line, except into the top level.
            stepped = id != FunctionId(0) && function_line.0 == line.0;
        }
        if !stepped {
            writer.register_step(path, line);
        }

        writer.register_asm(&[instruction_text(bytes, record)]);
        for w in &record.regs {
            writer.register_variable_with_full_value(
                &format!("r{}", w.reg),
                ValueRecord::Int { i: w.value as i64, type_id: reg_type },
            );
            writer.register_variable_with_full_value(
                &format!("conf{}", w.reg),
                ValueRecord::Float { f: w.conf as f64, type_id: conf_type },
            );
        }
        writer.register_variable_with_full_value("energy", ValueRecord::Int { i: record.energy, type_id: energy_type });
        for event in &record.events {
            writer.register_special_event(EventLogKind::TraceLogEvent, &flux_event_text(event));
        }

        // calls and returns as the opcode table says: CALL and SWI, RET and IRET
        let flow = crate::runtime::isa::opcode(record.opcode).map(|op| op.flow);
        after_call = flow == Some(Flow::Call);
        if flow == Some(Flow::Return) && depth > 0 {
            writer.register_return(NONE_VALUE);
            depth -= 1;
        }
    }
}

/// The record's disassembly, or, when it has none, the program's bytes at its pc
/// disassembled (the mnemonic alone past the end of the program).
fn instruction_text(bytes: &[u8], record: &TraceRecord) -> String {
    if !record.text.is_empty() {
        return record.text.to_string();
    }
    bytes
        .get(record.pc as usize..)
        .and_then(|rest| disasm::decode(rest, record.pc))
        .map_or_else(|| record.mnemonic.to_string(), |d| d.text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime_tracing::TraceLowLevelEvent;

    fn record(index: u64, pc: u32, mnemonic: &'static str) -> TraceRecord {
        TraceRecord {
            index,
            pc,
            opcode: crate::runtime::isa::by_mnemonic(mnemonic).map_or(0, |op| op.code),
            mnemonic,
            text: std::sync::Arc::from(""),
            regs: Vec::new(),
            mem: Vec::new(),
            confidence: 1.0,
            energy: 100 - index as i64,
            cycles: index,
            events: Vec::new(),
            agent: 1,
        }
    }

    fn read_events(dir: &Path) -> Vec<TraceLowLevelEvent> {
        serde_json::from_str(&fs::read_to_string(dir.join(TRACE_EVENTS_FILE)).unwrap()).unwrap()
    }

    #[test]
    fn a_window_that_starts_inside_a_function_and_ends_on_a_call() {
        // Raw bytes: NOP at 0, RET at 1, NOP at 2, CALL 0x0001 at 3, HALT at 6.
        let bytes = vec![0x00, 0x0A, 0x00, 0x09, 0x01, 0x00, 0x0B];
        let program = Program::from_bytes(PathBuf::from("/nonexistent/window.bin"), bytes);
        // RET at 1 (no call to return from), NOP at 2, CALL at 3, RET at 1 (returns),
        // then a CALL as the last record (no call event: nothing ran inside it).
        let records = vec![
            record(10, 1, "RET"),
            record(11, 2, "NOP"),
            record(12, 3, "CALL"),
            record(13, 1, "RET"),
            record(14, 3, "CALL"),
        ];
        let mut records = records;
        records[1].events.push(FluxEvent::ApoptosisWarning { energy: 5, level: 10 });
        let dir = tempfile::tempdir().unwrap();
        write_codetracer(dir.path(), &program, &records).unwrap();
        let events = read_events(dir.path());
        let steps = events.iter().filter(|e| matches!(e, TraceLowLevelEvent::Step(_))).count();
        let calls = events.iter().filter(|e| matches!(e, TraceLowLevelEvent::Call(_))).count();
        let returns = events.iter().filter(|e| matches!(e, TraceLowLevelEvent::Return(_))).count();
        assert_eq!(steps, records.len());
        assert_eq!(calls, 2, "the top level and the one call that ran");
        assert_eq!(returns, 1);
        let names: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                TraceLowLevelEvent::Function(f) => Some(f.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["main", "fn_0x0001"]);
        let logged: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                TraceLowLevelEvent::Event(r) if r.kind == EventLogKind::TraceLogEvent => Some(r.content.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(logged, [r#"{"event":"apoptosis_warning","energy":5,"level":10}"#]);
        let listing = fs::read_to_string(copied_source_path(dir.path(), Path::new("/nonexistent/window.listing.fasm"))).unwrap();
        assert_eq!(listing, disasm::listing(&program.bytes));
    }
}
