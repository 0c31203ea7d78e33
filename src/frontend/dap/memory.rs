//! disassemble (FLUX mnemonics in the text of `flux-gdbstub disasm`, with
//! the function names and source lines), readMemory and writeMemory (base64).
use serde_json::{json, Value};

use super::inspect::{hex, parse_int};
use super::Adapter;
use crate::program::disasm::{self, Decoded};
use crate::runtime::vm::MEM_SIZE;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for (k, c) in text.trim().bytes().enumerate() {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|&b| b == c).ok_or_else(|| format!("writeMemory: data is not base64 (byte {k})"))? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

fn address(args: &Value, what: &str) -> Result<i64, String> {
    let reference = args.get("memoryReference").and_then(Value::as_str).ok_or_else(|| format!("{what}: no memoryReference"))?;
    let base = parse_int(reference).ok_or_else(|| format!("{what}: memoryReference {reference:?} is not an address"))?;
    let offset = args.get("offset").and_then(Value::as_i64).unwrap_or(0);
    base.checked_add(offset).ok_or_else(|| format!("{what}: {reference} + offset {offset} is outside memory"))
}

impl Adapter {
    pub(super) fn disassemble(&mut self, args: &Value) -> Result<Value, String> {
        let start = address(args, "disassemble")?;
        // a client's offset, kept within what memory can hold (2^16
        // instructions at most either way), so the sums below cannot overflow
        let skip = args.get("instructionOffset").and_then(Value::as_i64).unwrap_or(0).clamp(-(MEM_SIZE as i64), MEM_SIZE as i64);
        let count = args.get("instructionCount").and_then(Value::as_u64).ok_or("disassemble: no instructionCount")?.min(4096) as i64;
        let l = self.launched()?;
        let source = l.source();
        // the program's instruction boundaries, then whatever decodes after them
        let mut addrs: Vec<u32> = l.map.instruction_addresses().collect();
        let mem = l.session.vm.memory_view();
        let mut next = addrs.last().map_or(0, |&a| a + disasm::decode(&mem[a as usize..], a).map_or(1, |d| d.len() as u32));
        let start_u = start.clamp(0, MEM_SIZE as i64) as u32;
        if start_u >= next {
            // outside the program: decode from the address asked
            next = start_u;
        }
        while next < MEM_SIZE && (addrs.len() as i64) < (addrs.partition_point(|&a| a < start_u) as i64 + skip.max(0) + count + 1) {
            addrs.push(next);
            next += disasm::decode(&mem[next as usize..], next).map_or(1, |d| d.len() as u32);
        }
        let at = addrs.partition_point(|&a| (a as i64) < start) as i64 + skip;
        let mut out = Vec::new();
        for k in at..at + count {
            let Some(&a) = usize::try_from(k).ok().and_then(|k| addrs.get(k)) else {
                out.push(json!({ "address": if k < 0 { "-0x1".to_string() } else { hex(MEM_SIZE) }, "instruction": "", "presentationHint": "invalid" }));
                continue;
            };
            let d = disasm::decode(&mem[a as usize..(a as usize + 8).min(MEM_SIZE as usize)], a);
            let bytes = d.as_ref().map_or(1, Decoded::len);
            let mut v = json!({
                "address": hex(a),
                "instruction": d.map(|d| d.text()).unwrap_or_default(),
                "instructionBytes": mem[a as usize..a as usize + bytes].iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" "),
            });
            if let Some(f) = l.map.function_at(a) {
                v["symbol"] = json!(if f.start == a { f.name.clone() } else { format!("{}+{}", f.name, a - f.start) });
            }
            if let Some(line) = l.map.line_of(a) {
                v["location"] = source.clone();
                v["line"] = json!(line);
            }
            out.push(v);
        }
        Ok(json!({ "instructions": out }))
    }

    pub(super) fn read_memory(&mut self, args: &Value) -> Result<Value, String> {
        let addr = address(args, "readMemory")?;
        let count = args.get("count").and_then(Value::as_u64).ok_or("readMemory: no count")?;
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        let l = self.launched()?;
        let mem = l.session.vm.memory_view();
        let from = addr.clamp(0, MEM_SIZE as i64);
        let to = addr.saturating_add(count).clamp(from, MEM_SIZE as i64);
        let data = &mem[from as usize..to as usize];
        let mut body = json!({ "address": hex(from as u32), "data": base64_encode(data) });
        if (to - from) < count {
            body["unreadableBytes"] = json!(count - (to - from));
        }
        Ok(body)
    }

    pub(super) fn write_memory(&mut self, args: &Value) -> Result<Value, String> {
        let addr = address(args, "writeMemory")?;
        let data = base64_decode(args.get("data").and_then(Value::as_str).ok_or("writeMemory: no data")?)?;
        let addr = u32::try_from(addr).map_err(|_| format!("writeMemory: {addr} is outside memory"))?;
        let l = self.launched()?;
        let s = &mut l.session;
        s.vm.write_mem(addr, &data).map_err(|e| format!("writeMemory: {e}"))?;
        if let Some(h) = &mut s.history {
            h.note_memory_write(addr, data.len());
        }
        Ok(json!({ "bytesWritten": data.len() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_both_ways() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\x00\xff\x10\x20"] {
            assert_eq!(base64_decode(&base64_encode(data)).unwrap(), data);
        }
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
        assert!(base64_decode("Zm9v!").is_err());
    }
}
