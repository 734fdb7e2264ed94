//! `nightshift-split <input.wasm> <pkg dir> <main out.wasm> <main js module>`: the build step
//! between `cargo build` and `wasm-bindgen` that cuts the browser bundle at the split points
//! Leptos' `#[lazy_route]` marks. It writes the chunks and the loader module into the site's
//! `pkg` directory, the main module where wasm-bindgen will read it, and the manifest Leptos'
//! `HydrationScripts` reads to preload the chunks a server-rendered page needs.

use std::path::Path;

use anyhow::{Context, bail};

/// The names Leptos looks for (see `leptos::HydrationScripts`); the loader is imported by the
/// main module, relative to it.
const LOADER: &str = "./__wasm_split.______________________.js";
const MANIFEST: &str = "__wasm_split_manifest.json";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg, main_out, main_module] = args.as_slice() else {
        bail!("usage: nightshift-split <input.wasm> <pkg dir> <main out.wasm> <main js module>");
    };
    let wasm = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let pkg = Path::new(pkg);
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = pkg;
    options.main_out_path = Path::new(main_out);
    options.main_module = main_module;
    options.link_name = LOADER;
    let split = wasm_split_cli_support::transform(options)
        .map_err(|e| anyhow::anyhow!("splitting the bundle: {e:#}"))?;
    let manifest = serde_json::to_string_pretty(&split.prefetch_map)?;
    std::fs::write(pkg.join(MANIFEST), manifest).context("writing the split manifest")?;
    println!("{} lazily loaded chunks", split.split_modules.len());
    Ok(())
}
