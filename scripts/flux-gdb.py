# FLUX support for stock gdb (13 or newer).  Load it with one line:
#
#     (gdb) source scripts/flux-gdb.py
#
# - a disassembler for the i386 carrier architecture the stub serves, so
#   `x/i`, `display/i $pc`, `disassemble` and MI `-data-disassemble` show FLUX
#   instructions in exactly the text `flux-gdbstub disasm` prints;
# - `flux ...` commands: `flux why` is `monitor why`, and so on for every
#   monitor command (`flux help` lists them); unlike `monitor`, their output
#   shows in any console, a `new-ui` one included;
# - after a stop the stub caused (a stub-side breakpoint or watch condition,
#   a fault, BRK: gdb sees a signal), the stub's `monitor why` is printed.
#
# The opcode table is not copied here: it comes from the stub
# (`monitor isa json`), or, with no stub connected, from
# `flux-gdbstub isa` ($FLUX_GDBSTUB, else flux-gdbstub on PATH, else the
# build next to this script).  Both print the table runtime-c defines.

import json
import os
import shutil
import subprocess

import gdb
import gdb.disassembler

# Operand layout of each encoding mode: the mode's name spells it (R is a
# register byte, I8/I16/I32 a little-endian immediate).
_OPERAND_SIZES = {"R": 1, "I8": 1, "I16": 2, "I32": 4}


def _mode_operands(mode):
    """'RRI8' -> ['R', 'R', 'I8']; 'NONE' -> []."""
    out = []
    rest = "" if mode == "NONE" else mode
    while rest:
        for tok in ("I16", "I32", "I8", "R"):
            if rest.startswith(tok):
                out.append(tok)
                rest = rest[len(tok):]
                break
        else:
            raise ValueError("unknown operand mode %r" % mode)
    return out


class _Isa:
    """The opcode table, fetched once from the stub (or the CLI)."""

    def __init__(self):
        self.by_code = None

    def _from_json(self, text):
        table = {}
        for op in json.loads(text):
            table[op["code"]] = (op["mnemonic"], _mode_operands(op["mode"]))
        return table

    def _connected(self):
        try:
            conn = gdb.selected_inferior().connection
            return conn is not None and conn.type in ("remote", "extended-remote")
        except (AttributeError, gdb.error):
            return False

    def _cli(self):
        here = os.path.dirname(os.path.abspath(__file__))
        for cand in (
            os.environ.get("FLUX_GDBSTUB"),
            shutil.which("flux-gdbstub"),
            os.path.join(here, "..", "target", "release", "flux-gdbstub"),
            os.path.join(here, "..", "target", "debug", "flux-gdbstub"),
        ):
            if cand and os.access(cand, os.X_OK):
                return cand
        return None

    def table(self):
        if self.by_code is not None:
            return self.by_code
        text = None
        if self._connected():
            try:
                text = gdb.execute("monitor isa json", to_string=True)
            except gdb.error:
                text = None
        if not text or not text.lstrip().startswith("["):
            cli = self._cli()
            if cli:
                try:
                    text = subprocess.run([cli, "isa"], capture_output=True, text=True, timeout=30).stdout
                except (OSError, subprocess.SubprocessError):
                    text = None
        if text and text.lstrip().startswith("["):
            self.by_code = self._from_json(text.strip())
        return self.by_code


ISA = _Isa()


def format_instruction(mnemonic, kinds, values):
    """flux-gdbstub's listing text: the mnemonic in 14 columns (and at least
    one space after a longer one), operands joined by ', ', registers rN,
    immediates 0x%X."""
    if not kinds:
        return mnemonic
    ops = ", ".join(("r%d" % v) if k == "R" else ("0x%X" % v) for k, v in zip(kinds, values))
    head = "%-14s" % mnemonic
    if len(mnemonic) >= 14:
        head += " "
    return head + ops


def decode(read, table):
    """(length, text) of the instruction whose bytes `read(n)` returns;
    read raises gdb.MemoryError past the end of memory."""
    first = read(1)[0]
    entry = table.get(first)
    if entry is None:
        return 1, "DB 0x%02X" % first
    mnemonic, kinds = entry
    length = 1 + sum(_OPERAND_SIZES[k] for k in kinds)
    try:
        data = read(length)
    except gdb.MemoryError:
        # cut short by the end of memory: a data byte, as flux-disasm says
        return 1, "DB 0x%02X" % first
    values, at = [], 1
    for k in kinds:
        n = _OPERAND_SIZES[k]
        values.append(int.from_bytes(bytes(data[at:at + n]), "little"))
        at += n
    return length, format_instruction(mnemonic, kinds, values)


class FluxDisassembler(gdb.disassembler.Disassembler):
    def __init__(self):
        super().__init__("FLUX")

    def __call__(self, info):
        table = ISA.table()
        if table is None:
            return None  # no table yet: gdb's own disassembler
        def read(n):
            return bytes(info.read_memory(n, 0))
        length, text = decode(read, table)
        return gdb.disassembler.DisassemblerResult(length, text)


# The stub's target description says i386; so does `asm --elf`'s e_machine.
gdb.disassembler.register_disassembler(FluxDisassembler(), "i386")


class FluxCommand(gdb.Command):
    """Run a flux-gdbstub monitor command: `flux why` is `monitor why`.
`flux help` lists them all (disas, info, reset, break ... if, watch-if, trace, profile, ...)."""

    def __init__(self):
        super().__init__("flux", gdb.COMMAND_USER)
        self._words = None

    def invoke(self, arg, from_tty):
        # The reply is captured and printed, not left to gdb: gdb 13 sends a
        # stub's console output (`O` packets) to the main UI only, so in a
        # `new-ui` console (Vim's termdebug, gdbgui, IDEs) a plain `monitor`
        # prints nothing.  gdb.write goes to the UI that ran the command.
        out = gdb.execute("monitor " + (arg.strip() or "help"), from_tty, to_string=True)
        gdb.write(out)
        gdb.flush()

    def complete(self, text, word):
        if self._words is None and ISA._connected():
            try:
                out = gdb.execute("monitor help", to_string=True)
                self._words = sorted({l.split()[1] for l in out.splitlines() if l.strip().startswith("monitor ")})
            except gdb.error:
                return []
        if " " in text.strip() or self._words is None:
            return gdb.COMPLETE_NONE
        return [w for w in self._words if w.startswith(word or "")]


FluxCommand()


def _on_stop(event):
    # The stub's own stops (stub-side breakpoints and watch conditions, BRK,
    # faults) reach gdb as SIGTRAP or a fault's signal, which gdb reports as
    # a plain stop, like the end of a step: `monitor why stub` answers only
    # for a stop the stub caused.  gdb's own breakpoints need no words.
    if isinstance(event, gdb.BreakpointEvent) or not ISA._connected():
        return
    try:
        why = gdb.execute("monitor why stub", to_string=True).strip()
    except gdb.error:
        return
    if why:
        gdb.write("flux: %s\n" % why)


gdb.events.stop.connect(_on_stop)
