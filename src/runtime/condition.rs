//! The condition language of stub-side breakpoints and `watch-if`, defined once.
//!
//! ```text
//! COND    := ALL ( "||" ALL )*
//! ALL     := CMP ( "&&" CMP )*
//! CMP     := OPERAND OP NUMBER
//! OPERAND := rN | confN | energy | cycles | pc | sp | confidence
//!          | mem8[A] | mem16[A] | mem32[A] | trust[A]
//! OP      := == | != | < | <= | > | >=
//! NUMBER  := decimal | 0x hex | negative decimal | decimal fraction (confN, trust[A], confidence)
//! ```
//!
//! Rust parses and checks a condition (an error points at the token); the C
//! runtime evaluates its compiled form (`flux_cond`) at VM speed, for the
//! stub, the CLI and the library's `Debugger` alike.
use std::fmt;

use crate::runtime::ffi;

/// A condition that did not parse: the column (1-based) of the token at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {col}: {message}")]
pub struct ConditionError {
    pub col: usize,
    pub message: String,
}

/// What a comparison reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operand {
    Reg(u8),
    Conf(u8),
    Energy,
    Cycles,
    Pc,
    Sp,
    /// The confidence of the last result (the register the last instruction wrote).
    Confidence,
    Mem8(u16),
    Mem16(u16),
    Mem32(u16),
    Trust(u8),
}

impl Operand {
    /// Whether the operand is a fraction in [0, 1] (confidences, trust).
    pub fn is_fraction(self) -> bool {
        matches!(self, Operand::Conf(_) | Operand::Trust(_) | Operand::Confidence)
    }

    fn raw(self) -> (u32, u32) {
        match self {
            Operand::Reg(n) => (ffi::FLUX_OPND_REG, n as u32),
            Operand::Conf(n) => (ffi::FLUX_OPND_CONF, n as u32),
            Operand::Energy => (ffi::FLUX_OPND_ENERGY, 0),
            Operand::Cycles => (ffi::FLUX_OPND_CYCLES, 0),
            Operand::Pc => (ffi::FLUX_OPND_PC, 0),
            Operand::Sp => (ffi::FLUX_OPND_SP, 0),
            Operand::Confidence => (ffi::FLUX_OPND_LAST_CONF, 0),
            Operand::Mem8(a) => (ffi::FLUX_OPND_MEM8, a as u32),
            Operand::Mem16(a) => (ffi::FLUX_OPND_MEM16, a as u32),
            Operand::Mem32(a) => (ffi::FLUX_OPND_MEM32, a as u32),
            Operand::Trust(a) => (ffi::FLUX_OPND_TRUST, a as u32),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Reg(n) => write!(f, "r{n}"),
            Operand::Conf(n) => write!(f, "conf{n}"),
            Operand::Energy => f.write_str("energy"),
            Operand::Cycles => f.write_str("cycles"),
            Operand::Pc => f.write_str("pc"),
            Operand::Sp => f.write_str("sp"),
            Operand::Confidence => f.write_str("confidence"),
            Operand::Mem8(a) => write!(f, "mem8[0x{a:X}]"),
            Operand::Mem16(a) => write!(f, "mem16[0x{a:X}]"),
            Operand::Mem32(a) => write!(f, "mem32[0x{a:X}]"),
            Operand::Trust(a) => write!(f, "trust[{a}]"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn raw(self) -> u32 {
        match self {
            CmpOp::Eq => ffi::FLUX_CMP_EQ,
            CmpOp::Ne => ffi::FLUX_CMP_NE,
            CmpOp::Lt => ffi::FLUX_CMP_LT,
            CmpOp::Le => ffi::FLUX_CMP_LE,
            CmpOp::Gt => ffi::FLUX_CMP_GT,
            CmpOp::Ge => ffi::FLUX_CMP_GE,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// The number on the right of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(i64),
    Frac(f32),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Frac(v) => write!(f, "{v}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub operand: Operand,
    pub op: CmpOp,
    pub value: Value,
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.operand, self.op.symbol(), self.value)
    }
}

/// A parsed condition: comparisons joined by `&&` inside groups, groups by `||`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub groups: Vec<Vec<Comparison>>,
}

/// The most comparisons one condition may hold (the C form is fixed-size).
pub const MAX_COMPARISONS: usize = ffi::FLUX_COND_MAX as usize;

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<String> =
            self.groups.iter().map(|g| g.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" && ")).collect();
        f.write_str(&groups.join(" || "))
    }
}

