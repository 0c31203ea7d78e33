//! The FLUX assembler.
//!
//! It reads what the disassembler writes (so `asm(disasm(x)) == x` for any
//! bytes) plus what people write by hand:
//!
//! ```text
//! ; a comment
//! start:  LOAD_IMM r1, 10        ; decimal, 0x hex, 0b binary, 'c', negative
//!         CALL  fib              ; a label wherever an address goes
//!         JNZ   r1, start+3      ; label plus or minus a number
//!   0010: HALT                   ; a listing's address column is accepted and ignored
//! table:  DB 1, 2, "text", 0     ; DB bytes, DW 16-bit words, DD 32-bit words
//!         ORG 0x100              ; pad with zeros up to an address
//! ```
//!
//! Errors name the line and column: `12:9: unknown mnemonic 'ADDD'`.
use std::collections::BTreeMap;

use crate::runtime::isa::{self, OpcodeInfo, Operand};

/// An assembly error at a place in the source (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct AsmError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// The result of assembling: the bytes, where each source line's code went,
/// and the labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assembled {
    pub bytes: Vec<u8>,
    /// (address, 1-based source line) for every instruction, in address order.
    pub line_table: Vec<(u32, usize)>,
    pub labels: BTreeMap<String, u32>,
}

impl Assembled {
    /// The source line of the instruction at `addr`, if one starts there.
    pub fn line_of(&self, addr: u32) -> Option<usize> {
        self.line_table.binary_search_by_key(&addr, |&(a, _)| a).ok().map(|i| self.line_table[i].1)
    }

    /// The label at exactly `addr`, if any.
    pub fn label_at(&self, addr: u32) -> Option<&str> {
        self.labels.iter().find(|(_, &a)| a == addr).map(|(n, _)| n.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(i64),
    Str(Vec<u8>),
    Comma,
    Plus,
    Minus,
    Colon,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    col: usize,
    text: String,
}

fn err(line: usize, col: usize, message: impl Into<String>) -> AsmError {
    AsmError { line, col, message: message.into() }
}

/// The longest source text an error quotes whole (in characters).
const QUOTE_MAX: usize = 40;

/// Source text as an error quotes it: whole when short, else its first
/// characters and its length, so that an error stays one short line.
pub fn quote(text: &str) -> String {
    let n = text.chars().count();
    if n <= QUOTE_MAX {
        return format!("'{text}'");
    }
    let head: String = text.chars().take(QUOTE_MAX - 8).collect();
    format!("'{head}...' ({n} characters)")
}

/// The text of an assembly source file: it must be UTF-8 (the first
/// invalid byte is an error at its line and column).  `asm` and every
/// command that loads a `.fasm` program read sources through this.
pub fn source_text(bytes: &[u8]) -> Result<&str, AsmError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        // the prefix is valid UTF-8: count its characters
        let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        err(line, col, format!("invalid UTF-8 (byte 0x{:02X}): sources are UTF-8 text", bytes[e.valid_up_to()]))
    })
}

fn parse_number(text: &str) -> Option<i64> {
    let t = text.replace('_', "");
    let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h.to_string(), 16)
    } else if let Some(b) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        (b.to_string(), 2)
    } else {
        (t.clone(), 10)
    };
    if digits.is_empty() {
        return None;
    }
    i64::from_str_radix(&digits, radix).ok().filter(|v| *v <= u32::MAX as i64)
}

fn lex(line_no: usize, s: &str) -> Result<Vec<Token>, AsmError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c == ';' || c == '#' {
            break;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            ',' => Some(Tok::Comma),
            '+' => Some(Tok::Plus),
            '-' => Some(Tok::Minus),
            ':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(t) = single {
            out.push(Token { tok: t, col, text: c.to_string() });
            i += 1;
            continue;
        }
        if c == '"' || c == '\'' {
            let delim = c;
            let mut bytes = Vec::new();
            let mut j = i + 1;
            loop {
                let Some(&d) = chars.get(j) else {
                    return Err(err(line_no, col, format!("unterminated {} literal", if delim == '"' { "string" } else { "character" })));
                };
                j += 1;
                if d == delim {
                    break;
                }
                let d = if d == '\\' {
                    let Some(&e) = chars.get(j) else {
                        return Err(err(line_no, j, "unterminated escape"));
                    };
                    j += 1;
                    match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        '\\' | '"' | '\'' => e,
                        _ => return Err(err(line_no, j - 1, format!("unknown escape '\\{e}'"))),
                    }
                } else {
                    d
                };
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(d.encode_utf8(&mut buf).as_bytes());
            }
            let text: String = chars[i..j].iter().collect();
            if delim == '\'' {
                if bytes.len() != 1 {
                    return Err(err(line_no, col, format!("character literal {} must be one byte", quote(&text))));
                }
                out.push(Token { tok: Tok::Num(bytes[0] as i64), col, text });
            } else {
                out.push(Token { tok: Tok::Str(bytes), col, text });
            }
            i = j;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$' {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || chars[j] == '.' || chars[j] == '$') {
                j += 1;
            }
            let text: String = chars[i..j].iter().collect();
            let tok = if c.is_ascii_digit() {
                match parse_number(&text) {
                    Some(v) => Tok::Num(v),
                    // a listing's address column, such as 000B
                    None if is_listing_address(&text) => Tok::Ident(text.clone()),
                    None => return Err(err(line_no, col, format!("bad number {}", quote(&text)))),
                }
            } else {
                Tok::Ident(text.clone())
            };
            out.push(Token { tok, col, text });
            i = j;
            continue;
        }
        return Err(err(line_no, col, format!("unexpected character '{c}'")));
    }
    Ok(out)
}

