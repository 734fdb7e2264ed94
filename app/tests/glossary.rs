//! The glossary (GLOSSARY.md) and the translations (locales/) agree: every term of the glossary
//! is used, in its language, by the words the UI shows. A term that falls out of use is taken
//! out of the glossary; a page that says something else for a glossary term fails here.

use std::collections::BTreeMap;
use std::path::Path;

/// Every string of one language, from all its namespaces.
fn words(language: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join(language);
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the locales directory") {
        let path = entry.expect("a file").path();
        let text = std::fs::read_to_string(&path).expect("a readable file");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        collect(&json, &mut all);
    }
    all
}

fn collect(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => into.push(s.to_lowercase()),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect(v, into)),
        _ => {}
    }
}

/// The glossary's rows: English term(s) → Chinese term(s) (`a / b` lists several).
fn glossary() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../GLOSSARY.md");
    let text = std::fs::read_to_string(path).expect("GLOSSARY.md");
    text.lines()
        .filter(|line| {
            line.starts_with("| ") && !line.starts_with("| English") && !line.starts_with("|---")
        })
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].to_string(), cells[2].to_string())
        })
        .collect()
}

#[test]
fn every_glossary_term_is_what_the_ui_says() {
    let (english, chinese) = (words("en"), words("zh-CN"));
    let rows = glossary();
    assert!(rows.len() >= 40, "the glossary has its rows: {}", rows.len());
    let mut missing = Vec::new();
    for (en, zh) in &rows {
        for term in en.split(" / ") {
            if !english.iter().any(|w| w.contains(&term.to_lowercase())) {
                missing.push(format!("en: {term}"));
            }
        }
        for term in zh.split(" / ") {
            if !chinese.iter().any(|w| w.contains(&term.to_lowercase())) {
                missing.push(format!("zh-CN: {term}"));
            }
        }
    }
    assert!(missing.is_empty(), "glossary terms no translation uses: {missing:#?}");
}

#[test]
fn both_languages_have_the_same_keys() {
    // build.rs refuses a key missing from one language; this says which, file by file.
    fn keys(value: &serde_json::Value, prefix: &str, into: &mut Vec<String>) {
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                let key = format!("{prefix}{k}");
                if v.is_object() {
                    keys(v, &format!("{key}."), into);
                } else {
                    into.push(key);
                }
            }
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    for entry in std::fs::read_dir(dir.join("en")).expect("locales/en") {
        let name = entry.expect("a file").file_name();
        let read = |language: &str| -> Vec<String> {
            let text = std::fs::read_to_string(dir.join(language).join(&name)).expect("both files");
            let mut found = Vec::new();
            keys(&serde_json::from_str(&text).expect("valid JSON"), "", &mut found);
            found.sort();
            found
        };
        assert_eq!(read("en"), read("zh-CN"), "{name:?}");
    }
}
