//! The layering check inside each crate: a crate's `lib.rs` declares its top-level
//! modules lowest first, and a module may use only the modules declared before it. The
//! `error` module stands aside: every module may use it, and it may name what its
//! variants carry (a missing `Scope`, say). A use of a later module, by `use` or by an inline
//! path such as `crate::models::data::forget_catalog(...)`, is a violation, and so is
//! any import cycle, since one of its edges must point upwards.
//!
//! The check reads source text, not the compiler's view: it strips comments and string
//! literals, then looks for `crate::` paths (grouped ones included), `super::` chains
//! that climb to the crate root, and names the crate root re-exports (`crate::Services`
//! is the `services` module's).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The module outside the order (see the module doc).
const SHARED: &str = "error";

/// One use of a module declared after the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub file: PathBuf,
    pub line: usize,
    pub module: String,
    pub uses: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: `{}` uses `{}`, which lib.rs declares after it",
            self.file.display(),
            self.line,
            self.module,
            self.uses
        )
    }
}

/// What went wrong when checking a crate.
#[derive(Debug)]
pub enum Problem {
    Io(PathBuf, std::io::Error),
    /// A file under `src/` whose top-level module lib.rs does not declare.
    Undeclared(PathBuf),
    Violations(Vec<Violation>),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io(path, e) => write!(f, "{}: {e}", path.display()),
            Problem::Undeclared(path) => write!(f, "{}: its module is not declared in lib.rs", path.display()),
            Problem::Violations(found) => {
                for v in found {
                    writeln!(f, "{v}")?;
                }
                Ok(())
            }
        }
    }
}

/// The top-level modules `lib.rs` declares, in order.
pub fn declared_order(lib_rs: &str) -> Vec<String> {
    let code = strip_comments_and_strings(lib_rs);
    let mut depth = 0usize;
    let mut order = Vec::new();
    for line in code.lines() {
        let trimmed = line.trim();
        if depth == 0 {
            let rest = trimmed.strip_prefix("pub(crate) ").or_else(|| trimmed.strip_prefix("pub ")).unwrap_or(trimmed);
            if let Some(name) = rest.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
                order.push(name.trim().to_owned());
            }
        }
        depth += line.matches('{').count();
        depth = depth.saturating_sub(line.matches('}').count());
    }
    order
}

/// Names the crate root re-exports, by the module they come from (`pub use services::{Services, ..}`).
fn root_reexports(lib_rs: &str, order: &[String]) -> HashMap<String, String> {
    let code = strip_comments_and_strings(lib_rs);
    let mut names = HashMap::new();
    for statement in code.split(';') {
        let statement = statement.trim();
        let Some(path) = statement.strip_prefix("pub use ") else { continue };
        let module = path.split("::").next().unwrap_or_default().trim();
        if !order.iter().any(|m| m == module) {
            continue;
        }
        let tail = &path[module.len()..];
        for name in tail.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|n| !n.is_empty()) {
            names.insert(name.to_owned(), module.to_owned());
        }
    }
    names
}

/// The top-level modules a source file refers to, with the line of each reference.
/// `depth` is how deep the file's module sits (1 for `src/a.rs` and `src/a/mod.rs`, 2
/// for `src/a/b.rs`), so `super::` chains that climb to the root can be followed.
pub fn references(source: &str, depth: usize) -> Vec<(usize, String)> {
    let code = strip_comments_and_strings(source);
    let mut found = Vec::new();
    for (index, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = find_path_start(rest) {
            let (path_start, after) = at;
            let climbs =
                if path_start.starts_with("crate::") { None } else { Some(path_start.matches("super::").count()) };
            let root_reached = match climbs {
                None => true,
                Some(n) => n >= depth,
            };
            if root_reached {
                for name in first_segments(after) {
                    found.push((index + 1, name));
                }
            }
            rest = after;
        }
    }
    found
}