fn is_listing_address(t: &str) -> bool {
    t.len() == 4 && t.chars().all(|c| c.is_ascii_hexdigit())
}

fn register_number(text: &str) -> Option<u32> {
    let rest = text.strip_prefix('r').or_else(|| text.strip_prefix('R'))?;
    if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_digit()) || rest.len() > 3 {
        return None;
    }
    rest.parse::<u32>().ok().filter(|&n| n <= 255)
}

/// A value: a number, or a label plus an offset, resolved in the second pass.
#[derive(Debug, Clone)]
enum Expr {
    Num(i64),
    Label { name: String, offset: i64 },
}

#[derive(Debug, Clone)]
enum Arg {
    Reg(u32),
    Value(Expr),
    Str(Vec<u8>),
}

#[derive(Debug, Clone)]
struct ArgAt {
    arg: Arg,
    col: usize,
    text: String,
}

#[derive(Debug)]
enum Item {
    Insn { op: &'static OpcodeInfo, args: Vec<ArgAt> },
    Data { width: usize, args: Vec<ArgAt> },
    Org { target: u32 },
}

#[derive(Debug)]
struct Stmt {
    line: usize,
    col: usize,
    addr: u32,
    item: Item,
}

fn parse_args(line: usize, toks: &[Token]) -> Result<Vec<ArgAt>, AsmError> {
    let mut args = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let start = &toks[i];
        let (arg, used) = match &start.tok {
            Tok::Ident(name) if register_number(name).is_some() => {
                (Arg::Reg(register_number(name).unwrap_or(0)), 1)
            }
            Tok::Str(b) => (Arg::Str(b.clone()), 1),
            Tok::Minus => match toks.get(i + 1).map(|t| &t.tok) {
                Some(Tok::Num(v)) => (Arg::Value(Expr::Num(-v)), 2),
                _ => return Err(err(line, start.col, "expected a number after '-'")),
            },
            Tok::Num(v) => (Arg::Value(Expr::Num(*v)), 1),
            Tok::Ident(name) => {
                let mut offset = 0i64;
                let mut used = 1;
                if let Some(sign @ (Tok::Plus | Tok::Minus)) = toks.get(i + 1).map(|t| &t.tok) {
                    match toks.get(i + 2).map(|t| &t.tok) {
                        Some(Tok::Num(v)) => {
                            offset = if *sign == Tok::Plus { *v } else { -v };
                            used = 3;
                        }
                        _ => {
                            let col = toks.get(i + 1).map(|t| t.col).unwrap_or(start.col);
                            return Err(err(line, col, "expected a number after the sign"));
                        }
                    }
                }
                (Arg::Value(Expr::Label { name: name.clone(), offset }), used)
            }
            _ => return Err(err(line, start.col, format!("expected an operand, found {}", quote(&start.text)))),
        };
        let text = toks[i..i + used].iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join("");
        args.push(ArgAt { arg, col: start.col, text });
        i += used;
        match toks.get(i) {
            None => {}
            Some(Token { tok: Tok::Comma, col, .. }) => {
                if i + 1 >= toks.len() {
                    return Err(err(line, *col, "expected an operand after ','"));
                }
                i += 1;
            }
            Some(t) => return Err(err(line, t.col, format!("expected ',' between operands, found {}", quote(&t.text)))),
        }
    }
    Ok(args)
}

fn data_size(width: usize, args: &[ArgAt]) -> usize {
    args.iter()
        .map(|a| match &a.arg {
            Arg::Str(b) => b.len().div_ceil(width) * width,
            _ => width,
        })
        .sum()
}

fn directive_width(name: &str) -> Option<usize> {
    match name.to_ascii_uppercase().trim_start_matches('.') {
        "DB" | "BYTE" => Some(1),
        "DW" | "WORD" => Some(2),
        "DD" | "DWORD" => Some(4),
        _ => None,
    }
}

