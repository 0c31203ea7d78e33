//! The crate's structure, checked from its source: no import cycle between
//! the files under src/, and no import from a lower layer to a higher one
//! (docs/ARCHITECTURE.md describes the layers).
//!
//! The analysis is small and self-contained: each file's text, with comments,
//! string literals and `#[cfg(test)]` items removed, is searched for paths
//! that start with `crate::`, `super::` or `self::` (in `use` trees and in
//! code), and for `use` paths that start with a child module's name; each
//! path is resolved to the file of the longest module prefix it names.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first: a file may import files of its own layer and of
/// the layers below it.  The crate root (lib.rs, which only declares the
/// layers and re-exports the public paths) and the binary's entry (main.rs)
/// sit above every layer.
const LAYERS: [&str; 4] = ["runtime", "program", "analysis", "frontend"];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Module {
    /// The module path (`["gdb", "monitor"]`); empty for the crate root.
    path: Vec<String>,
    file: PathBuf,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every .rs file under src/ with its module path.
fn modules() -> Vec<Module> {
    fn walk(dir: &Path, prefix: &[String], out: &mut Vec<Module>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("src/ is readable").map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                let mut sub = prefix.to_vec();
                sub.push(name);
                walk(&p, &sub, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let path = match stem {
                    "mod" => prefix.to_vec(),
                    "lib" | "main" if prefix.is_empty() => Vec::new(),
                    _ => {
                        let mut v = prefix.to_vec();
                        v.push(stem.to_string());
                        v
                    }
                };
                out.push(Module { path, file: p });
            }
        }
    }
    let mut out = Vec::new();
    walk(&src_dir(), &[], &mut out);
    out
}

