//! The layers of `src/`, read from its `crate::…` paths (docs/design.md): the
//! platform, integrations, `domain.rs`, `money.rs` and `error.rs` know no module and
//! nothing above them; modules import each other one way only, never in a cycle; a
//! module's `repo` is used by that module only; inside a module only its routes files
//! (`routes.rs`, `routes/*.rs`, `*_routes.rs`) speak HTTP (`crate::http`, axum), and
//! `workers/` none at all; `http/` imports only the lower layers; no two files of the
//! lower layers import each other. What does not hold yet is listed below as known
//! debt: the lists may only shrink (issue 11 removes them).

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

/// The non-test, non-comment code of each file, relative to `src/`.
fn sources() -> BTreeMap<PathBuf, String> {
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
                let code = without_tests(&text);
                let code: Vec<&str> = code
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("//"))
                    .collect();
                files.insert(
                    path.strip_prefix(&root).unwrap().to_path_buf(),
                    code.join("\n"),
                );
            }
        }
    }
    files
}

/// The non-test, non-comment `crate::…` paths of each file, relative to `src/`.
fn imports() -> BTreeMap<PathBuf, Vec<String>> {
    sources()
        .into_iter()
        .map(|(file, code)| {
            let paths = crate_paths(&code);
            (file, paths)
        })
        .collect()
}

/// The code without its `#[cfg(test)]` items (a `mod tests { … }` block, or a
/// `use …;`), wherever they sit in the file.
fn without_tests(text: &str) -> String {
    let mut code = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        code.push_str(&rest[..at]);
        rest = &rest[at + "#[cfg(test)]".len()..];
        let block = rest.find('{');
        match rest.find(';') {
            Some(end) if block.is_none_or(|b| end < b) => rest = &rest[end + 1..],
            _ => {
                let start = block.unwrap_or(rest.len());
                let inner = braced(&rest[start..]);
                rest = &rest[start + inner.len() + 2..];
            }
        }
    }
    code.push_str(rest);
    code
}

fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ':'
}

/// The `crate::…` paths of some code: a group (`crate::modules::{accounts, jobs::model}`,
/// on one line or several) counts as each of its paths, and after `use crate::modules;`
/// every `modules::x` path counts too.
fn crate_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let path: String = rest.chars().take_while(|c| is_path_char(*c)).collect();
        rest = &rest[path.len()..];
        if (path.is_empty() || path.ends_with("::")) && rest.trim_start().starts_with('{') {
            let group = rest.trim_start();
            let inner = braced(group);
            rest = &group[inner.len() + 2..];
            expand(&path, inner, &mut paths);
        } else {
            paths.push(path.trim_end_matches(':').to_owned());
        }
    }
    // `use crate::modules;` (or `crate::modules::{self, …}`): its `modules::x` paths.
    if paths.iter().any(|p| p == "modules") {
        for (at, _) in code.match_indices("modules::") {
            if code[..at].chars().next_back().is_some_and(is_path_char) {
                continue;
            }
            let rest = &code[at + "modules::".len()..];
            let path: String = rest.chars().take_while(|c| is_path_char(*c)).collect();
            paths.push(format!("modules::{}", path.trim_end_matches(':')));
        }
    }
    paths
}

/// What is between the `{` that `text` starts with and its matching `}`.
fn braced(text: &str) -> &str {
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[1..at];
                }
            }
            _ => {}
        }
    }
    panic!("unclosed group: {text}")
}

/// The paths of a group's items, each after `prefix` (which ends with `::`).
fn expand(prefix: &str, group: &str, paths: &mut Vec<String>) {
    let mut depth = 0;
    let mut start = 0;
    let mut items = Vec::new();
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    for item in items.into_iter().map(str::trim).filter(|i| !i.is_empty()) {
        let path: String = item.chars().take_while(|c| is_path_char(*c)).collect();
        let after = item[path.len()..].trim_start();
        if after.starts_with('{') {
            expand(&format!("{prefix}{path}"), braced(after), paths);
        } else if path == "self" {
            paths.push(prefix.trim_end_matches(':').to_owned());
        } else {
            paths.push(format!("{prefix}{}", path.trim_end_matches(':')));
        }
    }
}

