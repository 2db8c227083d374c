//! `schema-diff OLD.graphql NEW.graphql [--changelog CHANGELOG.md]`
//!
//! Lists the breaking changes from OLD to NEW. Without `--changelog`, exits 1 when there is
//! any; with it, exits 1 only when one of them is not announced in the changelog's
//! `## [Unreleased]` section (its coordinate between backquotes). Exits 2 when a file
//! cannot be read or does not parse. `scripts/check-schema-changes.sh` runs it in `make lint`.

use std::process::ExitCode;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("schema-diff: {message}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "usage: schema-diff OLD.graphql NEW.graphql [--changelog CHANGELOG.md]";

/// Whether the check passes.
fn run(args: Vec<String>) -> Result<bool, String> {
    let (old_path, new_path, changelog_path) = match args.as_slice() {
        [old, new] => (old, new, None),
        [old, new, flag, changelog] if flag == "--changelog" => (old, new, Some(changelog)),
        _ => return Err(USAGE.to_owned()),
    };
    let read = |path: &String| std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"));
    let changes = schema_diff::breaking_changes(&read(old_path)?, &read(new_path)?).map_err(|e| e.to_string())?;
    if changes.is_empty() {
        println!("schema: no breaking change");
        return Ok(true);
    }
    println!("schema: {} breaking change(s) from {old_path} to {new_path}:", changes.len());
    for change in &changes {
        println!("  {change}");
    }
    let Some(changelog_path) = changelog_path else {
        return Ok(false);
    };
    let changelog = read(changelog_path)?;
    let missing = schema_diff::unannounced(&changes, &changelog);
    if missing.is_empty() {
        println!("all of them are announced in {changelog_path}");
        return Ok(true);
    }
    eprintln!(
        "error: {changelog_path} does not announce {} of them; name each in its `## [Unreleased]` section, in \
         backquotes, e.g. \"- `{}`: why, and what clients do instead\":",
        missing.len(),
        missing[0].coordinate
    );
    for change in missing {
        eprintln!("  `{}`", change.coordinate);
    }
    Ok(false)
}
