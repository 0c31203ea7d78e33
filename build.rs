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

    let mut build = cc::Build::new();
    build
        .files(sources)
        .include("runtime-c")
        .std("c11")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .opt_level(3);
    sanitize(&mut build);
    build.compile("fluxvm");

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
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    bindings
        .write_to_file(out.join("flux_bindings.rs"))
        .expect("could not write the bindings");
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
