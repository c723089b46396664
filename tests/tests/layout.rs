//! The layout rules of `node/src` and `proto/src` (issue 10): no import cycle between modules
//! and the engine importing no face (`scripts/import-cycles.py`), and no source file much
//! longer than 500 lines, tests aside.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    chat_tests::crate_dir()
        .join("..")
        .canonicalize()
        .expect("repository root")
}

#[test]
fn node_modules_import_no_cycle_and_the_engine_no_face() {
    let root = repo_root();
    let out = Command::new("python3")
        .arg(root.join("scripts/import-cycles.py"))
        .arg(root.join("node/src"))
        .output()
        .expect("run python3 scripts/import-cycles.py");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("no import cycle"), "{text}");
}

/// Lines of a source file outside its `#[cfg(test)] mod tests` block.
fn code_lines(path: &Path) -> usize {
    let src = std::fs::read_to_string(path).expect("read source");
    let code = src.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    code.lines().count()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_much_longer_than_500_lines() {
    let root = repo_root();
    let mut files = Vec::new();
    rust_files(&root.join("node/src"), &mut files);
    rust_files(&root.join("proto/src"), &mut files);
    assert!(files.len() > 50, "found {} files", files.len());
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, code_lines(f)))
        .filter(|(_, n)| *n > 520)
        .map(|(f, n)| format!("{} ({n} lines)", f.display()))
        .collect();
    assert!(long.is_empty(), "too long: {long:?}");
}
