//! The reference build of runtime-c for the differential test: the same
//! sources compiled with the plain switch dispatch (`FLUX_NO_COMPUTED_GOTO`),
//! every function renamed `fluxref_*` (build.rs generates both the build and
//! these bindings).  Its types are the ones of [`super::ffi`].
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case, dead_code)]
#![allow(clippy::all)]

use super::ffi::*;

include!(concat!(env!("OUT_DIR"), "/flux_ref_bindings.rs"));
