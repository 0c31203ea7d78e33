//! Builds the FLUX runtime (runtime-c/) with `cc` and generates its Rust
//! bindings with `bindgen` from the public header: the crate has no
//! hand-written `extern "C"` declarations.
use std::env;
use std::path::PathBuf;

fn main() {
    let sources = ["runtime-c/flux_vm.c"];
    let headers = ["runtime-c/flux_vm.h", "runtime-c/flux_opcodes.h"];
    for f in sources.iter().chain(headers.iter()) {
        println!("cargo:rerun-if-changed={f}");
    }

    cc::Build::new()
        .files(sources)
        .include("runtime-c")
        .std("c11")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .opt_level(3)
        .compile("fluxvm");

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
