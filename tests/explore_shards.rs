//! `explore --shard K/N --json` and `explore merge`: the shards of a seed
//! range merge into exactly the report and exit status of one run over it,
//! and shards that do not belong together are refused in one line (exit 2).
//! Also the Dask driver (scripts/explore_dask.py) on a local cluster of two
//! workers against `--jobs 1`.
mod common;

use common::*;
use std::path::{Path, PathBuf};

/// `explore PROG --seeds SEEDS --shard K/N --json EXTRA` into DIR/NAME.
fn shard(dir: &Path, name: &str, prog: &Path, seeds: &str, k: u64, n: u64, extra: &[&str]) -> PathBuf {
    let spec = format!("{k}/{n}");
    let mut args = vec!["explore", prog.to_str().unwrap(), "--seeds", seeds, "--shard", &spec, "--json", "--jobs", "1"];
    args.extend_from_slice(extra);
    let (code, out, err) = flux(&args);
    assert_eq!(code, 0, "{err}");
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

fn merge(files: &[&Path]) -> (i32, String, String) {
    let mut args = vec!["explore", "merge"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    flux(&args)
}

#[test]
fn shards_merge_into_the_report_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    for (prog, extra) in [
        (example("fizzbuzz_race.fasm"), &[][..]),
        (example("fizzbuzz_race.fasm"), &["--sched", "pct", "--depth", "3"][..]),
        (example("fizzbuzz_fixed.fasm"), &[][..]),
    ] {
        let mut args = vec!["explore", prog.to_str().unwrap(), "--seeds", "0..100", "--jobs", "1"];
        args.extend_from_slice(extra);
        let one = flux(&args);
        for n in [1u64, 3, 7] {
            let files: Vec<PathBuf> = (0..n).rev().map(|k| shard(dir.path(), &format!("s{k}"), &prog, "0..100", k, n, extra)).collect();
            let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
            assert_eq!(merge(&refs), one, "{prog:?} {extra:?} in {n} shards");
        }
    }
    // the racy one: several outcomes, exit 1; the fixed one: exit 0
    let race = example("fizzbuzz_race.fasm");
    let (code, out, _) = flux(&["explore", race.to_str().unwrap(), "--seeds", "0..100", "--jobs", "1"]);
    assert_eq!(code, 1);
    assert!(out.ends_with("100 runs, 17 distinct outcomes, 21 distinct schedules\n"), "{out}");
}

#[test]
fn a_shard_record_holds_its_seeds_classes_and_what_it_ran() {
    let dir = tempfile::tempdir().unwrap();
    let fixed = example("fizzbuzz_fixed.fasm");
    let s = shard(dir.path(), "s", &fixed, "10..=19", 1, 3, &[]);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&s).unwrap()).unwrap();
    assert_eq!(v["format"], "flux-explore-shard");
    assert_eq!(v["version"], 2);
    assert_eq!(v["seeds"], serde_json::json!([10, 20]));
    assert_eq!(v["shard"], serde_json::json!({"index": 1, "count": 3}));
    assert_eq!(v["schedule"], serde_json::json!({"kind": "chaos", "slice": 10000}));
    // seeds 13..16: the second of three blocks of 10..20
    assert_eq!(v["runs"], 3);
    assert_eq!(v["classes"][0]["count"], 3);
    assert_eq!(v["classes"][0]["first_seed"], 13);
    assert_eq!(v["classes"][0]["status"], 0);
    // the fixed FizzBuzz orders every step: one schedule, first at seed 13
    assert_eq!(v["schedules"].as_array().unwrap().len(), 1);
    assert_eq!(v["schedules"][0]["first_seed"], 13);
    assert_eq!(v["schedules"][0]["fingerprint"].as_str().unwrap().len(), 32);
}

