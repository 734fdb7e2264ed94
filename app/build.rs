//! Turns the translations under `locales/` into typed Rust (`crate::i18n`): every key is checked
//! at compile time, and a key missing from one language, or present in only one, fails the build.

use std::path::PathBuf;

use leptos_i18n_parser::parse_locales::options::{Config, ParseOptions};
use leptos_i18n_parser::parse_locales::parse_locales;

/// The namespaces, one file per language each: `locales/<language>/<namespace>.json`.
const NAMESPACES: &[&str] = &[
    "common",
    "instances",
    "actions",
    "tasks",
    "detail",
    "people",
    "audit",
    "errors",
    "workers",
    "alerts",
];

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    println!("cargo::rerun-if-changed=locales");
    let config = Config::new("en")
        .and_then(|c| c.add_locale("zh-CN"))
        .and_then(|c| c.add_namespaces(NAMESPACES))
        .expect("valid locale and namespace names")
        .parse_options(ParseOptions::new().interpolate_display(true));
    let parsed = match parse_locales(Some(dir), config) {
        Ok(parsed) => parsed,
        Err(error) => {
            println!("cargo::error=translations: {error}");
            return;
        }
    };
    let (errors, warnings) = parsed.diag.borrow();
    let problems: Vec<String> = errors
        .iter()
        .map(ToString::to_string)
        .chain(warnings.iter().map(ToString::to_string))
        .collect();
    drop((errors, warnings));
    for problem in &problems {
        println!("cargo::error=translations: {problem}");
    }
    if !problems.is_empty() {
        return;
    }
    let code = leptos_i18n_codegen::gen_code(&parsed, None, false, None, false)
        .unwrap_or_else(|error| panic!("translations: {error}"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("i18n.rs");
    std::fs::write(&out, code.to_string()).expect("OUT_DIR is writable");
}
