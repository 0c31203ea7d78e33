// Drives `flux-gdbstub dap` with Microsoft's DAP test client
// (@vscode/debugadapter-testsupport).  Run by tests/dap.rs, which builds
// the adapter and passes its path in FLUX_GDBSTUB.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const cp = require('node:child_process');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

const BIN = process.env.FLUX_GDBSTUB;
if (!BIN) throw new Error('FLUX_GDBSTUB must name the flux-gdbstub binary');
const REPO = path.resolve(__dirname, '..', '..');
const FIB = path.join(REPO, 'examples', 'fibonacci.fasm');
const TIMEOUT = 60000;

function client() {
  const dc = new DebugClient(BIN, 'dap', 'flux');
  dc.defaultTimeout = TIMEOUT;
  return dc;
}

function tmpProgram(name, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-dap-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function launched(dc, args, setup) {
  await dc.start();
  const init = await dc.initializeRequest({ adapterID: 'flux', linesStartAt1: true, columnsStartAt1: true });
  await Promise.all([dc.waitForEvent('initialized'), dc.launchRequest(args)]);
  if (setup) await setup();
  return init;
}

async function stopped(dc, reason) {
  const e = await dc.waitForEvent('stopped');
  assert.equal(e.body.reason, reason, JSON.stringify(e.body));
  return e.body;
}

async function frames(dc, threadId) {
  const r = await dc.stackTraceRequest({ threadId });
  return r.body.stackFrames.map((f) => [f.name, f.line]);
}

async function registers(dc, threadId) {
  const st = await dc.stackTraceRequest({ threadId });
  const sc = await dc.scopesRequest({ frameId: st.body.stackFrames[0].id });
  const byName = Object.fromEntries(sc.body.scopes.map((s) => [s.name, s.variablesReference]));
  const regs = await dc.variablesRequest({ variablesReference: byName.Registers });
  return { scopes: byName, regs: Object.fromEntries(regs.body.variables.map((v) => [v.name, v])) };
}

async function evaluate(dc, expression, context = 'watch') {
  return (await dc.evaluateRequest({ expression, context })).body.result;
}

test('recursive fib at source level: stack, variables, steps both ways, data breakpoint, disassembly, set, exit', async () => {
  const dc = client();
  try {
    const init = await launched(dc, { program: FIB });
    assert.equal(init.body.supportsStepBack, true);
    assert.equal(init.body.supportsDataBreakpoints, true);
    const bp = await dc.setBreakpointsRequest({ source: { path: FIB }, breakpoints: [{ line: 10 }] });
    assert.deepEqual(bp.body.breakpoints.map((b) => [b.verified, b.line]), [[true, 10]]);
    const first = stopped(dc, 'breakpoint');
    await dc.configurationDoneRequest();
    const hit = await first;
    assert.deepEqual(hit.hitBreakpointIds, [bp.body.breakpoints[0].id]);
    const t = hit.threadId;
    assert.equal(await evaluate(dc, 'r1'), '20');
    // the second (recursive) hit
    await Promise.all([dc.continueRequest({ threadId: t }), stopped(dc, 'breakpoint')]);
    assert.deepEqual(await frames(dc, t), [['fib', 10], ['fib', 14], ['start', 6]]);
    const st = await dc.stackTraceRequest({ threadId: t });
    assert.equal(st.body.stackFrames[0].source.path, FIB);
    assert.deepEqual(st.body.stackFrames.map((f) => f.instructionPointerReference), ['0x000C', '0x001B', '0x0009']);
    // variables
    const { scopes, regs } = await registers(dc, t);
    assert.deepEqual(Object.keys(scopes), ['Registers', 'Stack', 'Agent']);
    assert.equal(regs.r1.value, '19');
    assert.equal(regs.conf1.value, '1');
    assert.equal(regs.pc.value, '0x000C');
    assert.equal(regs.sp.value, '0xFFF4');
    assert.equal(regs.energy.value, '999999993'); // 7 instructions of 1 each
    const stack = await dc.variablesRequest({ variablesReference: scopes.Stack });
    assert.deepEqual(stack.body.variables.map((v) => [v.name, v.value]), [['0xFFF4', '27'], ['0xFFF8', '20'], ['0xFFFC', '9']]);
    const flags = await dc.variablesRequest({ variablesReference: regs.flags.variablesReference });
    assert.deepEqual(flags.body.variables.map((v) => v.name), ['Z', 'S', 'C', 'O']);
    // evaluate: registers, memory, conditions
    assert.equal(await evaluate(dc, 'mem32[0xFFF8]'), '20');
    assert.equal(await evaluate(dc, '$r1', 'hover'), '19');
    assert.equal(await evaluate(dc, 'r1 == 19'), '1');
    assert.equal(await evaluate(dc, 'r1 == 10'), '0');
    assert.match(await evaluate(dc, 'monitor why', 'repl'), /^breakpoint 1 at 0x000C/);
    // step over, step in, step out (the line breakpoint off: a step out stops at breakpoints)
    await dc.setBreakpointsRequest({ source: { path: FIB }, breakpoints: [] });
    for (const line of [11, 12, 13, 14]) {
      await Promise.all([dc.nextRequest({ threadId: t }), stopped(dc, 'step')]);
      assert.deepEqual((await frames(dc, t))[0], ['fib', line]);
    }
    await Promise.all([dc.stepInRequest({ threadId: t }), stopped(dc, 'step')]);
    assert.deepEqual(await frames(dc, t), [['fib', 10], ['fib', 14], ['fib', 14], ['start', 6]]);
    await Promise.all([dc.stepOutRequest({ threadId: t }), stopped(dc, 'step')]);
    assert.deepEqual(await frames(dc, t), [['fib', 15], ['fib', 14], ['start', 6]]);
    assert.equal(await evaluate(dc, 'r0'), '2584');
    for (const line of [16, 17, 18, 19]) {
      await Promise.all([dc.nextRequest({ threadId: t, granularity: 'line' }), stopped(dc, 'step')]);
      assert.deepEqual((await frames(dc, t))[0], ['fib', line]);
    }
    assert.equal(await evaluate(dc, 'r0'), '1597');
    // step back over the call, then to the line before
    await Promise.all([dc.stepBackRequest({ threadId: t }), stopped(dc, 'step')]);
    assert.deepEqual(await frames(dc, t), [['fib', 18], ['fib', 14], ['start', 6]]);
    assert.equal(await evaluate(dc, 'r0'), '2584');
    await Promise.all([dc.stepBackRequest({ threadId: t, granularity: 'instruction' }), stopped(dc, 'step')]);
    assert.deepEqual((await frames(dc, t))[0], ['fib', 17]);
    assert.equal(await evaluate(dc, 'r1'), '19');
    // reverse-continue to the previous hit of line 10: the last fib entered
    // before now, fib(0) at the end of fib(18)'s calls
    await dc.setBreakpointsRequest({ source: { path: FIB }, breakpoints: [{ line: 10 }] });
    await Promise.all([dc.reverseContinueRequest({ threadId: t }), stopped(dc, 'breakpoint')]);
    assert.equal(await evaluate(dc, 'r1'), '0');
    assert.equal((await dc.stackTraceRequest({ threadId: t })).body.totalFrames, 13);
    await dc.setBreakpointsRequest({ source: { path: FIB }, breakpoints: [] });
    // a data breakpoint on the stack word fib(20) keeps n in: the next write
    // is fib(20)'s PUSH_R r0 of fib(19) = 4181
    const info = await dc.dataBreakpointInfoRequest({ variablesReference: scopes.Stack, name: '0xFFF8' });
    assert.equal(info.body.dataId, '0xFFF8/4');
    const dbp = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId, accessType: 'write' }] });
    assert.equal(dbp.body.breakpoints[0].verified, true);
    const [, data] = await Promise.all([dc.continueRequest({ threadId: t }), stopped(dc, 'data breakpoint')]);
    assert.deepEqual(data.hitBreakpointIds, [dbp.body.breakpoints[0].id]);
    assert.equal(await evaluate(dc, 'mem32[0xFFF8]'), '4181');
    assert.deepEqual(await frames(dc, t), [['fib', 17], ['start', 6]]);
    await dc.setDataBreakpointsRequest({ breakpoints: [] });
    // disassemble at pc
    const dis = await dc.disassembleRequest({ memoryReference: '0x001F', instructionCount: 3, resolveSymbols: true });
    assert.deepEqual(
      dis.body.instructions.map((i) => [i.address, i.instruction, i.symbol, i.line]),
      [['0x001F', 'SUBI          r1, 0x2', 'fib+19', 17], ['0x0023', 'CALL          0xC', 'fib+23', 18], ['0x0026', 'POP_R         r2', 'fib+26', 19]],
    );
    const back = await dc.disassembleRequest({ memoryReference: '0x001F', instructionOffset: -1, instructionCount: 1 });
    assert.equal(back.body.instructions[0].address, '0x001D');
    // memory both ways
    const mem = await dc.customRequest('readMemory', { memoryReference: '0xFFF8', count: 4 });
    assert.equal(Buffer.from(mem.body.data, 'base64').readInt32LE(0), 4181);
    const edge = await dc.customRequest('readMemory', { memoryReference: '0xFFFE', count: 4 });
    assert.deepEqual([edge.body.address, edge.body.unreadableBytes], ['0xFFFE', 2]);
    const word = Buffer.alloc(4);
    word.writeInt32LE(4180);
    const wrote = await dc.customRequest('writeMemory', { memoryReference: '0xFFF8', data: word.toString('base64') });
    assert.equal(wrote.body.bytesWritten, 4);
    assert.equal(await evaluate(dc, 'mem32[0xFFF8]'), '4180');
    word.writeInt32LE(4181);
    await dc.customRequest('writeMemory', { memoryReference: '0xFFF8', data: word.toString('base64') });
    // set a register: fib(20) now adds fib(3) = 2 instead of fib(18)
    const set = await dc.setVariableRequest({ variablesReference: scopes.Registers, name: 'r1', value: '5' });
    assert.equal(set.body.value, '5');
    assert.equal(await evaluate(dc, 'r1'), '5');
    const out = dc.assertOutput('stdout', '4183\n');
    const exited = dc.waitForEvent('exited');
    const terminated = dc.waitForEvent('terminated');
    await dc.continueRequest({ threadId: t });
    await out;
    assert.equal((await exited).body.exitCode, 4183 & 0xff);
    await terminated;
  } finally {
    await dc.stop();
  }
});

