//! The run database: `flux-gdbstub collect` and `query` on real programs,
//! the tables checked by SQL against what `run` says, bad inputs refused
//! with one line, `compare` of two interleavings of the race example.
mod common;

use common::*;
use rusqlite::Connection;

/// fib(10) in the layout of examples/fibonacci.fasm.
const FIB10: &str = "start:  LOAD_IMM  r1, 10
        CALL      fib
        DBG_PRINT r0
        HALT
fib:    CMP_I16   r1, 2
        JL        r1, small
        PUSH_R    r1
        DECR      r1
        CALL      fib
        POP_R     r1
        PUSH_R    r0
        SUBI      r1, 2
        CALL      fib
        POP_R     r2
        CADD      r0, r0, r2
        RET
small:  MOV       r0, r1
        RET
";

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

fn one<T: rusqlite::types::FromSql>(db: &std::path::Path, sql: &str) -> T {
    let c = Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn collect_fib10_and_check_the_tables_against_run() {
    let (dir, prog) = program("fib10.fasm", FIB10);
    let db = dir.path().join("runs.db");
    let (run_code, run_out, _) = flux(&["run", s(&prog)]);
    assert_eq!((run_code, run_out.as_str()), (55, "55\n"));
    let (code, out, err) = flux(&["collect", s(&prog), "--db", s(&db)]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "run 1: exited with code 55 after 1416 instructions; 593 rows in 7 layers\n");

    // the run row
    assert_eq!(one::<String>(&db, "SELECT outcome FROM runs WHERE run = 1"), "exited");
    assert_eq!(one::<i64>(&db, "SELECT exit_code FROM runs WHERE run = 1"), run_code as i64);
    assert_eq!(one::<i64>(&db, "SELECT status FROM runs WHERE run = 1"), run_code as i64);
    assert_eq!(one::<i64>(&db, "SELECT instructions FROM runs WHERE run = 1"), 1416);
    let bytes = cuda_flux_debugger::program::Program::load(&prog).unwrap().bytes;
    let sha = cuda_flux_debugger::analysis::recording::program_hash(&bytes);
    assert_eq!(one::<String>(&db, "SELECT program_sha256 FROM runs"), sha);
    assert_eq!(one::<String>(&db, "SELECT schedule FROM runs"), r#"{"kind":"round-robin","slice":10000}"#);
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM layers WHERE status = 'ok'"), 7);

    // calls: fib(10) makes 177 calls of fib; the first returns fib(10) = 55
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM calls WHERE function = 'fib'"), 177);
    assert_eq!(one::<String>(&db, "SELECT r1 || ' ' || r0 || ' ' || return_instruction FROM calls WHERE call = 1"), "10 55 1413");
    // every call of fib(n) returns fib(n)
    let fib = |n: i64| -> i64 { (0..n).fold((0, 1), |(a, b), _| (b, a + b)).0 };
    let c = Connection::open(&db).unwrap();
    let mut st = c.prepare("SELECT r1, r0 FROM calls").unwrap();
    let pairs: Vec<(i64, i64)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(pairs.len(), 177);
    for (n, r0) in pairs {
        assert_eq!(r0, fib(n), "fib({n})");
    }
    // output: one line, printed by the DBG_PRINT at instruction 1414
    assert_eq!(one::<String>(&db, "SELECT text || ' @' || instruction FROM output"), "55 @1414");
    // memory: the first CALL pushes its return address (0x0009) over 0 at 0xFFFC
    assert_eq!(
        one::<String>(&db, "SELECT printf('%d 0x%04X 0x%X %d %d %d', instruction, pc, addr, size, old, new) FROM writes ORDER BY instruction LIMIT 1"),
        "1 0x0006 0xFFFC 4 0 9"
    );
    // 177 return addresses and 176 pushed registers
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM writes"), 353);
    // the profile: per opcode it adds up to the run; CALL ran 177 times
    assert_eq!(one::<i64>(&db, "SELECT sum(count) FROM profile_ops"), 1416);
    assert_eq!(one::<i64>(&db, "SELECT sum(count) FROM profile_pcs"), 1416);
    assert_eq!(one::<i64>(&db, "SELECT count FROM profile_ops WHERE opcode = 'CALL'"), 177);
    assert_eq!(one::<i64>(&db, "SELECT sum(self_count) FROM profile_paths"), 1416);
    assert_eq!(one::<i64>(&db, "SELECT inclusive FROM profile_paths WHERE parent IS NULL"), 1416);
    assert_eq!(one::<i64>(&db, "SELECT sum(calls) FROM profile_paths WHERE function = 'fib'"), 177);
    // the final state
    assert_eq!(one::<i64>(&db, "SELECT value FROM final_registers WHERE agent = 1 AND reg = 0"), 55);
    assert_eq!(one::<i64>(&db, "SELECT length(memory) FROM final_memory"), 65536);

    // the named queries: a table, and exact JSON
    let (code, out, _) = flux(&["query", s(&db), "output", "--json"]);
    assert_eq!((code, out.as_str()), (0, "{\"line\":1,\"instruction\":1414,\"agent\":1,\"text\":\"55\"}\n"));
    let (_, out, _) = flux(&["query", s(&db), "output"]);
    assert_eq!(out, "line  instruction  agent  text\n1     1414         1      55\n");
    let (_, out, _) = flux(&["query", s(&db), "calls", "fib", "1", "--json"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 177);
    assert_eq!(
        lines[0],
        r#"{"call":1,"instruction":1,"function":"fib","caller_pc":6,"r1":10,"return_instruction":1413,"r0":55,"agent":1,"depth":0}"#
    );
    let (_, out, _) = flux(&["query", s(&db), "top-ops", "--json"]);
    assert_eq!(out.lines().next(), Some(r#"{"opcode":"CALL","category":"control","count":177,"energy":177,"share":12.5}"#));
    let (_, out, _) = flux(&["query", s(&db), "writes", "0xFFFC", "--json"]);
    assert_eq!(out, "{\"instruction\":1,\"pc\":6,\"agent\":1,\"addr\":65532,\"size\":4,\"old\":0,\"new\":9}\n");
    let (_, out, _) = flux(&["query", s(&db), "hotpath"]);
    assert_eq!(out.lines().nth(1).unwrap().split_whitespace().filter(|w| *w == "fib").count(), 7, "{out}");
    let (_, out, _) = flux(&["query", s(&db), "--sql", "SELECT count(*) AS n FROM calls", "--json"]);
    assert_eq!(out, "{\"n\":177}\n");
}

#[test]
fn the_examples_collect_as_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ex.db");
    let fib = example("fibonacci.fasm");
    let (code, out, _) = flux(&["run", s(&fib)]);
    assert_eq!((code, out.as_str()), (109, "6765\n"));
    let (code, out, err) = flux(&["collect", s(&fib), "--db", s(&db)]);
    assert_eq!(code, 0, "{out}{err}");
    let race = example("fizzbuzz_race.fasm");
    let (code, race_out, _) = flux(&["run", s(&race)]);
    assert_eq!(code, 0);
    let (code, _, err) = flux(&["collect", s(&race), "--db", s(&db)]);
    assert_eq!(code, 0, "{err}");
    // two runs in one database
    let (_, out, _) = flux(&["query", s(&db), "runs", "--json"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert_eq!(one::<i64>(&db, "SELECT exit_code FROM runs WHERE run = 1"), 109);
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM calls WHERE run = 1 AND function = 'fib'"), 21891);
    assert_eq!(one::<String>(&db, "SELECT group_concat(text, ' ') FROM output WHERE run = 1"), "6765");
    // the race: its output lines in order, the Buzz agent's from agent 2
    let text: String = one(&db, "SELECT group_concat(text, char(10)) FROM (SELECT text FROM output WHERE run = 2 ORDER BY line)");
    assert_eq!(text + "\n", race_out);
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM output WHERE run = 2 AND agent = 2"), 6);
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM output WHERE run = 2 AND agent = 2 AND text = '-5'"), 6);
    // messages: 6 "your turn" and one 0, sent by agent 1 and received by agent 2
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM messages WHERE run = 2 AND direction = 'send' AND agent = 1 AND peer = 2"), 7);
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM messages WHERE run = 2 AND direction = 'receive' AND agent = 2"), 7);
    assert_eq!(
        one::<String>(&db, "SELECT group_concat(value, ' ') FROM (SELECT value FROM messages WHERE run = 2 AND direction = 'receive' ORDER BY instruction)"),
        "5 10 15 20 25 30 0"
    );
    assert!(one::<i64>(&db, "SELECT count(*) FROM switches WHERE run = 2") >= 2);
}

#[test]
fn bad_databases_and_queries_are_refused_with_one_line() {
    let (dir, prog) = program("fib10.fasm", FIB10);
    let db = dir.path().join("runs.db");
    assert_eq!(flux(&["collect", s(&prog), "--db", s(&db)]).0, 0);

    let notdb = dir.path().join("notes.txt");
    std::fs::write(&notdb, "these are notes, not a database\n".repeat(100)).unwrap();
    let (code, out, err) = flux(&["query", s(&notdb), "runs"]);
    assert_eq!((code, out.as_str(), err), (2, "", format!("flux-gdbstub: {}: not a SQLite database\n", notdb.display())));
    let (code, _, err) = flux(&["collect", s(&prog), "--db", s(&notdb)]);
    assert_eq!((code, err), (2, format!("flux-gdbstub: {}: not a SQLite database\n", notdb.display())));

    // another SQLite database
    let other = dir.path().join("other.db");
    Connection::open(&other).unwrap().execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);").unwrap();
    let (code, _, err) = flux(&["query", s(&other), "runs"]);
    assert_eq!((code, err), (2, format!("flux-gdbstub: {}: a SQLite database, but not a flux run database\n", other.display())));

    // a run database of another version
    let old = dir.path().join("old.db");
    std::fs::copy(&db, &old).unwrap();
    Connection::open(&old).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    let want = format!("flux-gdbstub: {}: run database version 99; this flux-gdbstub reads version 1 (collect the runs again)\n", old.display());
    let (code, _, err) = flux(&["query", s(&old), "runs"]);
    assert_eq!((code, err.as_str()), (2, want.as_str()));
    let (code, _, err) = flux(&["collect", s(&prog), "--db", s(&old)]);
    assert_eq!((code, err.as_str()), (2, want.as_str()));

    // an unknown query lists the known ones
    let (code, _, err) = flux(&["query", s(&db), "slowest"]);
    assert_eq!(
        (code, err.as_str()),
        (2, "flux-gdbstub: unknown query 'slowest': the queries are runs, top-ops, hotpath, calls, writes, output, compare\n")
    );
    let (code, _, err) = flux(&["query", s(&db), "output", "7"]);
    assert_eq!((code, err.as_str()), (2, "flux-gdbstub: no run 7 in the database\n"));
    let (code, _, err) = flux(&["query", s(&db), "writes", "0x10000"]);
    assert_eq!((code, err.as_str()), (2, "flux-gdbstub: query writes: '0x10000' is not an address (0x0000-0xFFFF)\n"));

    // --sql is read-only: a write is refused and changes nothing
    for stmt in ["DELETE FROM calls", "DROP TABLE calls", "UPDATE runs SET seed = 3", "PRAGMA user_version = 5"] {
        let (code, _, err) = flux(&["query", s(&db), "--sql", stmt]);
        assert_eq!(code, 2, "{stmt}: {err}");
        assert_eq!(err.lines().count(), 1, "{stmt}: {err}");
        assert!(err.starts_with("flux-gdbstub: "), "{stmt}: {err}");
    }
    let (_, _, err) = flux(&["query", s(&db), "--sql", "DELETE FROM calls"]);
    assert_eq!(err, "flux-gdbstub: --sql: the statement writes, and queries open the database read-only\n");
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM calls"), 177);
    assert_eq!(one::<i64>(&db, "PRAGMA user_version"), 1);
    let (code, _, err) = flux(&["query", s(&db), "--sql", "SELECT x FROM nowhere"]);
    assert_eq!((code, err.as_str()), (2, "flux-gdbstub: --sql: no such table: nowhere\n"));
}

#[test]
fn a_layer_that_fails_is_recorded_and_the_others_land() {
    let (dir, prog) = program("fib10.fasm", FIB10);
    let db = dir.path().join("runs.db");
    assert_eq!(flux(&["collect", s(&prog), "--db", s(&db)]).0, 0);
    // a real SQLite refusal: a trigger that aborts any insert into writes
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TRIGGER no_writes BEFORE INSERT ON writes BEGIN SELECT RAISE(ABORT, 'writes are not wanted here'); END;")
        .unwrap();
    let (code, out, err) = flux(&["collect", s(&prog), "--db", s(&db)]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(out, "run 2: exited with code 55 after 1416 instructions; 240 rows in 7 layers (1 failed)\n");
    assert_eq!(err, format!("flux-gdbstub: {}: run 2: layer writes failed: writes are not wanted here\n", db.display()));
    assert_eq!(one::<String>(&db, "SELECT status || ': ' || error FROM layers WHERE run = 2 AND layer = 'writes'"), "failed: writes are not wanted here");
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM writes WHERE run = 2"), 0);
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM layers WHERE run = 2 AND status = 'ok'"), 6);
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM calls WHERE run = 2"), 177);
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM output WHERE run = 2"), 1);
}

#[test]
fn collect_from_a_replay_file_equals_collecting_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let race = example("fizzbuzz_race.fasm");
    let rec = dir.path().join("race.replay");
    let (code, _, _) = flux(&["run", s(&race), "--sched", "chaos", "--seed", "5", "--record", s(&rec)]);
    assert_eq!(code, 0);
    let db = dir.path().join("runs.db");
    let (code, _, err) = flux(&["collect", s(&race), "--sched", "chaos", "--seed", "5", "--db", s(&db)]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = flux(&["collect", s(&race), "--from", s(&rec), "--db", s(&db)]);
    assert_eq!(code, 0, "{err}");
    let c = Connection::open(&db).unwrap();
    let rows = |table: &str, run: i64| -> Vec<Vec<rusqlite::types::Value>> {
        let mut st = c.prepare(&format!("SELECT * FROM {table} WHERE run = ?1")).unwrap();
        let names: Vec<String> = st.column_names().iter().map(|n| n.to_string()).collect();
        let keep: Vec<usize> = (0..names.len()).filter(|&k| names[k] != "run" && names[k] != "source").collect();
        st.query_map([run], |r| Ok(keep.iter().map(|&k| r.get::<_, rusqlite::types::Value>(k).unwrap()).collect()))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for table in [
        "runs", "layers", "recordings", "output", "profile_ops", "profile_pcs", "profile_paths", "calls", "writes", "switches", "messages",
        "final_agents", "final_registers", "final_memory",
    ] {
        let (a, b) = (rows(table, 1), rows(table, 2));
        // the race makes no calls and writes no memory
        assert!(!a.is_empty() || table == "calls" || table == "writes", "{table}: no rows");
        assert_eq!(a, b, "{table}");
    }
    assert_eq!(one::<String>(&db, "SELECT source FROM runs WHERE run = 2"), rec.display().to_string());
    // without the program: the same, with the replay file as its name
    let (code, _, err) = flux(&["collect", "--from", s(&rec), "--db", s(&db)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows("output", 3), rows("output", 1));
    assert_eq!(rows("messages", 3), rows("messages", 1));

    // a program that calls and writes memory: fib(10)
    let (_pdir, fib) = program("fib10.fasm", FIB10);
    let rec = dir.path().join("fib.replay");
    assert_eq!(flux(&["run", s(&fib), "--record", s(&rec)]).0, 55);
    assert_eq!(flux(&["collect", s(&fib), "--db", s(&db)]).0, 0);
    assert_eq!(flux(&["collect", s(&fib), "--from", s(&rec), "--db", s(&db)]).0, 0);
    for table in ["calls", "writes", "profile_paths", "output", "final_registers"] {
        let (a, b) = (rows(table, 4), rows(table, 5));
        assert!(!a.is_empty(), "{table}: no rows");
        assert_eq!(a, b, "{table}");
    }
}

#[test]
fn compare_names_where_two_interleavings_of_the_race_part() {
    let dir = tempfile::tempdir().unwrap();
    let race = example("fizzbuzz_race.fasm");
    let db = dir.path().join("race.db");
    for seed in ["5", "1"] {
        let (code, _, err) = flux(&["collect", s(&race), "--sched", "chaos", "--seed", seed, "--db", s(&db)]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = flux(&["query", s(&db), "compare", "1", "2", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let get = |aspect: &str| rows.iter().find(|r| r["aspect"] == aspect).unwrap_or_else(|| panic!("{aspect}: {out}"));
    assert_eq!(get("seed")["run 1"], "5");
    assert_eq!(get("seed")["run 2"], "1");
    // seed 5: 1 2 -3 4 -3 7 ...; seed 1: 1 2 -3 4 -3 -5 7 ...
    let line = get("output line 6");
    assert!(line["run 1"].as_str().unwrap().starts_with("7 (instruction "), "{out}");
    assert!(line["run 2"].as_str().unwrap().starts_with("-5 (instruction "), "{out}");
    // the first differing event, as replay diff finds it: the first switch
    let d = get("first divergence");
    assert_eq!(
        d["run 1"],
        "instruction 8, pc 0x0026: JNZ           r2, 0x2C: switch from agent 1 to agent 2 (slice 405) at instruction 8, pc 0x0056"
    );
    assert_eq!(
        d["run 2"],
        "instruction 8, pc 0x0026: JNZ           r2, 0x2C: switch from agent 1 to agent 2 (slice 55) at instruction 30, pc 0x0056"
    );
    // the same seed twice: only the recordings' agreement
    let (code, _, _) = flux(&["collect", s(&race), "--sched", "chaos", "--seed", "5", "--db", s(&db)]);
    assert_eq!(code, 0);
    let (_, out, _) = flux(&["query", s(&db), "compare", "1", "3"]);
    assert_eq!(out, "aspect      run 1  run 3\nrecordings  agree  agree\n");
}

#[test]
fn explore_records_each_seed_and_its_class() {
    let dir = tempfile::tempdir().unwrap();
    let race = example("fizzbuzz_race.fasm");
    let db = dir.path().join("explore.db");
    let (code, out, err) = flux(&["explore", s(&race), "--seeds", "0..20", "--db", s(&db)]);
    assert_eq!(code, 1, "{out}{err}");
    // the report: one line per class ("N runs (first seed S): ..."), then
    // the schedule counts and the summary
    let classes = out.lines().filter(|l| l.contains("(first seed ")).count() as i64;
    let summary = out.lines().last().unwrap();
    assert!(summary.starts_with(&format!("20 runs, {classes} distinct outcomes, ")), "{out}");
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM runs WHERE kind = 'explore'"), 20);
    assert_eq!(one::<String>(&db, "SELECT group_concat(seed, ',') FROM runs"), (0..20).map(|k| k.to_string()).collect::<Vec<_>>().join(","));
    assert_eq!(one::<i64>(&db, "SELECT count(DISTINCT explore_class) FROM runs"), classes);
    // class 1 is the report's first line: its count and first seed
    let first = out.lines().next().unwrap();
    let n: i64 = first.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(one::<i64>(&db, "SELECT count(*) FROM runs WHERE explore_class = 1"), n);
    let seed = one::<i64>(&db, "SELECT min(seed) FROM runs WHERE explore_class = 1");
    assert!(first.contains(&format!("(first seed {seed})")), "{first}");
    // each row's output is the run's
    let (_, run_out, _) = flux(&["run", s(&race), "--sched", "chaos", "--seed", "5"]);
    assert_eq!(one::<String>(&db, "SELECT output FROM runs WHERE seed = 5"), run_out);
    let (_, out, _) = flux(&["query", s(&db), "runs", "--json"]);
    assert_eq!(out.lines().count(), 20);
}