impl Condition {
    /// One comparison.
    pub fn single(operand: Operand, op: CmpOp, value: Value) -> Condition {
        Condition { groups: vec![vec![Comparison { operand, op, value }]] }
    }

    /// Every comparison, in order.
    pub fn comparisons(&self) -> impl Iterator<Item = &Comparison> {
        self.groups.iter().flatten()
    }

    /// The compiled form the C runtime evaluates.
    pub fn to_raw(&self) -> ffi::flux_cond {
        let mut raw = ffi::flux_cond::default();
        let mut n = 0usize;
        for group in &self.groups {
            for (i, c) in group.iter().enumerate() {
                if n >= MAX_COMPARISONS {
                    break;
                }
                let (operand, index) = c.operand.raw();
                let (ivalue, fvalue) = match c.value {
                    Value::Int(v) => (v, v as f32),
                    Value::Frac(v) => (0, v),
                };
                raw.cmp[n] = ffi::flux_cmp {
                    operand: operand as u8,
                    op: c.op.raw() as u8,
                    group_end: (i + 1 == group.len()) as u8,
                    index,
                    ivalue,
                    fvalue,
                    ..Default::default()
                };
                n += 1;
            }
        }
        raw.n = n as u32;
        raw
    }

    /// Parses the condition language.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let toks = lex(text)?;
        let mut p = Parser { toks, at: 0, end_col: text.chars().count() + 1 };
        let mut groups = vec![vec![p.comparison()?]];
        let mut count = 1;
        loop {
            match p.peek() {
                None => break,
                Some(Tok { kind: Kind::And, .. }) => {
                    p.at += 1;
                    groups.last_mut().expect("one group at least").push(p.comparison()?);
                }
                Some(Tok { kind: Kind::Or, .. }) => {
                    p.at += 1;
                    groups.push(vec![p.comparison()?]);
                }
                Some(t) => return Err(err(t.col, format!("expected && or || before '{}'", t.text))),
            }
            count += 1;
            if count > MAX_COMPARISONS {
                return Err(err(p.last_col(), format!("at most {MAX_COMPARISONS} comparisons in one condition")));
            }
        }
        Ok(Condition { groups })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word,
    Number,
    Op(CmpOp),
    And,
    Or,
    LBracket,
    RBracket,
    Minus,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    text: String,
    col: usize,
}

fn err(col: usize, message: impl Into<String>) -> ConditionError {
    ConditionError { col, message: message.into() }
}

fn lex(text: &str) -> Result<Vec<Tok>, ConditionError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let (kind, len) = match two.as_str() {
            "&&" => (Some(Kind::And), 2),
            "||" => (Some(Kind::Or), 2),
            "==" => (Some(Kind::Op(CmpOp::Eq)), 2),
            "!=" => (Some(Kind::Op(CmpOp::Ne)), 2),
            "<=" => (Some(Kind::Op(CmpOp::Le)), 2),
            ">=" => (Some(Kind::Op(CmpOp::Ge)), 2),
            _ => match c {
                '<' => (Some(Kind::Op(CmpOp::Lt)), 1),
                '>' => (Some(Kind::Op(CmpOp::Gt)), 1),
                '[' => (Some(Kind::LBracket), 1),
                ']' => (Some(Kind::RBracket), 1),
                '-' => (Some(Kind::Minus), 1),
                _ => (None, 0),
            },
        };
        if let Some(kind) = kind {
            out.push(Tok { kind, text: chars[i..i + len].iter().collect(), col });
            i += len;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || chars[j] == '.') {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            let kind = if c.is_ascii_digit() || c == '.' { Kind::Number } else { Kind::Word };
            out.push(Tok { kind, text: word, col });
            i = j;
            continue;
        }
        if c == '=' || c == '!' {
            return Err(err(col, format!("expected one of == != < <= > >=, found '{c}'")));
        }
        if c == '&' || c == '|' {
            return Err(err(col, format!("expected {c}{c}, found a single '{c}'")));
        }
        return Err(err(col, format!("unexpected character '{c}'")));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    end_col: usize,
}