test('conditions, hit counts and log points', async () => {
  const prog = tmpProgram('fib5.fasm', fs.readFileSync(FIB, 'utf8').replace('LOAD_IMM  r1, 20', 'LOAD_IMM  r1, 5'));
  const dc = client();
  try {
    await launched(dc, { program: prog });
    const bps = await dc.setBreakpointsRequest({
      source: { path: prog },
      breakpoints: [{ line: 10, condition: 'r1 == 1', hitCondition: '2' }, { line: 22, logMessage: 'small n={r1} conf={conf1}' }, { line: 11, condition: 'r1 =' }],
    });
    assert.deepEqual(bps.body.breakpoints.map((b) => b.verified), [true, true, false]);
    assert.match(bps.body.breakpoints[2].message, /^condition "r1 =": /);
    const logs = [];
    dc.on('output', (e) => { if (e.body.category === 'console') logs.push(e.body.output); });
    const hit = stopped(dc, 'breakpoint');
    await dc.configurationDoneRequest();
    await hit;
    // fib(5): calls with n = 5 4 3 2 1 0 1 2 1 0 3 2 1 0 1: the second n == 1 is the 5th call
    assert.equal(await evaluate(dc, 'r1'), '1');
    assert.deepEqual(logs, ['small n=1 conf=1\n', 'small n=0 conf=1\n']);
    await Promise.all([dc.continueRequest({}), stopped(dc, 'breakpoint')]);
    assert.equal(logs.length, 3);
  } finally {
    await dc.stop();
  }
});