/// Assembles FLUX assembly source into bytecode.
pub fn assemble(src: &str) -> Result<Assembled, AsmError> {
    let mut labels: BTreeMap<String, u32> = BTreeMap::new();
    let mut label_lines: BTreeMap<String, usize> = BTreeMap::new();
    let mut stmts = Vec::new();
    let mut addr: u64 = 0;

    // Pass 1: parse, lay out, collect labels.
    for (idx, raw_line) in src.lines().enumerate() {
        let line = idx + 1;
        let toks = lex(line, raw_line)?;
        let mut i = 0;
        // A listing's address column: four hex digits and a colon.
        if toks.len() >= 2 && toks[1].tok == Tok::Colon && is_listing_address(&toks[0].text) {
            i = 2;
        }
        // Labels.
        while i + 1 < toks.len() + 1 {
            match (toks.get(i), toks.get(i + 1)) {
                (Some(Token { tok: Tok::Ident(name), col, .. }), Some(Token { tok: Tok::Colon, .. })) => {
                    if register_number(name).is_some() || isa::by_mnemonic(name).is_some() || directive_width(name).is_some() {
                        return Err(err(line, *col, format!("{} cannot be a label: it is a register, mnemonic or directive", quote(name))));
                    }
                    if is_listing_address(name) {
                        return Err(err(line, *col, format!("{} cannot be a label: it reads as a listing address", quote(name))));
                    }
                    if let Some(prev) = label_lines.get(name) {
                        return Err(err(line, *col, format!("label {} is already defined on line {prev}", quote(name))));
                    }
                    labels.insert(name.clone(), addr as u32);
                    label_lines.insert(name.clone(), line);
                    i += 2;
                }
                _ => break,
            }
        }
        let Some(head) = toks.get(i) else { continue };
        let Tok::Ident(word) = &head.tok else {
            return Err(err(line, head.col, format!("expected a mnemonic or directive, found {}", quote(&head.text))));
        };
        let args = parse_args(line, &toks[i + 1..])?;
        let item = if let Some(width) = directive_width(word) {
            if args.is_empty() {
                return Err(err(line, head.col, format!("{word} needs at least one value")));
            }
            for a in &args {
                if let Arg::Reg(_) = a.arg {
                    return Err(err(line, a.col, format!("{word} takes values, not registers ({})", quote(&a.text))));
                }
            }
            Item::Data { width, args }
        } else if matches!(word.to_ascii_uppercase().as_str(), "ORG" | ".ORG") {
            let [ArgAt { arg: Arg::Value(Expr::Num(v)), col, .. }] = args.as_slice() else {
                return Err(err(line, head.col, "ORG takes one numeric address"));
            };
            if *v < addr as i64 || *v > 0x10000 {
                return Err(err(line, *col, format!("ORG 0x{v:X} is behind the current address 0x{addr:04X} or past 64 KiB")));
            }
            Item::Org { target: *v as u32 }
        } else if let Some(op) = isa::by_mnemonic(word) {
            Item::Insn { op, args }
        } else {
            return Err(err(line, head.col, format!("unknown mnemonic {}", quote(word))));
        };
        let size = match &item {
            Item::Insn { op, .. } => op.len(),
            Item::Data { width, args } => data_size(*width, args),
            Item::Org { target } => (*target as u64 - addr) as usize,
        };
        stmts.push(Stmt { line, col: head.col, addr: addr as u32, item });
        addr += size as u64;
        if addr > 0x10000 {
            return Err(err(line, head.col, "the program grows past 64 KiB"));
        }
    }

    // Pass 2: encode.
    let resolve = |line: usize, a: &ArgAt| -> Result<i64, AsmError> {
        match &a.arg {
            Arg::Value(Expr::Num(v)) => Ok(*v),
            Arg::Value(Expr::Label { name, offset }) => match labels.get(name) {
                Some(&v) => Ok(v as i64 + offset),
                None => Err(err(line, a.col, format!("unknown label {}", quote(name)))),
            },
            Arg::Reg(_) => Err(err(line, a.col, format!("expected a value, found register {}", quote(&a.text)))),
            Arg::Str(_) => Err(err(line, a.col, "expected a value, found a string")),
        }
    };
    let fit = |line: usize, a: &ArgAt, v: i64, bytes: usize| -> Result<u32, AsmError> {
        let bits = 8 * bytes as u32;
        let min = -(1i64 << (bits - 1));
        let max = (1i64 << bits) - 1;
        if v < min || v > max {
            return Err(err(line, a.col, format!("{} = {v} does not fit in {bits} bits", quote(&a.text))));
        }
        Ok((v as u64 & ((1u64 << bits) - 1)) as u32)
    };

    let mut bytes = Vec::with_capacity(addr as usize);
    let mut line_table = Vec::new();
    for s in &stmts {
        match &s.item {
            Item::Org { target } => bytes.resize(*target as usize, 0),
            Item::Data { width, args } => {
                for a in args {
                    if let Arg::Str(b) = &a.arg {
                        let mut b = b.clone();
                        b.resize(b.len().div_ceil(*width) * width, 0);
                        bytes.extend_from_slice(&b);
                        continue;
                    }
                    let v = fit(s.line, a, resolve(s.line, a)?, *width)?;
                    bytes.extend_from_slice(&v.to_le_bytes()[..*width]);
                }
            }
            Item::Insn { op, args } => {
                let kinds = op.mode.operands();
                if args.len() != kinds.len() {
                    let col = args.get(kinds.len()).map(|a| a.col).unwrap_or(s.col);
                    return Err(err(
                        s.line,
                        col,
                        format!("{} takes {} operand{} ({}), found {}", op.mnemonic, kinds.len(),
                            if kinds.len() == 1 { "" } else { "s" }, mode_help(op), args.len()),
                    ));
                }
                line_table.push((s.addr, s.line));
                bytes.push(op.code);
                for (kind, a) in kinds.iter().zip(args) {
                    match kind {
                        Operand::Reg => match a.arg {
                            Arg::Reg(n) => bytes.push(n as u8),
                            _ => return Err(err(s.line, a.col, format!("{} expects a register here (r0-r15), found {}", op.mnemonic, quote(&a.text)))),
                        },
                        Operand::Imm8 | Operand::Imm16 | Operand::Imm32 => {
                            let n = match kind { Operand::Imm8 => 1, Operand::Imm16 => 2, _ => 4 };
                            let v = fit(s.line, a, resolve(s.line, a)?, n)?;
                            bytes.extend_from_slice(&v.to_le_bytes()[..n]);
                        }
                    }
                }
            }
        }
    }
    Ok(Assembled { bytes, line_table, labels })
}

