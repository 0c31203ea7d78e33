//! `launch`: the program (a `.fasm` file, raw bytecode, or an ELF from `asm
//! --elf`), the VM's options, and the source the client shows: the `.fasm`
//! file itself, or the disassembly (served by the `source` request).
use std::path::PathBuf;

use serde_json::{json, Value};

use super::protocol::OutputEvents;
use super::{Adapter, Launched};
use crate::frontend::gdb::FluxTarget;
use crate::program::load::Program;
use crate::program::save_path::SaveDir;
use crate::program::source_map::SourceMap;
use crate::runtime::vm::{SchedKind, Schedule, VmConfig, DEFAULT_ENERGY, DEFAULT_SLICE};

/// The `sourceReference` of a program's disassembly.
pub const DISASSEMBLY_REF: i64 = 1;

/// `launch`'s arguments.
#[derive(Debug, Clone)]
pub struct LaunchArgs {
    pub program: PathBuf,
    pub stop_on_entry: bool,
    pub record: bool,
    pub config: VmConfig,
    pub schedule: Schedule,
    pub apoptosis_warn: Option<i64>,
    pub save_dir: Option<PathBuf>,
}

fn int(args: &Value, key: &str) -> Result<Option<i64>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| format!("launch: {key} must be an integer, not {v}")),
    }
}

fn boolean(args: &Value, key: &str, default: bool) -> Result<bool, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| format!("launch: {key} must be true or false, not {v}")),
    }
}

impl LaunchArgs {
    pub fn parse(args: &Value) -> Result<LaunchArgs, String> {
        let program = args.get("program").and_then(Value::as_str).ok_or("launch: no program (the path of a .fasm, bytecode or ELF file)")?;
        let sched = match args.get("sched").and_then(Value::as_str) {
            None | Some("round-robin") => SchedKind::RoundRobin,
            Some("chaos") => SchedKind::Chaos,
            Some(other) => return Err(format!("launch: sched {other:?}: expected round-robin or chaos")),
        };
        let slice = match int(args, "slice")? {
            None => DEFAULT_SLICE,
            Some(n) if (1..=u32::MAX as i64).contains(&n) => n as u32,
            Some(n) => return Err(format!("launch: slice {n}: expected 1 or more")),
        };
        let seed = match int(args, "seed")? {
            None => 0,
            Some(n) if n >= 0 => n as u64,
            Some(n) => return Err(format!("launch: seed {n}: expected 0 or more")),
        };
        Ok(LaunchArgs {
            program: PathBuf::from(program),
            stop_on_entry: boolean(args, "stopOnEntry", false)?,
            record: boolean(args, "record", true)?,
            config: VmConfig { energy: int(args, "energy")?.unwrap_or(DEFAULT_ENERGY), seed },
            schedule: Schedule::new(sched, slice),
            apoptosis_warn: int(args, "apoptosisWarn")?,
            save_dir: args.get("saveDir").and_then(Value::as_str).map(PathBuf::from),
        })
    }
}

impl Launched {
    /// The DAP `Source` of the program's text.
    pub fn source(&self) -> Value {
        if self.map.is_source {
            let path = std::fs::canonicalize(&self.args.program).unwrap_or_else(|_| self.args.program.clone());
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            json!({ "name": name, "path": path.display().to_string() })
        } else {
            let name = self.args.program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            json!({ "name": format!("{name} (disassembly)"), "sourceReference": DISASSEMBLY_REF, "presentationHint": "deemphasize" })
        }
    }

    /// Whether a client's `Source` names this program's text.
    pub fn is_our_source(&self, source: &Value) -> bool {
        if let Some(r) = source.get("sourceReference").and_then(Value::as_i64).filter(|&r| r > 0) {
            return !self.map.is_source && r == DISASSEMBLY_REF;
        }
        match source.get("path").and_then(Value::as_str) {
            Some(p) if self.map.is_source => {
                let ours = std::fs::canonicalize(&self.args.program).ok();
                ours.is_some() && std::fs::canonicalize(p).ok() == ours
            }
            _ => false,
        }
    }
}

impl Adapter {
    pub(super) fn launch(&mut self, args: &Value) -> Result<Value, String> {
        if self.launched.is_some() {
            return Err("launch: a program is launched already".into());
        }
        let args = LaunchArgs::parse(args)?;
        let program = Program::load(&args.program).map_err(|e| e.to_string())?;
        let map = SourceMap::of(&program);
        let output = Box::new(OutputEvents(self.out.clone()));
        let mut target = FluxTarget::new(program, args.config, output).map_err(|e| e.to_string())?;
        let s = &mut target.session;
        s.vm.set_schedule(args.schedule);
        if args.record {
            s.record_from_start = true;
            s.start_recording().map_err(|e| e.to_string())?;
        }
        if let Some(level) = args.apoptosis_warn {
            s.set_apoptosis_warning(level).map_err(|e| e.to_string())?;
        }
        if let Some(dir) = &args.save_dir {
            let dir = SaveDir::open(dir).map_err(|e| format!("launch: saveDir: {e}"))?;
            s.save_dir = Some(std::sync::Arc::new(dir));
        }
        self.launched = Some(Launched { target, map, args });
        self.out.event("initialized", json!({}));
        Ok(json!({}))
    }

    /// `source`: the disassembly of a program without assembly source.
    pub(super) fn source(&mut self, args: &Value) -> Result<Value, String> {
        let l = self.launched()?;
        let reference = args.get("sourceReference").or_else(|| args.get("source").and_then(|s| s.get("sourceReference")));
        match reference.and_then(Value::as_i64) {
            Some(DISASSEMBLY_REF) if !l.map.is_source => Ok(json!({ "content": l.map.text, "mimeType": "text/x-fasm" })),
            Some(DISASSEMBLY_REF) => Ok(json!({ "content": l.map.text, "mimeType": "text/x-fasm" })),
            _ => Err("source: no such source (the program's text is its file, or sourceReference 1)".into()),
        }
    }
}
