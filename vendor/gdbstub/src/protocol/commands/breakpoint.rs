use crate::protocol::common::hex::decode_hex;
use crate::protocol::common::hex::decode_hex_buf;

// Breakpoint packets are split up like this:
//
// Z0,addr,kind[;cond_list…][;cmds:persist,cmd_list…]
//  \_________/
//       |
//     BasicBreakpoint
//  \_______________________________________________/
//                          |
//                  BytecodeBreakpoint
//
// If the target does not implement the `Agent` extension, only the
// `BasicBreakpoint` part is parsed, which helps cut down on binary bloat.

#[derive(Debug)]
pub struct BasicBreakpoint<'a> {
    pub type_: u8,
    pub addr: &'a [u8],
    /// architecture dependent
    pub kind: &'a [u8],
}

impl<'a> BasicBreakpoint<'a> {
    pub fn from_slice(body: &'a mut [u8]) -> Option<BasicBreakpoint<'a>> {
        let mut body = body.splitn_mut(4, |b| matches!(*b, b',' | b';'));
        let type_ = decode_hex(body.next()?).ok()?;
        let addr = decode_hex_buf(body.next()?).ok()?;
        let kind = decode_hex_buf(body.next()?).ok()?;

        Some(BasicBreakpoint { type_, addr, kind })
    }
}

/// A `Z0`/`Z1` packet whose options (`cond_list`, `cmds:`) are kept as
/// text: they are checked and decoded when the packet is handled, so that a
/// malformed list gets an error reply instead of ending the session.
#[derive(Debug)]
pub struct BytecodeBreakpoint<'a> {
    pub base: BasicBreakpoint<'a>,
    /// Everything after the first `;`.
    pub options: Option<&'a mut [u8]>,
}

impl<'a> BytecodeBreakpoint<'a> {
    pub fn from_slice(body: &'a mut [u8]) -> Option<BytecodeBreakpoint<'a>> {
        let mut body = body.splitn_mut(2, |b| *b == b';');
        let base = BasicBreakpoint::from_slice(body.next()?)?;
        let options = body.next();
        Some(BytecodeBreakpoint { base, options })
    }
}

/// The options of a breakpoint packet, decoded: `[cond_list][;cmds:persist,cmd_list]`.
pub struct BreakpointOptions<'a> {
    pub conds: &'a [u8],
    pub cmds: Option<(&'a [u8], bool)>,
}

/// Checks and decodes the options of a breakpoint packet (the text after the
/// first `;`).  `None` when they are malformed.
pub fn decode_options(options: &mut [u8]) -> Option<BreakpointOptions<'_>> {
    // the commands start at "cmds:", which cannot occur in a condition list
    // (hex digits, 'X', ',' and ';' only)
    let at = options.windows(5).position(|w| w == b"cmds:");
    let (conds, cmds) = match at {
        Some(at) => {
            let (conds, cmds) = options.split_at_mut(at);
            (conds, Some(&mut cmds[5..]))
        }
        None => (options, None),
    };
    let conds = decode_bytecode_list(conds)?;
    let cmds = match cmds {
        None => None,
        Some(cmds) => {
            let comma = cmds.iter().position(|b| *b == b',')?;
            let (persist, list) = cmds.split_at_mut(comma);
            let persist = match &*persist {
                b"0" => false,
                b"1" => true,
                _ => return None,
            };
            Some((decode_bytecode_list(&mut list[1..])?, persist))
        }
    };
    Some(BreakpointOptions { conds, cmds })
}