/// The next `crate::` or `super::super::..` path in `text`: the matched prefix and
/// what follows it.
fn find_path_start(text: &str) -> Option<(&str, &str)> {
    let crate_at = find_word(text, "crate::");
    let super_at = find_word(text, "super::");
    let at = match (crate_at, super_at) {
        (Some(c), Some(s)) => c.min(s),
        (Some(c), None) => c,
        (None, Some(s)) => s,
        (None, None) => return None,
    };
    let mut end = at;
    if text[at..].starts_with("crate::") {
        end += "crate::".len();
    } else {
        while text[end..].starts_with("super::") {
            end += "super::".len();
        }
    }
    Some((&text[at..end], &text[end..]))
}

/// `needle` where it starts a path (not `$crate::` nor part of a longer word).
fn find_word(text: &str, needle: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(needle) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            return Some(at);
        }
        from = at + needle.len();
    }
    None
}

/// The first segment of the path that starts `after` (`models` in `models::data::x`),
/// or every first segment of a group (`{a, b::{c, d}}` gives `a` and `b`).
fn first_segments(after: &str) -> Vec<String> {
    if let Some(group) = after.strip_prefix('{') {
        let mut names = Vec::new();
        let mut depth = 0usize;
        let mut start = 0usize;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    names.extend(identifier(&group[start..i]));
                    return names;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    names.extend(identifier(&group[start..i]));
                    start = i + 1;
                }
                _ => {}
            }
        }
        names.extend(identifier(&group[start..]));
        return names;
    }
    identifier(after).into_iter().collect()
}

fn identifier(text: &str) -> Option<String> {
    let name: String = text.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty() && name != "self").then_some(name)
}

