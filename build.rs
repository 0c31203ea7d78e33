//! Builds the FLUX runtime (runtime-c/) with `cc` and generates its Rust
//! bindings with `bindgen` from the public header: the crate has no
//! hand-written `extern "C"` declarations.
use std::env;
use std::path::PathBuf;

fn main() {
    let sources = ["runtime-c/flux_vm.c", "runtime-c/flux_sched.c", "runtime-c/flux_hooks.c", "runtime-c/flux_cond.c"];
    let headers = ["runtime-c/flux_vm.h", "runtime-c/flux_vm_internal.h", "runtime-c/flux_opcodes.h", "runtime-c/flux_cond_eval.h", "runtime-c/flux_ax_eval.h"];
    for f in sources.iter().chain(headers.iter()) {
        println!("cargo:rerun-if-changed={f}");
    }

    // FLUX_OPT_LEVEL: the -O level of both builds below (unset: 3 and 2).
    // scripts/mutate_c.py sets 0: a mutant's C compile in a fifth of the
    // time, and unlike CFLAGS it leaves the other crates' C builds alone.
    println!("cargo:rerun-if-env-changed=FLUX_OPT_LEVEL");
    let opt = env::var("FLUX_OPT_LEVEL").ok().filter(|o| !o.is_empty());
    let opt_level = |default: &str| opt.clone().unwrap_or_else(|| default.to_string());

    let mut build = cc::Build::new();
    build
        .files(sources)
        .include("runtime-c")
        .std("c11")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        // cc asks for frame pointers when there is debug information (the
        // release profile has it): the interpreter loop then has one
        // register less, and fib(25) took 13% more host instructions
        .flag("-fomit-frame-pointer")
        .opt_level_str(&opt_level("3"));
    sanitize(&mut build);
    build.compile("fluxvm");

    // The reference build for the differential test (src/runtime/differential.rs):
    // the same sources with the plain switch dispatch (FLUX_NO_COMPUTED_GOTO),
    // every function renamed fluxref_* by a generated header, so that both
    // link into one binary.  Only the test uses it; the linker leaves it out
    // of everything else.
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let names = out.join("flux_ref_names.h");
    write_if_changed(&names, &reference_renames(&sources, &headers));
    let mut reference = cc::Build::new();
    reference
        .files(sources)
        .include("runtime-c")
        .std("c11")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .flag("-include")
        .flag(names.to_str().expect("OUT_DIR is UTF-8"))
        .define("FLUX_NO_COMPUTED_GOTO", None)
        .opt_level_str(&opt_level("2"));
    sanitize(&mut reference);
    reference.compile("fluxvm_ref");

    let bindings = bindgen::Builder::default()
        .header("runtime-c/flux_vm.h")
        .clang_arg("-Iruntime-c")
        .allowlist_function("flux_.*")
        .allowlist_type("flux_.*")
        .allowlist_var("FLUX_.*")
        .prepend_enum_name(false)
        .derive_default(true)
        .derive_copy(true)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen could not generate bindings for runtime-c/flux_vm.h");
    write_if_changed(&out.join("flux_bindings.rs"), &bindings.to_string());

    // The reference build's functions; its types are the ones above.
    let wrapper = out.join("flux_ref.h");
    write_if_changed(&wrapper, &format!("#include \"{}\"\n#include \"flux_vm.h\"\n", names.display()));
    let ref_bindings = bindgen::Builder::default()
        .header(wrapper.to_str().expect("OUT_DIR is UTF-8"))
        .clang_arg("-Iruntime-c")
        .allowlist_function("fluxref_.*")
        .allowlist_recursively(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen could not generate the reference build's bindings");
    write_if_changed(&out.join("flux_ref_bindings.rs"), &ref_bindings.to_string());
}

/// Writes `text` to `path` unless the file already holds it: a rerun for a
/// change in runtime-c's code alone (scripts/mutate_c.py's mutants) leaves the
/// generated files, and their times, as they were.
fn write_if_changed(path: &std::path::Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("could not write {}: {e}", path.display()));
}

/// `#define flux_x fluxref_x` for every function (and function-like use) of
/// runtime-c named flux_* or fluxi_*: an identifier of that form directly
/// followed by `(` in any of its files.
fn reference_renames(sources: &[&str], headers: &[&str]) -> String {
    let mut names = std::collections::BTreeSet::new();
    for f in sources.iter().chain(headers.iter()) {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        let b = text.as_bytes();
        let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        let mut i = 0;
        while i < b.len() {
            if ident(b[i]) {
                let start = i;
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                let word = &text[start..i];
                let mut j = i;
                while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                    j += 1;
                }
                if (word.starts_with("flux_") || word.starts_with("fluxi_")) && j < b.len() && b[j] == b'(' {
                    names.insert(word.to_string());
                }
            } else {
                i += 1;
            }
        }
    }
    let mut h = String::from("/* generated by build.rs: the reference build's names */\n");
    for n in names {
        let bare = n.strip_prefix("fluxi_").map(|r| format!("i_{r}")).unwrap_or_else(|| n["flux_".len()..].to_string());
        h.push_str(&format!("#define {n} fluxref_{bare}\n"));
    }
    h
}

/// `FLUX_SANITIZE`: instruments runtime-c for fuzzing (scripts/fuzz.sh sets it;
/// unset, the build is the ordinary one).  A comma-separated list of:
///
/// - `address`: AddressSanitizer (`-fsanitize=address`), to go with
///   `cargo fuzz`'s `-Zsanitizer=address` for the Rust side, whose runtime the
///   final link brings in;
/// - `undefined`: UndefinedBehaviorSanitizer in trap mode (no runtime needed:
///   undefined behaviour stops the process with SIGILL, which libFuzzer reports);
/// - `fuzzer`: libFuzzer coverage of the C code (`-fsanitize=fuzzer-no-link`),
///   so the fuzzer is guided by the interpreter's branches too.
///
/// These flags need clang: unless `CC` names a compiler, clang is used.
fn sanitize(build: &mut cc::Build) {
    println!("cargo:rerun-if-env-changed=FLUX_SANITIZE");
    let Ok(list) = env::var("FLUX_SANITIZE") else { return };
    let kinds: Vec<&str> = list.split(',').map(str::trim).filter(|k| !k.is_empty()).collect();
    if kinds.is_empty() {
        return;
    }
    let target = env::var("TARGET").unwrap_or_default();
    let cc_set = env::var_os(format!("CC_{}", target.replace('-', "_"))).is_some() || env::var_os("CC").is_some();
    if !cc_set {
        build.compiler("clang");
    }
    build.flag("-g").flag("-fno-omit-frame-pointer");
    for kind in kinds {
        match kind {
            "address" => build.flag("-fsanitize=address"),
            "undefined" => build.flag("-fsanitize=undefined").flag("-fsanitize-trap=undefined"),
            "fuzzer" => build.flag("-fsanitize=fuzzer-no-link"),
            other => panic!("FLUX_SANITIZE: unknown sanitizer '{other}' (address, undefined, fuzzer)"),
        };
    }
}
