//! The runtime's layers, checked from its source: each folder of `src/` is a layer, imports run
//! one way (from the top down), no module imports itself back through others, and code inside
//! the crate imports from the defining module, never through the crate root's re-exports.
//!
//! ```text
//! hub → endpoint → pool → http, connection → base
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer and the layers below it that it may import from.
const LAYERS: &[(&str, &[&str])] = &[
    ("hub", &["endpoint", "pool", "http", "connection", "base"]),
    ("endpoint", &["pool", "http", "connection", "base"]),
    ("pool", &["http", "connection", "base"]),
    ("http", &["base"]),
    ("connection", &["base"]),
    ("base", &[]),
];

/// Root items code inside the crate may name: the prelude (which tests use as users do).
const ROOT_ITEMS: &[&str] = &["prelude"];

/// One source file: its module path (`connection::state`), and the modules it imports.
struct Module {
    file: PathBuf,
    imports: BTreeSet<String>,
}

fn modules() -> BTreeMap<String, Module> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    let mut pending = vec![src.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = module_name(&src, &path);
                let text = std::fs::read_to_string(&path).expect("read file");
                let imports = imports(&text);
                modules.insert(
                    name,
                    Module {
                        file: path,
                        imports,
                    },
                );
            }
        }
    }
    modules
}

/// `src/connection/state.rs` → `connection::state`; `mod.rs` is its folder, `lib.rs` is `""`.
fn module_name(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// Every `crate::…` path in code (not in comments), up to its first segment that is not a
/// lowercase identifier: `crate::base::sync::lock` gives `base::sync::lock`, `crate::Error`
/// gives `Error` (a root re-export).
fn imports(text: &str) -> BTreeSet<String> {
    let is_module_like = |s: &&str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let ident_end = |s: &str| {
                s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(s.len())
            };
            let mut segments = Vec::new();
            let mut tail = rest;
            loop {
                let end = ident_end(tail);
                let segment = &tail[..end];
                if !is_module_like(&segment) {
                    if segments.is_empty() && !segment.is_empty() {
                        segments.push(segment);
                    }
                    break;
                }
                segments.push(segment);
                match tail[end..].strip_prefix("::") {
                    Some(next) => tail = next,
                    None => break,
                }
            }
            if !segments.is_empty() {
                found.insert(segments.join("::"));
            }
        }
    }
    found
}

/// The module `path` names: its longest prefix that is a module of the crate.
fn resolve<'a>(path: &str, modules: &'a BTreeMap<String, Module>) -> Option<&'a str> {
    let mut candidate = path;
    loop {
        if let Some((name, _)) = modules.get_key_value(candidate) {
            return Some(name);
        }
        candidate = &candidate[..candidate.rfind("::")?];
    }
}

fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or_default()
}

#[test]
fn imports_run_down_the_layers_and_name_the_defining_module() {
    let modules = modules();
    let mut wrong = Vec::new();
    for (name, module) in &modules {
        if name.is_empty() {
            continue; // lib.rs re-exports everything.
        }
        let (_, below) = LAYERS
            .iter()
            .find(|(l, _)| *l == layer(name))
            .unwrap_or_else(|| panic!("{}: in no layer", module.file.display()));
        for import in &module.imports {
            let Some(target) = resolve(import, &modules).filter(|t| !t.is_empty()) else {
                if !ROOT_ITEMS.contains(&import.as_str()) {
                    wrong.push(format!("{name}: `crate::{import}` is a root re-export"));
                }
                continue;
            };
            let to = layer(target);
            if to != layer(name) && !below.contains(&to) {
                wrong.push(format!(
                    "{name} imports {target}: `{to}` is not below `{}`",
                    layer(name)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_module_imports_itself_back() {
    let modules = modules();
    let edges: BTreeMap<&str, Vec<&str>> = modules
        .iter()
        .map(|(name, module)| {
            let targets = module
                .imports
                .iter()
                .filter_map(|i| resolve(i, &modules))
                .filter(|t| *t != name && !t.is_empty())
                .collect();
            (name.as_str(), targets)
        })
        .collect();
    // Depth-first search with the path on the stack: an edge back into it is a cycle.
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            return Some(path[at..].iter().copied().chain([node]).collect());
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_checks_see_imports() {
    let found = imports("use crate::connection::state::{Control, Flush};\n// crate::hub::x\nuse crate::base::sync::lock;");
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["base::sync::lock", "connection::state"]
    );
    let modules = modules();
    assert_eq!(resolve("base::sync::lock", &modules), Some("base::sync"));
    assert!(modules["hub::route"].imports.contains("http::request"));
}