fn mode_help(op: &OpcodeInfo) -> String {
    op.mode
        .operands()
        .iter()
        .map(|k| match k {
            Operand::Reg => "reg",
            Operand::Imm8 => "imm8",
            Operand::Imm16 => "imm16",
            Operand::Imm32 => "imm32",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::disasm;

    #[test]
    fn invalid_utf8_is_an_error_at_its_line_and_column() {
        assert_eq!(source_text(b"NOP\n").unwrap(), "NOP\n");
        let e = source_text(b"NOP\n  HALT ; \xc3\xa9t\xe9\n").unwrap_err();
        assert_eq!(e.to_string(), "2:12: invalid UTF-8 (byte 0xE9): sources are UTF-8 text");
        assert_eq!(source_text(b"\xff").unwrap_err().to_string(), "1:1: invalid UTF-8 (byte 0xFF): sources are UTF-8 text");
    }

    #[test]
    fn errors_quote_long_text_in_short() {
        assert_eq!(quote("ADDD"), "'ADDD'");
        assert_eq!(quote(&"x".repeat(40)), format!("'{}'", "x".repeat(40)));
        assert_eq!(quote(&"é".repeat(41)), format!("'{}...' (41 characters)", "é".repeat(32)));
        let e = assemble(&format!("JMP {}\n", "a".repeat(100_000))).unwrap_err().to_string();
        assert_eq!(e, format!("1:5: unknown label '{}...' (100000 characters)", "a".repeat(32)));
    }

    #[test]
    fn labels_and_data() {
        let a = assemble("start: JMP end\n DB 1, 2, \"ab\"\nend: HALT\n").unwrap();
        assert_eq!(a.bytes, vec![0x06, 0x07, 0x00, 1, 2, b'a', b'b', 0x0B]);
        assert_eq!(a.labels["end"], 7);
        assert_eq!(a.line_of(7), Some(3));
    }

    #[test]
    fn reads_its_own_listing() {
        let bytes: Vec<u8> = (0..=255u8).chain([0x07, 0x01]).collect();
        let text = disasm::listing(&bytes);
        assert_eq!(assemble(&text).unwrap().bytes, bytes);
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = assemble("NOP\n  ADDD r1, r2\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 3));
        let e = assemble("CADD r1, r2, 5").unwrap_err();
        assert_eq!((e.line, e.col), (1, 14));
        assert!(e.message.contains("register"), "{e}");
        let e = assemble("JMP nowhere").unwrap_err();
        assert_eq!(e.to_string(), "1:5: unknown label 'nowhere'");
        let e = assemble("PUSH 70000").unwrap_err();
        assert!(e.message.contains("16 bits"), "{e}");
    }
}
