//! The files of a library and their content hash.
//!
//! The hash is Go's dirhash "h1" construction (golang.org/x/mod/sumdb/dirhash `Hash1`):
//! SHA-256 over the lines `"{hex sha256 of the file}  {path}\n"`, one per file, sorted by
//! path, written as `h1:` and the base64 of the digest. It depends only on the paths and
//! contents of the files, not on git, an archive format or timestamps.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A library's files: path relative to its root (with `/`), contents; sorted by path.
pub type Files = BTreeMap<String, Vec<u8>>;

/// At most this many files, and this many bytes in all, in one library.
const MAX_FILES: usize = 10_000;
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Reads every file under `root`, `.git` left out. Symlinks and files that are neither plain
/// files nor folders are refused: a library is plain files, so that what is hashed is what is
/// loaded.
pub fn read_tree(root: &Path) -> Result<Files, String> {
    let mut files = Files::new();
    let mut total = 0u64;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            let kind = entry.file_type().map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            if !kind.is_file() {
                return Err(format!(
                    "{} is a symlink or special file; a library may hold only files and folders",
                    path.display()
                ));
            }
            let relative = path
                .strip_prefix(root)
                .ok()
                .and_then(Path::to_str)
                .filter(|r| !r.contains('\n'))
                .ok_or_else(|| {
                    format!("{}: a file name vmssid cannot hash (not UTF-8, or a newline)", path.display())
                })?
                .replace('\\', "/");
            let data = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            total += data.len() as u64;
            if files.len() >= MAX_FILES || total > MAX_BYTES {
                return Err(format!(
                    "{} holds more than {MAX_FILES} files or {} MiB; a library should be small",
                    root.display(),
                    MAX_BYTES >> 20
                ));
            }
            files.insert(relative, data);
        }
    }
    Ok(files)
}

/// The hex SHA-256 of one file's contents.
pub fn file_hash(data: &[u8]) -> String {
    Sha256::digest(data).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The `h1:` hash of `files` (see the module's documentation).
pub fn hash(files: &Files) -> String {
    let mut summary = Sha256::new();
    for (path, data) in files {
        summary.update(format!("{}  {path}\n", file_hash(data)));
    }
    format!("h1:{}", base64::engine::general_purpose::STANDARD.encode(summary.finalize()))
}

/// The paths whose contents differ between `old` and `new`, as `A path`, `M path` or `D path`.
pub fn changes(old: &Files, new: &Files) -> Vec<String> {
    let mut out = Vec::new();
    for (path, data) in new {
        match old.get(path) {
            None => out.push(format!("A {path}")),
            Some(before) if before != data => out.push(format!("M {path}")),
            Some(_) => {}
        }
    }
    out.extend(old.keys().filter(|p| !new.contains_key(*p)).map(|p| format!("D {p}")));
    out.sort_by(|a, b| a[2..].cmp(&b[2..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_gos_dirhash_h1() {
        // Go: dirhash.Hash1([]string{"a.rhai", "lib/b.rhai"}, open) over these contents.
        let files: Files =
            [("a.rhai".to_string(), b"fn a() { 1 }\n".to_vec()), ("lib/b.rhai".to_string(), b"".to_vec())]
                .into_iter()
                .collect();
        let lines = format!(
            "{}  a.rhai\n{}  lib/b.rhai\n",
            file_hash(b"fn a() { 1 }\n"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(lines.as_bytes()));
        assert_eq!(hash(&files), format!("h1:{expected}"));
        let mut changed = files.clone();
        changed.insert("a.rhai".into(), b"fn a() { 2 }\n".to_vec());
        assert_ne!(hash(&changed), hash(&files), "contents count");
        changed.remove("lib/b.rhai");
        changed.insert("c.rhai".into(), Vec::new());
        assert_eq!(changes(&files, &changed), ["M a.rhai", "A c.rhai", "D lib/b.rhai"]);
    }

    #[cfg(unix)]
    #[test]
    fn trees_are_plain_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib/.git")).unwrap();
        std::fs::write(dir.path().join("lib/m.rhai"), "1").unwrap();
        std::fs::write(dir.path().join("lib/.git/HEAD"), "x").unwrap();
        let files = read_tree(dir.path()).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["lib/m.rhai"]);
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("evil.rhai")).unwrap();
        assert!(read_tree(dir.path()).unwrap_err().contains("symlink"));
    }
}