test('a fault stops as an exception with its signal; going on ends the program with it', async () => {
  const prog = tmpProgram('div.fasm', 'start: LOAD_IMM r1, 7\n LOAD_IMM r2, 0\n CDIV r3, r1, r2\n HALT\n');
  const dc = client();
  try {
    const init = await launched(dc, { program: prog }, async () => {
      await dc.setExceptionBreakpointsRequest({ filters: ['SIGFPE'] });
    });
    assert.deepEqual(init.body.exceptionBreakpointFilters.map((f) => f.filter), ['SIGILL', 'SIGSEGV', 'SIGFPE', 'SIGABRT', 'SIGXCPU', 'apoptosis', 'trust']);
    const ex = stopped(dc, 'exception');
    await dc.configurationDoneRequest();
    const body = await ex;
    assert.equal(body.text, 'SIGFPE');
    const info = await dc.exceptionInfoRequest({ threadId: body.threadId });
    assert.equal(info.body.exceptionId, 'SIGFPE');
    assert.match(info.body.description, /^SIGFPE at 0x000C: CDIV +r3, r1, r2: division by zero/);
    assert.deepEqual(await frames(dc, body.threadId), [['start', 3]]);
    const exited = dc.waitForEvent('exited');
    await dc.continueRequest({ threadId: body.threadId });
    assert.equal((await exited).body.exitCode, 128 + 8);
  } finally {
    await dc.stop();
  }
});

