//! The one name of a function, wherever it is shown: gdb's `bt` (the ELF's
//! symbols and DWARF), `profile report`, speedscope files and CodeTracer
//! traces all ask here.
//!
//! A function is the program's entry (address 0) or a CALL target.  Its name
//! is the label there (the first in name order when there are several); an
//! entry without a label is `main`; any other function without a label is
//! `fn_0x` and its address in four hex digits (`fn_0x000C`): the `0x` says
//! the digits are hexadecimal, and the name is still an identifier gdb takes
//! (`break fn_0x000C`).
use crate::program::asm::Assembled;

/// The name of an entry without a label.
pub const ENTRY_NAME: &str = "main";

/// The name of the function that starts at `entry`, given its label, if any.
pub fn function_name(label: Option<&str>, entry: u32) -> String {
    match label {
        Some(l) => l.to_string(),
        None if entry == 0 => ENTRY_NAME.to_string(),
        None => format!("fn_0x{entry:04X}"),
    }
}

/// [`function_name`] with the label from an assembled program (none for a
/// program without source).
pub fn function_name_in(assembled: Option<&Assembled>, entry: u32) -> String {
    function_name(assembled.and_then(|a| a.label_at(entry)), entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_win_then_main_then_the_address() {
        assert_eq!(function_name(Some("fib"), 0x0C), "fib");
        assert_eq!(function_name(Some("start"), 0), "start");
        assert_eq!(function_name(None, 0), "main");
        assert_eq!(function_name(None, 0x0C), "fn_0x000C");
        assert_eq!(function_name(None, 0x1234), "fn_0x1234");
    }
}