fn parse_int(text: &str) -> Option<i64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => text.parse().ok(),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn last_col(&self) -> usize {
        self.toks.get(self.at.saturating_sub(1)).map_or(self.end_col, |t| t.col)
    }

    fn next(&mut self, what: &str) -> Result<Tok, ConditionError> {
        match self.toks.get(self.at) {
            Some(t) => {
                self.at += 1;
                Ok(t.clone())
            }
            None => Err(err(self.end_col, format!("expected {what} at the end"))),
        }
    }

    fn comparison(&mut self) -> Result<Comparison, ConditionError> {
        let operand = self.operand()?;
        let t = self.next("a comparison (== != < <= > >=)")?;
        let Kind::Op(op) = t.kind else {
            return Err(err(t.col, format!("expected one of == != < <= > >=, found '{}'", t.text)));
        };
        let value = self.number(operand)?;
        Ok(Comparison { operand, op, value })
    }

    fn address(&mut self, limit: u32, what: &str) -> Result<u32, ConditionError> {
        let open = self.next("'['")?;
        if open.kind != Kind::LBracket {
            return Err(err(open.col, format!("expected '[' after {what}, found '{}'", open.text)));
        }
        let t = self.next("an address")?;
        let Some(v) = (if t.kind == Kind::Number { parse_int(&t.text) } else { None }) else {
            return Err(err(t.col, format!("expected a number in {what}[...], found '{}'", t.text)));
        };
        if v < 0 || v as u64 > limit as u64 {
            return Err(err(t.col, format!("{what}[{}] is outside {}", t.text, if what == "trust" { "the agents 0-255" } else { "memory" })));
        }
        let close = self.next("']'")?;
        if close.kind != Kind::RBracket {
            return Err(err(close.col, format!("expected ']', found '{}'", close.text)));
        }
        Ok(v as u32)
    }

    fn operand(&mut self) -> Result<Operand, ConditionError> {
        let t = self.next("an operand")?;
        if t.kind != Kind::Word {
            return Err(err(t.col, format!("expected an operand (rN, confN, energy, cycles, pc, sp, confidence, memN[A], trust[A]), found '{}'", t.text)));
        }
        let w = t.text.to_ascii_lowercase();
        let reg = |prefix: &str| -> Option<Result<u8, ConditionError>> {
            let rest = w.strip_prefix(prefix)?;
            if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            Some(match rest.parse::<u8>() {
                Ok(n) if n < 16 => Ok(n),
                _ => Err(err(t.col, format!("unknown register '{}': registers are {prefix}0-{prefix}15", t.text))),
            })
        };
        if let Some(r) = reg("conf") {
            return Ok(Operand::Conf(r?));
        }
        if let Some(r) = reg("r") {
            return Ok(Operand::Reg(r?));
        }
        Ok(match w.as_str() {
            "energy" => Operand::Energy,
            "cycles" => Operand::Cycles,
            "pc" => Operand::Pc,
            "sp" => Operand::Sp,
            "confidence" => Operand::Confidence,
            "mem8" => Operand::Mem8(self.address(0xFFFF, "mem8")? as u16),
            "mem16" => Operand::Mem16(self.address(0xFFFE, "mem16")? as u16),
            "mem32" => Operand::Mem32(self.address(0xFFFC, "mem32")? as u16),
            "trust" => Operand::Trust(self.address(255, "trust")? as u8),
            _ => return Err(err(t.col, format!("unknown operand '{}' (rN, confN, energy, cycles, pc, sp, confidence, mem8/16/32[A], trust[A])", t.text))),
        })
    }

    fn number(&mut self, operand: Operand) -> Result<Value, ConditionError> {
        let mut t = self.next("a number")?;
        let negative = t.kind == Kind::Minus;
        if negative {
            t = self.next("a number after '-'")?;
        }
        if t.kind != Kind::Number {
            return Err(err(t.col, format!("expected a number, found '{}'", t.text)));
        }
        let is_frac = t.text.contains('.') && !t.text.starts_with("0x");
        if operand.is_fraction() {
            // finite only: `inf` would print as a condition that does not parse back
            let v: f32 = t.text.parse().ok().filter(|v: &f32| v.is_finite()).ok_or_else(|| err(t.col, format!("bad number '{}'", t.text)))?;
            let v = if negative { -v } else { v };
            return Ok(Value::Frac(v));
        }
        if is_frac {
            return Err(err(t.col, format!("{operand} is an integer: a fraction like '{}' does not belong here", t.text)));
        }
        let v = parse_int(&t.text).ok_or_else(|| err(t.col, format!("bad number '{}'", t.text)))?;
        Ok(Value::Int(if negative { -v } else { v }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_whole_language() {
        let c = Condition::parse("conf1 < 0.6 && r2 == 0x10 || energy <= 500 || mem32[0x8000] != -1 && trust[3] >= 0.5").unwrap();
        assert_eq!(c.groups.len(), 3);
        assert_eq!(c.to_string(), "conf1 < 0.6 && r2 == 16 || energy <= 500 || mem32[0x8000] != -1 && trust[3] >= 0.5");
        assert_eq!(c.to_raw().n, 5);
        for s in ["pc == 24", "sp < 0xFF00", "cycles > 10", "mem8[65535] == 1", "mem16[0] >= 2", "confidence < 0.3", "R3 > -5"] {
            Condition::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        }
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = Condition::parse("conf1 = 0.5").unwrap_err();
        assert_eq!(e.col, 7, "{e}");
        let e = Condition::parse("r16 == 1").unwrap_err();
        assert_eq!((e.col, e.message.contains("unknown register")), (1, true), "{e}");
        let e = Condition::parse("r1 == 0.5").unwrap_err();
        assert_eq!(e.col, 7, "{e}");
        assert!(e.message.contains("fraction"), "{e}");
        let e = Condition::parse("mem32[0xFFFE] == 1").unwrap_err();
        assert_eq!(e.col, 7, "{e}");
        let e = Condition::parse("r1 == 1 r2 == 2").unwrap_err();
        assert_eq!(e.col, 9, "{e}");
        let e = Condition::parse("r1 ==").unwrap_err();
        assert_eq!(e.col, 6, "{e}");
        let e = Condition::parse("bogus > 1").unwrap_err();
        assert_eq!(e.col, 1, "{e}");
        let e = Condition::parse("trust[256] > 0.5").unwrap_err();
        assert_eq!(e.col, 7, "{e}");
    }

    // Found by fuzzing (fuzz/fuzz_targets/condition.rs): a fraction too big
    // for an f32 parsed as infinity, which printed as `conf2 < inf`, text that
    // does not parse (the stub prints conditions and parses them again).
    #[test]
    fn fractions_are_finite_and_conditions_print_as_they_parse() {
        let e = Condition::parse("conf2 < 1e39").unwrap_err();
        assert_eq!(e.col, 9, "{e}");
        for s in ["conf2 < 3.4e38", "trust[1] >= -0.5", "confidence != 0", "r1 == -5 || mem16[0xFFFE] > 0x10"] {
            let c = Condition::parse(s).unwrap();
            assert_eq!(Condition::parse(&c.to_string()).unwrap(), c, "{s} shows as {c}");
        }
    }
}