test('agents are threads', async () => {
  const prog = path.join(REPO, 'examples', 'fizzbuzz_race.fasm');
  const dc = client();
  try {
    await launched(dc, { program: prog }, async () => {
      const r = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'buzz' }] });
      assert.deepEqual(r.body.breakpoints.map((b) => [b.verified, b.line]), [[true, 39]]);
    });
    const hit = stopped(dc, 'function breakpoint');
    await dc.configurationDoneRequest();
    const body = await hit;
    assert.equal(body.threadId, 2);
    const threads = await dc.threadsRequest();
    assert.deepEqual(threads.body.threads.map((th) => [th.id, th.name]), [[1, 'agent 1 (blocked on JOIN 2)'], [2, 'agent 2 (running)']]);
    // SPAWN's target is no CALL target: as in gdb's bt, it is inside start
    assert.deepEqual(await frames(dc, 2), [['start', 39]]);
  } finally {
    await dc.stop();
  }
});

test('raw bytecode is debugged on its disassembly; goto an instruction of the history', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-dap-'));
  const bin = path.join(dir, 'fib.bin');
  cp.execFileSync(BIN, ['asm', FIB, '-o', bin]);
  const dc = client();
  try {
    await launched(dc, { program: bin, stopOnEntry: true });
    const entry = stopped(dc, 'entry');
    await dc.configurationDoneRequest();
    const t = (await entry).threadId;
    const st = await dc.stackTraceRequest({ threadId: t });
    assert.deepEqual(st.body.stackFrames[0].source, { name: 'fib.bin (disassembly)', sourceReference: 1, presentationHint: 'deemphasize' });
    const src = await dc.sourceRequest({ sourceReference: 1 });
    const lines = src.body.content.split('\n');
    assert.equal(lines[0], '; flux-disasm: 49 bytes');
    assert.equal(lines[5], '  000C: CMP_I16       r1, 0x2');
    // line 6 of the listing is 0x000C, fib's entry (named as gdb names it: fn_0x000C)
    const bp = await dc.setBreakpointsRequest({ source: { sourceReference: 1 }, breakpoints: [{ line: 6 }] });
    assert.equal(bp.body.breakpoints[0].verified, true);
    await Promise.all([dc.continueRequest({ threadId: t }), stopped(dc, 'breakpoint')]);
    assert.deepEqual(await frames(dc, t), [['fn_0x000C', 6], ['main', 3]]);
    // back to instruction 1 of the history (after LOAD_IMM)
    const [g] = await Promise.all([dc.customRequest('fluxGoto', { index: 1 }), stopped(dc, 'goto')]);
    assert.match(g.body.message, /^at instruction 1, pc=0x0006/);
    assert.deepEqual(await frames(dc, t), [['main', 3]]);
    await assert.rejects(dc.customRequest('fluxGoto', { index: 999999 }), /past the end of the history/);
  } finally {
    await dc.stop();
  }
});

const LOOP = 'start: LOAD_IMM r1, 0\nagain: INCR r1\n       JMP again\n';