#[test]
fn the_import_reader_expands_groups() {
    let code = "use crate::modules::{accounts, jobs::{self, model::Job},\n    users::model::Role};\n\
                use crate::modules;\nlet x = modules::hub::Links; let y = crate::platform::db;";
    assert_eq!(
        crate_paths(code),
        [
            "modules::accounts",
            "modules::jobs",
            "modules::jobs::model::Job",
            "modules::users::model::Role",
            "modules",
            "platform::db",
            "modules::hub::Links",
        ]
    );
}

#[test]
fn the_import_reader_skips_test_items_only() {
    let code = "use crate::a;\n#[cfg(test)]\nuse crate::b;\n#[cfg(test)]\nmod tests {\n    \
                use crate::c;\n    fn f() { crate::d(); }\n}\nuse crate::e;\n";
    assert_eq!(crate_paths(&without_tests(code)), ["a", "e"]);
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
    let low = ["platform", "integrations", "domain", "money", "error"];
    let allowed = [
        "platform",
        "integrations",
        "domain",
        "money",
        "error",
        "config",
    ];
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
fn http_imports_only_the_lower_layers() {
    // The extractors and middleware are generic over the router's state
    // (`http::Edge`, implemented by `app::AppState`); the login behind the `Ctx`
    // extractor is `auth`'s, reached through `Edge::authenticate` (docs/design.md).
    let allowed = [
        "http",
        "platform",
        "integrations",
        "domain",
        "money",
        "error",
        "config",
    ];
    let mut wrong = Vec::new();
    for (file, paths) in imports() {
        if unit(&file) != "http" {
            continue;
        }
        for path in paths {
            if !allowed.contains(&target(&path).as_str()) {
                wrong.push(format!("{}: crate::{path}", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "http imports from above: {wrong:#?}");
}

#[test]
fn a_modules_repo_is_used_by_that_module_only() {
    // Known debt: (user of the repo, the repo), none left (`auth` reads and writes
    // users through `users::service`'s `*_on` functions). A new one goes through the
    // owning module's service instead.
    let known: BTreeSet<(&str, &str)> = BTreeSet::new();
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
    // The largest set of modules that import each other round about. There is none
    // left: every module-to-module import runs one way (docs/design.md, "Layers").
    // A module that must react to one above it listens to its events instead.
    const LARGEST: usize = 0;
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
    let set: BTreeSet<&String> = walk
        .sets
        .iter()
        .find(|s| s.len() == largest)
        .into_iter()
        .flatten()
        .collect();
    let inside: Vec<String> = edges
        .iter()
        .filter(|(from, _)| set.contains(from))
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|t| set.contains(t))
                .map(move |t| format!("{from} -> {t}"))
        })
        .collect();
    // A module outside any cycle is a set of one.
    let cycle = if largest >= 2 { largest } else { 0 };
    match cycle.cmp(&LARGEST) {
        std::cmp::Ordering::Greater => {
            panic!("the module cycle grew to {cycle}: {set:?}, its imports: {inside:#?}")
        }
        std::cmp::Ordering::Less => {
            panic!("the module cycle is down to {cycle} ({set:?}): lower LARGEST to {cycle}")
        }
        std::cmp::Ordering::Equal => {}
    }
    // The live hub listens; nothing calls it.
    for (from, to) in &edges {
        assert!(
            !to.contains("modules::live"),
            "{from} calls the live hub; raise an event instead"
        );
    }
}

/// A module's routes file: `routes.rs`, a file under `routes/`, or `<name>_routes.rs`
/// (the routes of one part of the module, such as `auth/team_routes.rs`).
fn is_routes(file: &Path) -> bool {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    name == "routes.rs"
        || name.ends_with("_routes.rs")
        || file
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|dir| dir == "routes")
}

/// Whether `code` names the `crate` (`axum::…`, `utoipa_axum::…`) as a path.
fn names_crate(code: &str, krate: &str) -> bool {
    let pattern = format!("{krate}::");
    code.match_indices(&pattern)
        .any(|(at, _)| !code[..at].chars().next_back().is_some_and(is_path_char))
}

#[test]
fn the_import_reader_tells_routes_and_crates() {
    assert!(is_routes(Path::new("modules/jobs/routes.rs")));
    assert!(is_routes(Path::new("modules/auth/team_routes.rs")));
    assert!(is_routes(Path::new("modules/jobs/routes/visits.rs")));
    assert!(!is_routes(Path::new("modules/jobs/service.rs")));
    assert!(!is_routes(Path::new("modules/jobs/reroutes.rs")));
    assert!(names_crate("use axum::Json;", "axum"));
    assert!(names_crate("-> axum::Json<T>", "axum"));
    assert!(!names_crate("use utoipa_axum::routes;", "axum"));
    assert!(names_crate("use utoipa_axum::routes;", "utoipa_axum"));
}

#[test]
fn only_routes_files_speak_http() {
    // Services, repos and models return `crate::error::Error`, take
    // `platform::database::Ctx` and `platform::pagination::PageRequest`: a worker or a
    // command calls them as a handler does. The HTTP edge (extractors, problem+json,
    // axum) is the routes files' business (docs/design.md, "Layers").
    let mut wrong = Vec::new();
    for (file, code) in sources() {
        if !unit(&file).starts_with("modules::") || is_routes(&file) {
            continue;
        }
        let http = crate_paths(&code)
            .into_iter()
            .filter(|path| target(path) == "http")
            .map(|path| format!("crate::{path}"));
        let web = ["axum", "utoipa_axum"]
            .into_iter()
            .filter(|krate| names_crate(&code, krate))
            .map(|krate| format!("{krate}::"));
        for what in http.chain(web) {
            wrong.push(format!("{}: {what}", file.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "HTTP outside a routes file (move the handler to routes.rs or <name>_routes.rs, \
         the type to error.rs or platform): {wrong:#?}"
    );
}

#[test]
fn workers_speak_no_http() {
    // A job handler calls services (and the platform) as a routes file does, but it
    // answers no request: no axum, no extractor, no problem+json (issue 11). The HTTP
    // of background jobs (`/api/v1/admin/jobs`) is `operations::jobs_routes`.
    let mut wrong = Vec::new();
    for (file, code) in sources() {
        if unit(&file) != "workers" {
            continue;
        }
        // Nor the server above it (`app`) or the commands (`cli`): the runner takes
        // what it needs (`workers::Shared`).
        let http = crate_paths(&code)
            .into_iter()
            .filter(|path| ["http", "app", "cli"].contains(&target(path).as_str()))
            .map(|path| format!("crate::{path}"));
        let web = ["axum", "utoipa_axum", "tower_http"]
            .into_iter()
            .filter(|krate| names_crate(&code, krate))
            .map(|krate| format!("{krate}::"));
        for what in http.chain(web) {
            wrong.push(format!("{}: {what}", file.display()));
        }
    }
    assert!(wrong.is_empty(), "HTTP in workers/: {wrong:#?}");
}

/// The source file a `crate::…` path names (the longest prefix that is a file).
fn file_of(path: &str, files: &BTreeSet<PathBuf>) -> Option<PathBuf> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len()).rev().find_map(|n| {
        let base = parts[..n].join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .into_iter()
            .map(PathBuf::from)
            .find(|candidate| files.contains(candidate))
    })
}

#[test]
fn no_two_files_of_the_lower_layers_import_each_other() {
    // The platform and the integrations may use each other, one way per pair: a type
    // both need lives apart (`platform::email` for the mailer and SendGrid's client).
    let low = ["platform", "integrations", "domain", "money", "error"];
    let imports = imports();
    let files: BTreeSet<PathBuf> = imports.keys().cloned().collect();
    let mut edges = BTreeSet::new();
    for (file, paths) in &imports {
        if !low.contains(&unit(file).as_str()) {
            continue;
        }
        for path in paths {
            if let Some(to) = file_of(path, &files)
                && &to != file
            {
                edges.insert((file.clone(), to));
            }
        }
    }
    // Known, and meant: the unit of work and its events are one mechanism in two
    // files (`Tx` raises and commits events; the relay and `since` read through `Db`).
    let known = [("platform/database.rs", "platform/events.rs")];
    let mutual: Vec<_> = edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(b.clone(), a.clone())))
        .filter(|(a, b)| !known.contains(&(a.to_str().unwrap(), b.to_str().unwrap())))
        .collect();
    assert!(
        mutual.is_empty(),
        "files that import each other: {mutual:#?}"
    );
}