/// The source with comments and the contents of string and character literals
/// removed, line breaks kept (so line numbers stay right).
pub fn strip_comments_and_strings(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                if chars[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&chars, i) {
            // A raw string: r"..", r#".."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match chars.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some('\n') => out.push('\n'),
                    _ => {}
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if chars.get(i) == Some(&'\n') {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && is_char_literal(&chars, i) {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// `'x'` or `'\n'`, not a lifetime such as `'a`.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    matches!((chars.get(i + 1), chars.get(i + 2)), (Some('\\'), _) | (Some(_), Some('\'')))
}

/// Checks one crate's `src/` against its `lib.rs`.
pub fn check_crate(src: &Path) -> Result<(), Problem> {
    let lib = src.join("lib.rs");
    let lib_rs = std::fs::read_to_string(&lib).map_err(|e| Problem::Io(lib.clone(), e))?;
    let order = declared_order(&lib_rs);
    let reexports = root_reexports(&lib_rs, &order);
    let rank = |name: &str| order.iter().position(|m| m == name);
    let mut violations = Vec::new();
    for file in rust_files(src).map_err(|e| Problem::Io(src.to_path_buf(), e))? {
        let relative = file.strip_prefix(src).unwrap_or(&file).to_path_buf();
        let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let Some(first) = parts.first() else { continue };
        // The crate root and binaries are above every module.
        if first == "lib.rs" || first == "main.rs" || first == "bin" {
            continue;
        }
        let module = first.trim_end_matches(".rs").to_owned();
        let Some(own_rank) = rank(&module) else { return Err(Problem::Undeclared(file)) };
        if module == SHARED {
            continue;
        }
        let depth = match parts.last().map(String::as_str) {
            Some("mod.rs") => parts.len() - 1,
            _ => parts.len(),
        };
        let source = std::fs::read_to_string(&file).map_err(|e| Problem::Io(file.clone(), e))?;
        for (line, name) in references(&source, depth) {
            let target = reexports.get(&name).cloned().unwrap_or(name);
            if target == module || target == SHARED {
                continue;
            }
            if rank(&target).is_some_and(|r| r > own_rank) {
                violations.push(Violation { file: file.clone(), line, module: module.clone(), uses: target });
            }
        }
    }
    if violations.is_empty() { Ok(()) } else { Err(Problem::Violations(violations)) }
}

fn rust_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A crate laid out in a temporary directory.
    struct Fixture(PathBuf);

    impl Fixture {
        fn new(files: &[(&str, &str)]) -> Self {
            let root = std::env::temp_dir().join(format!("module-order-{}", uuid::Uuid::new_v4().simple()));
            for (path, text) in files {
                let path = root.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            Self(root)
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const LIB: &str = "//! A crate.\n\npub mod error;\nmod vocab;\npub mod catalog;\npub mod models;\n\npub use models::ModelServices;\n";

    fn uses_of(problem: Result<(), Problem>) -> Vec<(String, String, usize)> {
        match problem {
            Err(Problem::Violations(v)) => v.into_iter().map(|v| (v.module, v.uses, v.line)).collect(),
            Err(other) => panic!("unexpected problem: {other}"),
            Ok(()) => Vec::new(),
        }
    }

    #[test]
    fn every_crate_of_the_workspace_keeps_its_declared_order() {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for member in ["tenants", "inference", "migrations", "domain", "api", "tests", "tools/schema-diff"] {
            if let Err(problem) = check_crate(&workspace.join(member).join("src")) {
                panic!("{member}:\n{problem}");
            }
        }
    }

    #[test]
    fn the_declared_order_is_read_from_lib_rs() {
        let lib = "pub mod a;\n#[cfg(test)]\nmod tests {\n    mod inner;\n}\npub(crate) mod b;\n// mod c;\n";
        assert_eq!(declared_order(lib), ["a", "b"]);
    }

    #[test]
    fn a_crate_that_keeps_its_order_passes() {
        let fixture = Fixture::new(&[
            ("lib.rs", LIB),
            ("error.rs", "pub struct E;\n"),
            ("vocab.rs", "use crate::error::E;\n"),
            ("catalog/mod.rs", "use crate::{error::E, vocab};\nmod store;\n"),
            ("catalog/store.rs", "use super::super::vocab::X;\nuse super::Thing;\n"),
            (
                "models/mod.rs",
                "use crate::catalog::Content;\n/// Not `crate::app::X`.\nconst S: &str = \"crate::app\";\npub struct ModelServices;\n",
            ),
        ]);
        assert_eq!(uses_of(check_crate(&fixture.0)), vec![]);
    }

    #[test]
    fn the_fixture_that_reaches_upwards_is_rejected() {
        let fixture = Fixture::new(&[
            ("lib.rs", LIB),
            ("error.rs", "use crate::models::ModelServices;\n"),
            ("vocab.rs", "pub struct Id;\n"),
            (
                "catalog/mod.rs",
                "use crate::vocab::Id;\n\npub fn delete() {\n    crate::models::data::forget_catalog();\n}\n",
            ),
            ("catalog/store.rs", "use crate::{vocab::Id, models::{a, b}};\nuse super::super::models::c;\n"),
            ("catalog/types.rs", "fn f(m: &crate::ModelServices) {}\n"),
            ("models/mod.rs", "use crate::catalog;\n"),
        ]);
        let mut found = uses_of(check_crate(&fixture.0));
        found.sort();
        assert_eq!(
            found,
            vec![
                ("catalog".into(), "models".into(), 1),
                ("catalog".into(), "models".into(), 1),
                ("catalog".into(), "models".into(), 2),
                ("catalog".into(), "models".into(), 4),
            ],
            "the inline path, the grouped use, the climbing super chain and the root re-export; `error` stands aside"
        );
    }

    #[test]
    fn a_file_of_an_undeclared_module_is_reported() {
        let fixture = Fixture::new(&[("lib.rs", "pub mod a;\n"), ("a.rs", ""), ("b.rs", "")]);
        assert!(matches!(check_crate(&fixture.0), Err(Problem::Undeclared(p)) if p.ends_with("b.rs")));
    }

    #[test]
    fn comments_and_strings_are_not_code() {
        let stripped = strip_comments_and_strings(
            "let a = \"crate::x\"; // crate::y\n/* crate::z\n */ let c = 'c'; let r = r#\"crate::w\"#;\nfn f<'a>(x: &'a str) {}\n",
        );
        assert!(!stripped.contains("crate::"), "{stripped}");
        assert_eq!(stripped.lines().count(), 4);
        assert!(stripped.contains("fn f<'a>"));
    }
}