test('pause, instruction breakpoints, goto the last time a line ran, restart, terminate', async () => {
  const prog = tmpProgram('loop.fasm', LOOP);
  const dc = client();
  try {
    await launched(dc, { program: prog });
    await dc.configurationDoneRequest();
    // it loops until paused
    const [, paused] = await Promise.all([dc.pauseRequest({ threadId: 1 }), stopped(dc, 'pause')]);
    assert.equal(paused.threadId, 1);
    const bp = await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: '0x0006' }] });
    assert.deepEqual(bp.body.breakpoints.map((b) => [b.verified, b.line]), [[true, 2]]);
    await Promise.all([dc.continueRequest({ threadId: 1 }), stopped(dc, 'instruction breakpoint')]);
    const r1 = Number(await evaluate(dc, 'r1'));
    await Promise.all([dc.continueRequest({ threadId: 1 }), stopped(dc, 'instruction breakpoint')]);
    assert.equal(Number(await evaluate(dc, 'r1')), r1 + 1);
    // back to the last time line 3 (JMP) ran: after the INCR of the round before this one
    const targets = await dc.gotoTargetsRequest({ source: { path: prog }, line: 3 });
    assert.deepEqual(targets.body.targets.map((t) => [t.id, t.line]), [[8, 3]]);
    await Promise.all([dc.gotoRequest({ threadId: 1, targetId: 8 }), stopped(dc, 'goto')]);
    assert.deepEqual([await evaluate(dc, 'pc'), Number(await evaluate(dc, 'r1'))], ['0x0008', r1 + 1]);
    // restart: breakpoints stay, the run starts over
    await Promise.all([dc.customRequest('restart', {}), stopped(dc, 'instruction breakpoint')]);
    assert.equal(await evaluate(dc, 'r1'), '0');
    const terminated = dc.waitForEvent('terminated');
    await dc.terminateRequest({});
    await terminated;
  } finally {
    await dc.stop();
  }
});

test('the apoptosis warning and energy exhaustion stop as exceptions; flags and confidences are set', async () => {
  const prog = tmpProgram('loop.fasm', LOOP);
  const dc = client();
  try {
    await launched(dc, { program: prog, energy: 1000, apoptosisWarn: 500 });
    const warn = stopped(dc, 'exception');
    await dc.configurationDoneRequest();
    const body = await warn;
    assert.equal(body.text, 'apoptosis');
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    assert.equal(info.body.exceptionId, 'apoptosis');
    assert.equal(await evaluate(dc, 'energy'), '499');
    const { scopes, regs } = await registers(dc, 1);
    await dc.setVariableRequest({ variablesReference: regs.flags.variablesReference, name: 'C', value: '1' });
    assert.equal(await evaluate(dc, 'flags'), 'C');
    const conf = await dc.setVariableRequest({ variablesReference: scopes.Registers, name: 'conf2', value: '0.25' });
    assert.equal(conf.body.value, '0.25');
    assert.equal(await evaluate(dc, 'conf2 < 0.5'), '1');
    await assert.rejects(dc.setVariableRequest({ variablesReference: scopes.Registers, name: 'conf2', value: '2' }), { message: 'a confidence is in [0, 1], not 2' });
    // a data breakpoint by address: nothing in the loop touches memory
    const byAddr = await dc.dataBreakpointInfoRequest({ name: '0x8000', asAddress: true, bytes: 2 });
    assert.equal(byAddr.body.dataId, '0x8000/2');
    const ex = stopped(dc, 'exception');
    await dc.continueRequest({ threadId: 1 });
    const xcpu = await ex;
    assert.equal(xcpu.text, 'SIGXCPU');
    const exited = dc.waitForEvent('exited');
    await dc.continueRequest({ threadId: 1 });
    assert.equal((await exited).body.exitCode, 128 + 24);
  } finally {
    await dc.stop();
  }
});

test('bad input: unknown requests and bad programs get failure responses', async () => {
  const dc = client();
  try {
    await dc.start();
    await dc.initializeRequest({ adapterID: 'flux' });
    await assert.rejects(dc.customRequest('frobnicate', {}), { message: "unknown request 'frobnicate'" });
    await assert.rejects(dc.launchRequest({ program: '/nonexistent/prog.fasm' }), { message: '/nonexistent/prog.fasm: No such file or directory (os error 2)' });
    await assert.rejects(dc.launchRequest({}), /^Error: launch: no program/);
    await assert.rejects(dc.launchRequest({ program: FIB, sched: 'fifo' }), { message: 'launch: sched "fifo": expected round-robin or chaos' });
    await assert.rejects(dc.stackTraceRequest({ threadId: 1 }), { message: 'no program: launch one first' });
    // and it still serves
    await Promise.all([dc.waitForEvent('initialized'), dc.launchRequest({ program: FIB, stopOnEntry: true })]);
  } finally {
    await dc.stop();
  }
});

