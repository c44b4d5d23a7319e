//! The layers of `src/`, read from its `crate::…` paths (docs/design.md): the
//! platform, integrations, `domain.rs` and `money.rs` know no module and nothing above
//! them; a module's `repo` is used by that module only. What does not hold yet is
//! listed below as known debt: the lists may only shrink (issue 11 removes them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where a source file belongs: `platform`, `http`, `modules::jobs`, `app`…
fn unit(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [first, module, ..] if first == "modules" => format!("modules::{module}"),
        [first, ..] => first.clone(),
        [] => String::new(),
    }
}

/// The non-test, non-comment `crate::…` paths of each file, relative to `src/`.
fn imports() -> BTreeMap<PathBuf, Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                // Unit tests sit at the end of a file, after `#[cfg(test)]`.
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                let mut paths = Vec::new();
                for line in code.lines() {
                    let line = line.trim_start();
                    if line.starts_with("//") {
                        continue;
                    }
                    let mut rest = line;
                    while let Some(at) = rest.find("crate::") {
                        rest = &rest[at + "crate::".len()..];
                        let path: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                            .collect();
                        paths.push(path.trim_end_matches(':').to_owned());
                    }
                }
                files.insert(path.strip_prefix(&root).unwrap().to_path_buf(), paths);
            }
        }
    }
    files
}

/// The unit a `crate::` path points into.
fn target(path: &str) -> String {
    let mut parts = path.split("::");
    match (parts.next(), parts.next()) {
        (Some("modules"), Some(module)) => format!("modules::{module}"),
        (Some(first), _) => first.to_owned(),
        _ => String::new(),
    }
}

#[test]
fn the_lower_layers_know_nothing_above_them() {
    let low = ["platform", "integrations", "domain", "money"];
    let allowed = ["platform", "integrations", "domain", "money", "config"];
    let mut wrong = Vec::new();
    for (file, paths) in imports() {
        let from = unit(&file);
        if !low.contains(&from.as_str()) {
            continue;
        }
        for path in paths {
            if !allowed.contains(&target(&path).as_str()) {
                wrong.push(format!("{}: crate::{path}", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "imports from above: {wrong:#?}");
}

#[test]
fn http_imports_no_module_but_the_known_ones() {
    // Known debt: the extractors need the application state, the login (auth) and
    // the role (users). Moving `Ctx` and `Role` down and making the extractors
    // generic over their state removes these.
    let known: BTreeSet<&str> = ["app", "modules::auth", "modules::users"].into();
    let mut found = BTreeSet::new();
    for (file, paths) in imports() {
        if unit(&file) != "http" {
            continue;
        }
        for path in paths {
            let to = target(&path);
            if to.starts_with("modules::") || ["app", "workers", "cli"].contains(&to.as_str()) {
                assert!(
                    known.contains(to.as_str()),
                    "{}: crate::{path} is a new import from above",
                    file.display()
                );
                found.insert(to);
            }
        }
    }
    let gone: Vec<_> = known.iter().filter(|k| !found.contains(**k)).collect();
    assert!(
        gone.is_empty(),
        "paid off, remove from the known list: {gone:?}"
    );
}

#[test]
fn a_modules_repo_is_used_by_that_module_only() {
    // Known debt: (user of the repo, the repo). Each goes through the owning module's
    // service instead.
    let known: BTreeSet<(&str, &str)> = [
        ("cli", "users"),
        ("modules::auth", "users"),
        ("modules::invoices", "accounts"),
        ("modules::jobs", "accounts"),
        ("modules::quotes", "accounts"),
        ("modules::users", "auth"),
        ("workers", "auth"),
    ]
    .into();
    let mut found = BTreeSet::new();
    for (file, paths) in imports() {
        let from = unit(&file);
        for path in paths {
            let parts: Vec<&str> = path.split("::").collect();
            if let ["modules", module, "repo", ..] = parts.as_slice()
                && from != format!("modules::{module}")
            {
                let pair = (from.clone(), (*module).to_owned());
                assert!(
                    known.contains(&(pair.0.as_str(), pair.1.as_str())),
                    "{}: crate::{path}: another module's repo",
                    file.display()
                );
                found.insert(pair);
            }
        }
    }
    let gone: Vec<_> = known
        .iter()
        .filter(|(a, b)| !found.contains(&((*a).to_owned(), (*b).to_owned())))
        .collect();
    assert!(
        gone.is_empty(),
        "paid off, remove from the known list: {gone:?}"
    );
}

#[test]
fn the_module_cycle_does_not_grow() {
    // Known debt: one strongly connected set of modules (they import each other
    // round about). It may only get smaller; the goal is none.
    const LARGEST: usize = 14;
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, paths) in imports() {
        let from = unit(&file);
        if !from.starts_with("modules::") {
            continue;
        }
        for path in paths {
            let to = target(&path);
            if to.starts_with("modules::") && to != from {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Tarjan's strongly connected components.
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        sets: Vec<Vec<String>>,
    }
    fn visit(walk: &mut Walk<'_>, v: &str) {
        let n = walk.index.len();
        walk.index.insert(v.to_owned(), n);
        walk.low.insert(v.to_owned(), n);
        walk.stack.push(v.to_owned());
        let next: Vec<String> = walk.edges.get(v).into_iter().flatten().cloned().collect();
        for w in next {
            if !walk.index.contains_key(&w) {
                visit(walk, &w);
                let low = walk.low[v].min(walk.low[&w]);
                walk.low.insert(v.to_owned(), low);
            } else if walk.stack.contains(&w) {
                let low = walk.low[v].min(walk.index[&w]);
                walk.low.insert(v.to_owned(), low);
            }
        }
        if walk.low[v] == walk.index[v] {
            let mut set = Vec::new();
            while let Some(w) = walk.stack.pop() {
                let done = w == v;
                set.push(w);
                if done {
                    break;
                }
            }
            walk.sets.push(set);
        }
    }
    let mut walk = Walk {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        sets: Vec::new(),
    };
    let modules: Vec<String> = edges.keys().cloned().collect();
    for module in &modules {
        if !walk.index.contains_key(module) {
            visit(&mut walk, module);
        }
    }
    let largest = walk.sets.iter().map(Vec::len).max().unwrap_or(0);
    assert!(
        largest <= LARGEST,
        "the module cycle grew to {largest}: {:?}",
        walk.sets.iter().find(|s| s.len() == largest)
    );
    // The live hub listens; nothing calls it.
    for (from, to) in &edges {
        assert!(
            !to.contains("modules::live"),
            "{from} calls the live hub; raise an event instead"
        );
    }
}
