//! The VS Code extension (editors/vscode): packaged to a .vsix with
//! @vscode/vsce (scripts/package-vscode.sh, npm), and what its package.json
//! and grammar declare.  npm is required: without it the test fails.
mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::*;

fn unzip(vsix: &std::path::Path, name: &str) -> String {
    let out = run_with_timeout(
        {
            let mut c = Command::new("unzip");
            c.arg("-p").arg(vsix).arg(name);
            c
        },
        None,
    );
    assert!(out.status.success(), "unzip -p {} {name}: {}", vsix.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Activates extension.js with a stand-in `vscode` module (only the calls it
/// makes: configuration, DebugAdapterExecutable, the debug registrations)
/// and answers `TYPE COMMAND ARGS` of the adapter its factory describes.
fn run_extension(ext: &std::path::Path, adapter_path: Option<&str>) -> String {
    const SCRIPT: &str = r#"
const Module = require('module');
const [ext, setting] = process.argv.slice(1);
const factories = {};
const vscode = {
  DebugAdapterExecutable: class { constructor(command, args) { this.command = command; this.args = args; } },
  DebugConfigurationProviderTriggerKind: { Initial: 1, Dynamic: 2 },
  workspace: { getConfiguration: (section) => ({ get: (key) => (section === 'flux' && key === 'adapterPath' && setting !== '-' ? setting : undefined) }) },
  window: {},
  debug: {
    registerDebugAdapterDescriptorFactory: (type, f) => { factories[type] = f; return { dispose() {} }; },
    registerDebugConfigurationProvider: () => ({ dispose() {} }),
  },
};
const load = Module._load;
Module._load = function (request, ...rest) { return request === 'vscode' ? vscode : load.call(this, request, ...rest); };
const context = { subscriptions: [] };
require(ext).activate(context);
for (const [type, f] of Object.entries(factories)) {
  const d = f.createDebugAdapterDescriptor({ type }, undefined);
  console.log(type, d.command, JSON.stringify(d.args));
}
"#;
    let mut c = Command::new("node");
    c.arg("-e").arg(SCRIPT).arg(ext).arg(adapter_path.unwrap_or("-"));
    let out = run_with_timeout(c, None);
    assert!(out.status.success(), "extension.js under node: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn the_vsix_builds_with_the_flux_debugger_the_fasm_language_and_every_mnemonic() {
    let npm = Command::new("npm").arg("--version").output();
    assert!(
        npm.as_ref().is_ok_and(|o| o.status.success()),
        "npm is missing (scripts/setup.sh installs nodejs and npm): {npm:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let vsix = dir.path().join("flux-debug.vsix");
    let mut cmd = Command::new(repo().join("scripts/package-vscode.sh"));
    cmd.arg(&vsix);
    let out = run_with_timeout(cmd, None);
    assert!(out.status.success(), "package-vscode.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), vsix.display().to_string());

    let pkg: serde_json::Value = serde_json::from_str(&unzip(&vsix, "extension/package.json")).expect("package.json is JSON");
    let c = &pkg["contributes"];
    // the debugger: `flux-gdbstub dap`
    let d = &c["debuggers"][0];
    assert_eq!(d["type"], "flux");
    // no `program`: VS Code would resolve it in the extension's folder; the
    // extension's factory starts the adapter instead
    assert_eq!(d.get("program"), None, "{d}");
    assert_eq!(d.get("args"), None, "{d}");
    assert_eq!(pkg["main"], "./extension.js");
    assert_eq!(pkg["activationEvents"], serde_json::json!(["onDebugResolve:flux", "onDebugDynamicConfigurations:flux"]));
    let setting = &c["configuration"]["properties"]["flux.adapterPath"];
    assert_eq!(setting["type"], "string");
    assert_eq!(setting["default"], "flux-gdbstub");
    assert_eq!(d["languages"], serde_json::json!(["fasm"]));
    let launch: Vec<&str> =
        d["configurationAttributes"]["launch"]["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    let want: BTreeSet<&str> =
        ["program", "stopOnEntry", "record", "energy", "seed", "sched", "slice", "apoptosisWarn", "saveDir"].into();
    assert_eq!(launch.iter().copied().collect::<BTreeSet<_>>(), want);
    assert_eq!(d["configurationAttributes"]["launch"]["required"], serde_json::json!(["program"]));
    assert_eq!(d["configurationAttributes"]["launch"]["properties"]["record"]["default"], true);
    assert_eq!(d["configurationAttributes"]["launch"]["properties"]["stopOnEntry"]["default"], false);
    assert_eq!(d["configurationAttributes"]["attach"]["required"], serde_json::json!(["port"]));
    assert_eq!(d["initialConfigurations"][0]["type"], "flux");
    assert_eq!(d["initialConfigurations"][0]["request"], "launch");
    let snippets = d["configurationSnippets"].as_array().unwrap();
    assert!(!snippets.is_empty() && snippets.iter().all(|s| s["body"]["type"] == "flux"), "{snippets:?}");
    // the language, its grammar, breakpoints in it
    assert_eq!(c["languages"][0]["id"], "fasm");
    assert_eq!(c["languages"][0]["extensions"], serde_json::json!([".fasm"]));
    assert_eq!(c["grammars"][0]["language"], "fasm");
    assert_eq!(c["grammars"][0]["scopeName"], "source.fasm");
    assert_eq!(c["breakpoints"], serde_json::json!([{"language": "fasm"}]));
    let path = c["grammars"][0]["path"].as_str().unwrap().trim_start_matches("./");
    let grammar: serde_json::Value =
        serde_json::from_str(&unzip(&vsix, &format!("extension/{path}"))).expect("the grammar is JSON");
    assert_eq!(grammar["scopeName"], "source.fasm");
    let lang: serde_json::Value = serde_json::from_str(&unzip(&vsix, "extension/language-configuration.json")).unwrap();
    assert_eq!(lang["comments"]["lineComment"], ";");

    // extension.js, as packaged: run under node with a stand-in for the
    // `vscode` module, it registers a factory for `flux` that starts the
    // setting's command (default flux-gdbstub) with `dap`
    let ext = dir.path().join("extension.js");
    std::fs::write(&ext, unzip(&vsix, "extension/extension.js")).unwrap();
    assert_eq!(run_extension(&ext, None), "flux flux-gdbstub [\"dap\"]");
    assert_eq!(run_extension(&ext, Some("/opt/flux/bin/flux-gdbstub")), "flux /opt/flux/bin/flux-gdbstub [\"dap\"]");

    // every mnemonic of the opcode table, and nothing else, is a keyword
    let table = std::fs::read_to_string(repo().join("tests/data/opcodes.tsv")).unwrap();
    let opcodes: BTreeSet<&str> = table.lines().skip(1).filter_map(|l| l.split('\t').nth(1)).collect();
    assert_eq!(opcodes.len(), 247);
    let m = grammar["repository"]["mnemonic"]["match"].as_str().unwrap();
    let inner = m.strip_prefix("(?i)\\b(?:").and_then(|s| s.strip_suffix(")\\b")).unwrap_or_else(|| panic!("{m}"));
    let in_grammar: BTreeSet<&str> = inner.split('|').collect();
    assert_eq!(in_grammar, opcodes);
    let repo_of = |k: &str| grammar["repository"][k]["name"].as_str().unwrap_or_default().to_string();
    assert_eq!(repo_of("register"), "variable.language.register.fasm");
    assert_eq!(grammar["repository"]["register"]["match"], "(?i)\\b(?:r(?:1[0-5]|[0-9])|conf(?:1[0-5]|[0-9]))\\b");
    assert_eq!(repo_of("comment"), "comment.line.semicolon.fasm");
    assert_eq!(repo_of("number"), "constant.numeric.fasm");
    assert_eq!(grammar["repository"]["label"]["captures"]["1"]["name"], "entity.name.function.label.fasm");
}