test('dap --listen serves clients over TCP, one after another', async () => {
  const server = cp.spawn(BIN, ['dap', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const port = await new Promise((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`no listening line: ${err}`)), TIMEOUT);
      server.stderr.on('data', (d) => {
        err += d;
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
    });
    for (let k = 0; k < 2; k++) {
      const dc = new DebugClient('unused', 'unused', 'flux');
      dc.defaultTimeout = TIMEOUT;
      await dc.start(port);
      await dc.initializeRequest({ adapterID: 'flux' });
      await Promise.all([dc.waitForEvent('initialized'), dc.launchRequest({ program: FIB })]);
      const exited = dc.waitForEvent('exited');
      await dc.configurationDoneRequest();
      assert.equal((await exited).body.exitCode, 109);
      await dc.stop();
    }
  } finally {
    server.kill();
  }
});

// fib(5): 15 calls, few enough for the REPL to list them all
const FIB5 = fs.readFileSync(FIB, 'utf8').replace('LOAD_IMM  r1, 20', 'LOAD_IMM  r1, 5');

test('the REPL runs the history queries; fluxGoto reaches the indices they list; goto and reset in the REPL refresh', async () => {
  const prog = tmpProgram('fib5.fasm', FIB5);
  const dc = client();
  try {
    await launched(dc, { program: prog }, async () => {
      await dc.setBreakpointsRequest({ source: { path: prog }, breakpoints: [{ line: 7 }] });
    });
    const hit = stopped(dc, 'breakpoint');
    await dc.configurationDoneRequest();
    const t = (await hit).threadId;
    assert.equal(await evaluate(dc, 'r0'), '5');
    // each call: #CALL-index fib from the CALL's pc, its r1 -> #RET-index, r0
    const calls = (await evaluate(dc, 'monitor calls fib', 'repl')).split('\n');
    assert.equal(calls.length, 16);
    assert.equal(calls[0], '#1 fib from 0x0006 r1=5 -> #117 r0=5 [agent 1]');
    assert.equal(calls[15], '15 calls');
    const fib3 = calls.filter((l) => / r1=3 /.test(l));
    assert.deepEqual(fib3, ['#11 fib from 0x0018 r1=3 -> #47 r0=2 [agent 1]', '#78 fib from 0x0023 r1=3 -> #114 r0=2 [agent 1]']);
    // the second fib(3): fib(5)'s second CALL (line 18); index 78 is at the
    // CALL, 79 at the callee's first line
    const [g] = await Promise.all([dc.customRequest('fluxGoto', { index: 79 }), stopped(dc, 'goto')]);
    assert.match(g.body.message, /^at instruction 79, pc=0x000C/);
    assert.deepEqual(await frames(dc, t), [['fib', 10], ['fib', 18], ['start', 6]]);
    const { regs } = await registers(dc, t);
    assert.equal(regs.r1.value, '3');
    assert.match(await evaluate(dc, 'monitor when', 'repl'), /^instruction 79 of 0\.\.\d+ \(pc=0x000C\)$/);
    await Promise.all([dc.customRequest('fluxGoto', { index: 78 }), stopped(dc, 'goto')]);
    assert.deepEqual(await frames(dc, t), [['fib', 18], ['start', 6]]);
    assert.deepEqual([await evaluate(dc, 'pc'), await evaluate(dc, 'r1')], ['0x0023', '3']);
    // and the RET's index: at fib(3)'s RET, r0 = 2
    await Promise.all([dc.customRequest('fluxGoto', { index: 114 }), stopped(dc, 'goto')]);
    assert.deepEqual(await frames(dc, t), [['fib', 21], ['fib', 18], ['start', 6]]);
    assert.equal(await evaluate(dc, 'r0'), '2');
    // `monitor goto N` in the REPL moves too, and the client hears of it
    const [answer, moved] = await Promise.all([evaluate(dc, 'monitor goto 1', 'repl'), stopped(dc, 'goto')]);
    assert.match(answer, /^at instruction 1, pc=0x0006/);
    assert.equal(moved.description, answer);
    assert.deepEqual(await frames(dc, t), [['start', 6]]);
    assert.equal(await evaluate(dc, 'r1'), '5');
    // a query that moves nothing sends no stop; reset starts over at the entry
    assert.match(await evaluate(dc, 'monitor origin r1', 'repl'), /LOAD_IMM r1, 0x5: r1 = 5 \[agent 1\]: origin$/);
    const [reset] = await Promise.all([evaluate(dc, 'flux reset', 'repl'), stopped(dc, 'entry')]);
    assert.match(reset, /^reset: pc=0x0000 sp=0x[0-9A-F]+ energy=\d+$/);
    assert.deepEqual(await frames(dc, t), [['start', 5]]);
    await Promise.all([dc.continueRequest({ threadId: t }), stopped(dc, 'breakpoint')]);
    assert.equal(await evaluate(dc, 'r0'), '5');
  } finally {
    await dc.stop();
  }
});