/// Schedules merge by union, each with its lowest first seed: the report's
/// growth line and count equal one run's, and a damaged fingerprint or a
/// schedule from outside the shard is refused in one line.
#[test]
fn schedules_merge_by_union() {
    let dir = tempfile::tempdir().unwrap();
    let race = example("fizzbuzz_race.fasm");
    let one = flux(&["explore", race.to_str().unwrap(), "--seeds", "0..60", "--jobs", "2"]);
    assert!(one.1.ends_with("60 runs, 14 distinct outcomes, 15 distinct schedules\n"), "{}", one.1);
    let files: Vec<PathBuf> = (0..4).map(|k| shard(dir.path(), &format!("s{k}"), &race, "0..60", k, 4, &[])).collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    assert_eq!(merge(&refs), one);
    // shards hold their own schedules: together more than the union (the
    // same schedule found in two shards)
    let per_shard: usize = files
        .iter()
        .map(|f| serde_json::from_slice::<serde_json::Value>(&std::fs::read(f).unwrap()).unwrap()["schedules"].as_array().unwrap().len())
        .sum();
    assert!(per_shard > 15, "{per_shard}");
    let text = std::fs::read_to_string(&files[3]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let fp = v["schedules"][0]["fingerprint"].as_str().unwrap().to_string();
    let bad = dir.path().join("bad");
    std::fs::write(&bad, text.replace(&fp, "xyz")).unwrap();
    let (code, out, err) = merge(&[refs[0], refs[1], refs[2], &bad]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, format!("flux-gdbstub: {}: schedule fingerprint \"xyz\": not 32 hex digits\n", bad.display()));
    let mut moved = v.clone();
    moved["schedules"][0]["first_seed"] = serde_json::json!(2);
    std::fs::write(&bad, serde_json::to_string(&moved).unwrap()).unwrap();
    let (code, _, err) = merge(&[refs[0], refs[1], refs[2], &bad]);
    assert_eq!(code, 2);
    assert_eq!(err, format!("flux-gdbstub: {}: schedule {fp}: not a schedule of this shard\n", bad.display()));

    // --no-coverage: no access log, no schedule count; its shards merge
    // among themselves, not with counted ones
    let plain = flux(&["explore", race.to_str().unwrap(), "--seeds", "0..60", "--jobs", "2", "--no-coverage"]);
    assert!(plain.1.ends_with("\n60 runs, 14 distinct outcomes\n") && !plain.1.contains("schedules"), "{}", plain.1);
    assert_eq!(plain.1.lines().count(), 15);
    let uncounted: Vec<PathBuf> = (0..4).map(|k| shard(dir.path(), &format!("u{k}"), &race, "0..60", k, 4, &["--no-coverage"])).collect();
    let urefs: Vec<&Path> = uncounted.iter().map(PathBuf::as_path).collect();
    assert_eq!(merge(&urefs), plain);
    let (code, out, err) = merge(&[refs[0], refs[1], refs[2], urefs[3]]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!(
            "flux-gdbstub: {}: schedule coverage differs from {}'s (not counted (--no-coverage) against counted)\n",
            urefs[3].display(),
            refs[0].display()
        )
    );
}

#[test]
fn shards_that_do_not_belong_together_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let race = example("fizzbuzz_race.fasm");
    let fixed = example("fizzbuzz_fixed.fasm");
    let s0 = shard(d, "s0", &race, "0..30", 0, 3, &[]);
    let s1 = shard(d, "s1", &race, "0..30", 1, 3, &[]);
    let s2 = shard(d, "s2", &race, "0..30", 2, 3, &[]);
    let other_range = shard(d, "r2", &race, "0..31", 2, 3, &[]);
    let other_prog = shard(d, "p2", &fixed, "0..30", 2, 3, &[]);
    let other_sched = shard(d, "c2", &race, "0..30", 2, 3, &["--sched", "round-robin"]);
    let other_count = shard(d, "n2", &race, "0..30", 2, 4, &[]);
    let text = std::fs::read_to_string(&s2).unwrap();
    let other_version = d.join("v2");
    std::fs::write(&other_version, text.replace("\"version\":2", "\"version\":1")).unwrap();
    let other_tool = d.join("t2");
    std::fs::write(&other_tool, text.replace(concat!("\"tool_version\":\"", env!("CARGO_PKG_VERSION"), "\""), "\"tool_version\":\"0.0.1\"")).unwrap();
    let not_a_shard = d.join("x");
    std::fs::write(&not_a_shard, "{\"format\":\"flux-replay\"}").unwrap();
    let n = |p: &Path| p.display().to_string();
    let cases: Vec<(Vec<&Path>, String)> = vec![
        (vec![&s0, &s1], "shard 2/3 is missing".into()),
        (vec![&s0, &s1, &s1, &s2], format!("shard 1/3 is given twice ({}, {})", n(&s1), n(&s1))),
        (vec![&s0, &s1, &other_range], format!("{}: the seed range differs from {}'s (0..31 against 0..30)", n(&other_range), n(&s0))),
        (vec![&s0, &s1, &other_count], format!("{}: the number of shards differs from {}'s (4 against 3)", n(&other_count), n(&s0))),
        (vec![&s0, &s1, &other_sched], format!(
            "{}: the schedule differs from {}'s ({{\"kind\":\"round-robin\",\"slice\":10000}} against {{\"kind\":\"chaos\",\"slice\":10000}})",
            n(&other_sched), n(&s0))),
        (vec![&s0, &s1, &other_version], format!("{}: shard format version 1 (this build reads version 2)", n(&other_version))),
        (vec![&s0, &s1, &other_tool], format!(
            "{}: the flux-gdbstub version differs from {}'s (0.0.1 against {})", n(&other_tool), n(&s0), env!("CARGO_PKG_VERSION"))),
        (vec![&not_a_shard], format!("{}: not an explore shard: format \"flux-replay\"", n(&not_a_shard))),
    ];
    for (files, want) in cases {
        let (code, out, err) = merge(&files);
        assert_eq!((code, out.as_str(), err.as_str()), (2, "", format!("flux-gdbstub: {want}\n").as_str()));
    }
    let (code, _, err) = merge(&[&s0, &s1, &other_prog]);
    assert_eq!(code, 2);
    assert!(err.starts_with(&format!("flux-gdbstub: {}: the program differs from {}'s (", n(&other_prog), n(&s0))) && err.lines().count() == 1, "{err}");
    for (spec, want) in [
        ("3/3", "--shard 3/3: the shard index is 0 to 2"),
        ("0/0", "--shard 0/0: there must be at least one shard"),
        ("1", "--shard 1: a shard is K/N, K from 0 to N - 1"),
    ] {
        let (code, out, err) = flux(&["explore", race.to_str().unwrap(), "--seeds", "0..30", "--shard", spec, "--json"]);
        assert_eq!((code, out.as_str(), err.as_str()), (2, "", format!("flux-gdbstub: {want}\n").as_str()));
    }
}