/// The source with comments and the contents of string and char literals
/// blanked out (newlines kept).
fn strip_comments_and_strings(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || (next == Some('#') && !b[..i].last().is_some_and(|p| p.is_alphanumeric() || *p == '_'))) {
            // raw string r"..." or r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            out.push_str("\"\"");
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                if b[j] == '\n' {
                    out.push('\n');
                }
                j += 1;
            }
            i = j;
        } else if c == '"' {
            out.push_str("\"\"");
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if b.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // a char literal ('x', '\n', '\u{..}') or a lifetime ('a)
            if next == Some('\\') {
                let mut j = i + 3;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                out.push_str("' '");
                i = j + 1;
            } else if b.get(i + 2) == Some(&'\'') {
                out.push_str("' '");
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Removes each item marked `#[cfg(test)]` (a test module, a test-only use
/// or function): up to its matching closing brace, or its `;`.
fn strip_test_items(src: &str) -> String {
    let mut s = src.to_string();
    while let Some(at) = s.find("#[cfg(test)]") {
        let rest = &s[at..];
        let brace = rest.find('{');
        let semi = rest.find(';');
        let end = match (brace, semi) {
            (Some(b), Some(sc)) if sc < b => at + sc + 1,
            (Some(b), _) => {
                let mut depth = 0;
                let mut end = s.len();
                for (k, ch) in s[at + b..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = at + b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, Some(sc)) => at + sc + 1,
            (None, None) => s.len(),
        };
        s.replace_range(at..end, "");
    }
    s
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands a `use` tree (`a::{b, c::{self, d}}`) into its paths.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    fn go(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let tree = tree.trim();
        if tree.is_empty() {
            return;
        }
        // split at the first top-level `{`
        if let Some(open) = tree.find('{') {
            let head: Vec<String> =
                tree[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut base = prefix.to_vec();
            base.extend(head);
            let mut depth = 0;
            let mut start = 0;
            let chars: Vec<(usize, char)> = inner.char_indices().collect();
            for (k, ch) in chars {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&inner[start..k], &base, out);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            go(&inner[start..], &base, out);
        } else {
            let tree = tree.split(" as ").next().unwrap_or(tree);
            let mut p = prefix.to_vec();
            for seg in tree.split("::").map(str::trim).filter(|s| !s.is_empty()) {
                if seg == "self" && !p.is_empty() {
                    continue;
                }
                p.push(seg.to_string());
            }
            out.push(p);
        }
    }
    let mut out = Vec::new();
    go(tree, &[], &mut out);
    out
}

/// The paths a file names: `use` trees, and `crate::`/`super::`/`self::`
/// paths anywhere in the code.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // use statements (up to the next `;`)
    let bytes: Vec<char> = code.chars().collect();
    let text: String = bytes.iter().collect();
    let mut search = 0;
    while let Some(k) = text[search..].find("use ") {
        let at = search + k;
        search = at + 4;
        let before = text[..at].chars().last();
        if before.is_some_and(is_ident) {
            continue;
        }
        let Some(end) = text[at..].find(';') else { break };
        let tree = &text[at + 4..at + end];
        if tree.contains('(') || tree.contains('=') {
            continue; // not a use declaration
        }
        out.extend(expand_use(tree));
    }
    // paths in code
    for root in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(k) = text[from..].find(root) {
            let at = from + k;
            from = at + root.len();
            if text[..at].chars().last().is_some_and(|c| is_ident(c) || c == ':') {
                continue;
            }
            let mut segs = vec![root.trim_end_matches(':').to_string()];
            let mut rest = &text[at + root.len()..];
            loop {
                let n = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
                if n == 0 {
                    break;
                }
                segs.push(rest[..n].to_string());
                rest = &rest[n..];
                match rest.strip_prefix("::") {
                    Some(r) => rest = r,
                    None => break,
                }
            }
            out.push(segs);
        }
    }
    out
}

/// The file a path names: the longest module prefix of its absolute form.
fn resolve(from: &Module, path: &[String], by_path: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    let mut abs: Vec<String> = Vec::new();
    let mut segs = path.iter().peekable();
    match segs.peek().map(|s| s.as_str()) {
        Some("crate") | Some("cuda_flux_debugger") => {
            segs.next();
        }
        Some("super") | Some("self") => {
            abs = from.path.clone();
            // a file that is not a mod.rs/lib.rs is its own module: `self` is
            // itself, `super` its parent
            while let Some(s) = segs.peek() {
                match s.as_str() {
                    "self" => {}
                    "super" => {
                        abs.pop();
                    }
                    _ => break,
                }
                segs.next();
            }
        }
        Some(first) => {
            // a path relative to the current module: only its child modules count
            let mut child = from.path.clone();
            child.push(first.to_string());
            if !by_path.contains_key(&child) {
                return None;
            }
            abs = from.path.clone();
        }
        None => return None,
    }
    abs.extend(segs.cloned());
    (0..=abs.len()).rev().find_map(|n| by_path.get(&abs[..n]).cloned())
}

fn layer_of(m: &Module) -> Option<usize> {
    m.path.first().and_then(|first| LAYERS.iter().position(|l| l == first))
}

struct Graph {
    modules: Vec<Module>,
    edges: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
}

fn graph() -> Graph {
    let mods = modules();
    let lib: Vec<Module> = mods.iter().filter(|m| !m.file.ends_with("main.rs")).cloned().collect();
    let by_path: BTreeMap<Vec<String>, PathBuf> = lib.iter().map(|m| (m.path.clone(), m.file.clone())).collect();
    let mut edges = BTreeMap::new();
    for m in &mods {
        let src = std::fs::read_to_string(&m.file).unwrap();
        let code = strip_test_items(&strip_comments_and_strings(&src));
        let is_main = m.file.ends_with("main.rs");
        let mut to = BTreeSet::new();
        for p in paths_in(&code) {
            // main.rs is its own crate: only its paths into the library count
            if is_main && p.first().map(String::as_str) != Some("cuda_flux_debugger") {
                continue;
            }
            if !is_main && p.first().map(String::as_str) == Some("cuda_flux_debugger") {
                continue;
            }
            if let Some(f) = resolve(m, &p, &by_path) {
                if f != m.file {
                    to.insert(f);
                }
            }
        }
        edges.insert(m.file.clone(), to);
    }
    Graph { modules: mods, edges }
}

fn rel(p: &Path) -> String {
    p.strip_prefix(src_dir()).unwrap_or(p).display().to_string()
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct T<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on: BTreeSet<&'a PathBuf>,
        out: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a PathBuf) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        let edges = t.edges;
        for w in edges.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T { edges, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on: BTreeSet::new(), out: Vec::new() };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_import_cycle_between_files() {
    let g = graph();
    let found = cycles(&g.edges);
    let report: Vec<String> = found
        .iter()
        .map(|c| {
            let files: BTreeSet<&PathBuf> = c.iter().collect();
            let mut lines = vec![format!("a cycle of {} files:", c.len())];
            for f in c {
                let inside: Vec<String> = g.edges[f].iter().filter(|t| files.contains(t)).map(|t| rel(t)).collect();
                lines.push(format!("  {} -> {}", rel(f), inside.join(", ")));
            }
            lines.join("\n")
        })
        .collect();
    assert!(report.is_empty(), "import cycles between src/ files:\n{}", report.join("\n"));
}

#[test]
fn every_file_is_in_a_layer_and_imports_only_its_own_or_lower_layers() {
    let g = graph();
    let layer: BTreeMap<&PathBuf, Option<usize>> = g.modules.iter().map(|m| (&m.file, layer_of(m))).collect();
    let mut bad = Vec::new();
    for m in &g.modules {
        let Some(l) = layer_of(m) else {
            if !m.path.is_empty() {
                bad.push(format!("{}: not in a layer ({})", rel(&m.file), LAYERS.join(", ")));
            }
            continue;
        };
        for to in &g.edges[&m.file] {
            match layer[to] {
                Some(t) if t > l => bad.push(format!("{} ({}) imports {} ({})", rel(&m.file), LAYERS[l], rel(to), LAYERS[t])),
                None => bad.push(format!("{} ({}) imports the crate root {}", rel(&m.file), LAYERS[l], rel(to))),
                _ => {}
            }
        }
    }
    assert!(bad.is_empty(), "layering violations:\n{}", bad.join("\n"));
}

/// The front-end a file under src/frontend/ belongs to: its folder (`gdb`,
/// `dap`), or for a file directly under src/frontend/ its name, except that
/// `server.rs` (serving a gdb `FluxTarget` over TCP or stdio) is the gdb
/// front-end's.  src/frontend/mod.rs, which only declares them, is none.
fn frontend_of(m: &Module) -> Option<String> {
    match m.path.as_slice() {
        [first, name, ..] if first == "frontend" => Some(if name == "server" { "gdb".to_string() } else { name.clone() }),
        _ => None,
    }
}

/// The front-ends import none of each other: what two of them share lives
/// in a layer below (the text commands in analysis::commands, the steps in
/// analysis::stepping).
#[test]
fn no_front_end_imports_another() {
    let g = graph();
    let of: BTreeMap<&PathBuf, Option<String>> = g.modules.iter().map(|m| (&m.file, frontend_of(m))).collect();
    let mut bad = Vec::new();
    for m in &g.modules {
        let Some(mine) = frontend_of(m) else { continue };
        for to in &g.edges[&m.file] {
            if let Some(Some(theirs)) = of.get(to) {
                if *theirs != mine {
                    bad.push(format!("{} ({mine}) imports {} ({theirs})", rel(&m.file), rel(to)));
                }
            }
        }
    }
    assert!(bad.is_empty(), "front-ends importing each other:\n{}", bad.join("\n"));
}

/// The front-end rule on made-up files: dap importing gdb is caught, gdb
/// importing its server (and the server gdb) is not.
#[test]
fn the_front_end_rule_catches_a_front_end_importing_another() {
    let m = |p: &[&str]| Module { path: p.iter().map(|s| s.to_string()).collect(), file: PathBuf::from(p.join("/")) };
    assert_eq!(frontend_of(&m(&["frontend", "dap", "launch"])).as_deref(), Some("dap"));
    assert_eq!(frontend_of(&m(&["frontend", "gdb"])).as_deref(), Some("gdb"));
    assert_eq!(frontend_of(&m(&["frontend", "server"])).as_deref(), Some("gdb"));
    assert_eq!(frontend_of(&m(&["frontend"])), None);
    assert_eq!(frontend_of(&m(&["analysis", "session"])), None);
    let code = strip_test_items(&strip_comments_and_strings("use crate::frontend::gdb::FluxTarget;\n"));
    let mods = [m(&["frontend", "dap", "launch"]), m(&["frontend", "gdb"])];
    let by_path: BTreeMap<Vec<String>, PathBuf> = mods.iter().map(|x| (x.path.clone(), x.file.clone())).collect();
    let to = paths_in(&code).iter().find_map(|p| resolve(&mods[0], p, &by_path));
    assert_eq!(to, Some(PathBuf::from("frontend/gdb")));
    assert_ne!(frontend_of(&mods[0]), frontend_of(&mods[1]));
}

/// The analysis itself: a known cycle and a known edge are found.
#[test]
fn the_analysis_finds_paths_and_cycles() {
    let code = strip_test_items(&strip_comments_and_strings(
        "use crate::a::{self, b::C};\n// crate::zzz\nfn f() { super::x::y(); let s = \"crate::q\"; }\n#[cfg(test)]\nmod tests { use crate::t; }\n",
    ));
    let paths = paths_in(&code);
    let names: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(names, ["crate::a", "crate::a::b::C", "crate::a", "super::x::y"]);
    let mut edges = BTreeMap::new();
    let (a, b, c) = (PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c"));
    edges.insert(a.clone(), BTreeSet::from([b.clone()]));
    edges.insert(b.clone(), BTreeSet::from([a.clone(), c.clone()]));
    edges.insert(c.clone(), BTreeSet::new());
    assert_eq!(cycles(&edges), vec![vec![a, b]]);
}

/// Every `unsafe` block, impl and fn in src/ says why it is sound: a
/// `// SAFETY:` comment right above it (or on its line), or a `# Safety`
/// section in the doc comment of an `unsafe fn`.
#[test]
fn every_unsafe_has_a_safety_comment() {
    let mut missing = Vec::new();
    for m in modules() {
        let src = std::fs::read_to_string(&m.file).unwrap();
        let lines: Vec<&str> = src.lines().collect();
        let code: Vec<String> = strip_comments_and_strings(&src).lines().map(String::from).collect();
        for (i, l) in code.iter().enumerate() {
            let is_unsafe = l.split(|c: char| !is_ident(c)).any(|w| w == "unsafe");
            if !is_unsafe {
                continue;
            }
            let mut said = lines[i].contains("SAFETY:");
            let mut k = i;
            while k > 0 && lines[k - 1].trim_start().starts_with("//") {
                k -= 1;
                said |= lines[k].contains("SAFETY:") || lines[k].contains("# Safety");
            }
            if !said {
                missing.push(format!("{}:{}: {}", rel(&m.file), i + 1, lines[i].trim()));
            }
        }
    }
    assert!(missing.is_empty(), "unsafe without a SAFETY comment:\n{}", missing.join("\n"));
}