const MEM = [
  'start:  LOAD_IMM r1, 7',
  '        STORE32  r1, 0x8000',
  '        LOAD32   r2, 0x8000',
  '        STORE32  r2, 0x8004',
  '        LOAD32   r3, 0x8000',
  '        HALT',
  '',
].join('\n');

test('data breakpoints by address (asAddress): read and readWrite stop after the access', async () => {
  const prog = tmpProgram('mem.fasm', MEM);
  for (const [accessType, name, stops] of [
    ['read', '0x8000', [['read', '0x000E', 4, 'r2', '7'], ['read', '0x0016', 6, 'r3', '7']]],
    ['readWrite', 'mem32[0x8000]', [['write', '0x000A', 3, 'mem32[0x8000]', '7'], ['read', '0x000E', 4, 'r2', '7'], ['read', '0x0016', 6, 'r3', '7']]],
  ]) {
    const dc = client();
    try {
      let id;
      await launched(dc, { program: prog }, async () => {
        const info = await dc.dataBreakpointInfoRequest({ name, asAddress: true });
        assert.equal(info.body.dataId, '0x8000/4');
        const r = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId, accessType }] });
        assert.equal(r.body.breakpoints[0].verified, true);
        id = r.body.breakpoints[0].id;
      });
      let next = stopped(dc, 'data breakpoint');
      await dc.configurationDoneRequest();
      for (const [access, pc, line, what, value] of stops) {
        const body = await next;
        assert.deepEqual(body.hitBreakpointIds, [id]);
        assert.match(body.description, new RegExp(`^watchpoint: ${access} of 0x8000; stopped after the instruction, now at ${pc}`));
        assert.deepEqual(await frames(dc, body.threadId), [['start', line]]);
        assert.equal(await evaluate(dc, what), value);
        next = line === 6 ? dc.waitForEvent('exited') : stopped(dc, 'data breakpoint');
        await dc.continueRequest({ threadId: body.threadId });
      }
      assert.equal((await next).body.exitCode, 0);
    } finally {
      await dc.stop();
    }
  }
});

const TRUST = [
  '        LOAD_IMM    r5, 3',
  '        TRUST_SET   r5, 30',
  '        TRUST_CHECK r6, r5      ; fails: 0.30 < 0.50',
  '        TRUST_SET   r5, 80',
  '        TRUST_CHECK r6, r5      ; passes',
  '        LOAD_IMM    r7, 4',
  '        TRUST_CHECK r6, r7      ; fails: agent 4 has no trust',
  '        HALT',
  '',
].join('\n');

test('the trust filter stops after each failing TRUST_CHECK; off, the program runs through', async () => {
  const prog = tmpProgram('trust.fasm', TRUST);
  const dc = client();
  try {
    await launched(dc, { program: prog }, async () => {
      await dc.setExceptionBreakpointsRequest({ filters: ['trust'] });
    });
    let next = stopped(dc, 'exception');
    await dc.configurationDoneRequest();
    const first = await next;
    assert.equal(first.text, 'trust');
    assert.equal(first.description, 'trust check failed at 0x000A: agent 3 has trust 0.30 < threshold 0.50; now at 0x000D: TRUST_SET     r5, 0x50');
    const info = await dc.exceptionInfoRequest({ threadId: first.threadId });
    assert.deepEqual([info.body.exceptionId, info.body.description], ['trust', first.description]);
    assert.deepEqual(await frames(dc, first.threadId), [['main', 4]]);
    next = stopped(dc, 'exception');
    await dc.continueRequest({ threadId: first.threadId });
    const second = await next;
    assert.match(second.description, /^trust check failed at 0x001A: agent 4 has trust 0\.00 < threshold 0\.50; now at 0x001D: HALT$/);
    const { scopes } = await registers(dc, second.threadId);
    const agent = await dc.variablesRequest({ variablesReference: scopes.Agent });
    const log = agent.body.variables.find((v) => v.name === 'trust log');
    assert.equal(log.value, '3 checks');
    const checks = await dc.variablesRequest({ variablesReference: log.variablesReference });
    assert.deepEqual(checks.body.variables.map((v) => v.value.split(':')[0]), ['failed at 0x000A', 'passed at 0x0011', 'failed at 0x001A']);
    const exited = dc.waitForEvent('exited');
    await dc.continueRequest({ threadId: first.threadId });
    assert.equal((await exited).body.exitCode, 0);
  } finally {
    await dc.stop();
  }
  // the filter is off by default
  const quiet = client();
  try {
    await launched(quiet, { program: prog });
    const exited = quiet.waitForEvent('exited');
    await quiet.configurationDoneRequest();
    assert.equal((await exited).body.exitCode, 0);
  } finally {
    await quiet.stop();
  }
});