/// scripts/explore_dask.py on a Dask LocalCluster of two workers (installed
/// by scripts/setup.sh) gives exactly the report and exit status of
/// `explore --jobs 1`; without Dask (python3 -S: no site-packages) it is one
/// line, exit 2.
#[test]
fn the_dask_driver_on_a_local_cluster_equals_jobs_1() {
    let driver = repo().join("scripts").join("explore_dask.py");
    let race = example("fizzbuzz_race.fasm");
    let dask = |python_flags: &[&str], extra: &[&str]| {
        let mut cmd = std::process::Command::new("python3");
        cmd.args(python_flags)
            .arg(&driver)
            .args(["--stub", stub_bin(), race.to_str().unwrap(), "--seeds", "0..120", "--local-workers", "2", "--shards", "5", "--"])
            .args(extra);
        let out = run_with_timeout(cmd, None);
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    for extra in [&[][..], &["--sched", "pct", "--depth", "3"][..]] {
        let mut args = vec!["explore", race.to_str().unwrap(), "--seeds", "0..120", "--jobs", "1"];
        args.extend_from_slice(extra);
        let (code, out, _) = flux(&args);
        assert_eq!(code, 1);
        let (dcode, dout, derr) = dask(&[], extra);
        assert_eq!((dcode, dout.as_str()), (code, out.as_str()), "{derr}");
    }
    // explore's own error, once
    let (code, out, err) = dask(&[], &["--sched", "pct", "--depth", "0"]);
    assert_eq!((code, out.as_str(), err.as_str()), (2, "", "flux-gdbstub: --depth 0: PCT's depth bound is 1 to 16\n"));
    let (code, out, err) = dask(&["-S"], &[]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (2, "", "explore_dask: Dask distributed is not installed (scripts/setup.sh installs it: pip install 'dask[distributed]')\n")
    );
}