/// Checks that `list` is a series of `Xlen,bytes` items (`len` in hex, the
/// bytes as `2 * len` hex digits), optionally separated by `;`, and decodes
/// each item's bytes in place: the first `len` bytes after the comma become
/// the bytecode.  Returns the list as decoded, for [`next_bytecode`].
pub fn decode_bytecode_list(list: &mut [u8]) -> Option<&[u8]> {
    // first check everything, so that nothing is decoded from a bad list
    let mut i = 0;
    while i < list.len() {
        match list[i] {
            b';' => i += 1,
            b'X' => {
                let (len, digits) = parse_len(&list[i + 1..])?;
                let start = i + 1 + digits + 1;
                let end = start.checked_add(len.checked_mul(2)?)?;
                let hex = list.get(start..end)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                i = end;
            }
            _ => return None,
        }
    }
    let mut i = 0;
    while i < list.len() {
        if list[i] == b';' {
            i += 1;
            continue;
        }
        let (len, digits) = parse_len(&list[i + 1..])?;
        let start = i + 1 + digits + 1;
        decode_hex_buf(&mut list[start..start + 2 * len]).ok()?;
        i = start + 2 * len;
    }
    Some(list)
}

/// `len,` at the start of `s`: the length and how many hex digits it took.
fn parse_len(s: &[u8]) -> Option<(usize, usize)> {
    let digits = s.iter().position(|b| *b == b',')?;
    if digits == 0 || digits > 8 {
        return None;
    }
    let len = usize::from_str_radix(core::str::from_utf8(&s[..digits]).ok()?, 16).ok()?;
    Some((len, digits))
}

/// The next expression of a list [`decode_bytecode_list`] accepted, and the
/// rest of the list.
pub fn next_bytecode<'a>(list: &mut &'a [u8]) -> Option<&'a [u8]> {
    let mut s: &'a [u8] = list;
    while let [b';', rest @ ..] = s {
        s = rest;
    }
    if s.is_empty() {
        *list = s;
        return None;
    }
    // a list that was checked: 'X', the length, ',', the bytes, and as many
    // bytes of hex digits left over
    let (len, digits) = parse_len(&s[1..])?;
    let start = 1 + digits + 1;
    let code = &s[start..start + len];
    *list = &s[start + 2 * len..];
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &[u8]) -> Option<Vec<Vec<u8>>> {
        let mut buf = text.to_vec();
        let mut decoded = decode_bytecode_list(&mut buf)?;
        let mut out = Vec::new();
        while let Some(code) = next_bytecode(&mut decoded) {
            out.push(code.to_vec());
        }
        Some(out)
    }

    #[test]
    fn lists_as_gdb_sends_them() {
        assert_eq!(list(b"X3,260021X2,2227"), Some(vec![vec![0x26, 0x00, 0x21], vec![0x22, 0x27]]));
        assert_eq!(list(b"X3,260021;X2,2227"), Some(vec![vec![0x26, 0x00, 0x21], vec![0x22, 0x27]]));
        assert_eq!(list(b"Xa,00112233445566778899"), Some(vec![(0..10u8).map(|i| i * 0x11).collect()]));
        assert_eq!(list(b""), Some(vec![]));
        assert_eq!(list(b"X0,"), Some(vec![vec![]]));
    }

    #[test]
    fn malformed_lists() {
        for bad in [&b"X3,2600"[..], b"X3,26002127", b"X2,2g27", b"Y2,2227", b"X,2227", b"X2", b"X2;2227", b"X2,2227Z"] {
            assert_eq!(list(bad), None, "{}", core::str::from_utf8(bad).unwrap());
        }
    }

    #[test]
    fn options() {
        let mut buf = b"X2,2227;cmds:1,X3,220127".to_vec();
        let o = decode_options(&mut buf).unwrap();
        let (cmds, persist) = o.cmds.unwrap();
        assert!(persist);
        let mut c = cmds;
        assert_eq!(next_bytecode(&mut c), Some(&[0x22, 0x01, 0x27][..]));
        let mut buf = b"cmds:0,X1,27".to_vec();
        let o = decode_options(&mut buf).unwrap();
        assert!(o.conds.is_empty());
        assert!(!o.cmds.unwrap().1);
        assert!(decode_options(&mut b"cmds:2,X1,27".to_vec()).is_none());
    }
}