const RACE = path.join(REPO, 'examples', 'fizzbuzz_race.fasm');

/** The program's stdout under a chaos schedule with `seed`, run to its end. */
async function chaosOutput(seed) {
  const dc = client();
  try {
    const out = [];
    dc.on('output', (e) => {
      if (e.body.category === 'stdout') out.push(e.body.output);
    });
    await launched(dc, { program: RACE, sched: 'chaos', seed });
    const [exited, terminated] = [dc.waitForEvent('exited'), dc.waitForEvent('terminated')];
    await dc.configurationDoneRequest();
    assert.equal((await exited).body.exitCode, 0);
    await terminated;
    return out.join('').split(/\s+/).filter(Boolean).join(' ');
  } finally {
    await dc.stop();
  }
}

test('seed picks a chaos interleaving: the same seed the same output, another seed another', async () => {
  // the interleavings of `run --sched chaos --seed 5` and `--seed 1` (tests/agents.rs)
  const five = '1 2 -3 4 -3 7 8 -3 11 -3 13 -5 -5 14 -3 16 17 -3 19 -3 22 23 -3 26 -3 28 29 -3 -5 -5 -5 -5';
  const one = '1 2 -3 4 -3 -5 7 8 -3 11 -3 13 14 -3 16 17 -3 19 -3 22 23 -3 26 -3 28 29 -3 -5 -5 -5 -5 -5';
  assert.equal(await chaosOutput(5), five);
  assert.equal(await chaosOutput(5), five);
  assert.equal(await chaosOutput(1), one);
});

const MAILBOX = [
  'start:  SPAWN    worker',
  '        LOAD_IMM r1, 42',
  '        TELL     r0, r1',
  '        LOAD_IMM r1, 43',
  '        TELL     r0, r1',
  '        NOP',
  '        HALT',
  'worker: NOP',
  '        HALT',
  '',
].join('\n');

test('the Agent scope: state, mailbox with its messages, trust log', async () => {
  const prog = tmpProgram('mailbox.fasm', MAILBOX);
  const dc = client();
  try {
    await launched(dc, { program: prog }, async () => {
      await dc.setBreakpointsRequest({ source: { path: prog }, breakpoints: [{ line: 6 }] });
    });
    const hit = stopped(dc, 'breakpoint');
    await dc.configurationDoneRequest();
    assert.equal((await hit).threadId, 1);
    const agentScope = async (threadId) => {
      const { scopes } = await registers(dc, threadId);
      const r = await dc.variablesRequest({ variablesReference: scopes.Agent });
      return Object.fromEntries(r.body.variables.map((v) => [v.name, v]));
    };
    const one = await agentScope(1);
    assert.deepEqual([one.id.value, one.state.value, one.pc.value, one.mailbox.value, one.mailbox.variablesReference], ['1', 'running', '0x0015', '0 messages', 0]);
    assert.equal(one['trust log'].value, '0 checks');
    const two = await agentScope(2);
    assert.deepEqual([two.id.value, two.state.value, two.pc.value, two.mailbox.value], ['2', 'running', '0x0017', '2 messages']);
    const msgs = await dc.variablesRequest({ variablesReference: two.mailbox.variablesReference });
    assert.deepEqual(msgs.body.variables.map((v) => [v.name, v.value]), [['[0]', '42 (conf 1) from agent 1'], ['[1]', '43 (conf 1) from agent 1']]);
  } finally {
    await dc.stop();
  }
});
