//! Where the REPL keeps its history, and which lines it must never write there.

use std::path::{Path, PathBuf};

/// The history file: `--history`/`VMSSID_HISTORY`, else `$XDG_STATE_HOME/vmssid/history`, else
/// `~/.local/state/vmssid/history` (also on systems without an XDG state dir).
pub fn default_path() -> Option<PathBuf> {
    let state = dirs::state_dir().or_else(|| dirs::home_dir().map(|h| h.join(".local").join("state")))?;
    Some(state.join("vmssid").join("history"))
}

/// Creates the folder of the history file, private to the user, since history can be sensitive.
pub fn prepare(path: &Path) -> std::io::Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else { return Ok(()) };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Words that mark a line as handling a credential; matched case-insensitively.
const SECRET_WORDS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "credential",
    "apikey",
    "api_key",
    "bearer",
    "authorization",
];

/// Whether a line may hold a secret and so must stay out of the history file. Errs on the side
/// of leaving lines out: a lost history line is cheap, a leaked token is not.
pub fn looks_secret(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w)) || has_jwt(line) || has_long_opaque_word(line)
}

/// A JSON Web Token: `eyJ` (base64url of `{"`), then three base64url parts joined by dots.
fn has_jwt(line: &str) -> bool {
    line.match_indices("eyJ").any(|(i, _)| {
        let word: String = line[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        let parts: Vec<&str> = word.split('.').collect();
        parts.len() >= 3 && parts[0].len() >= 10 && parts[1].len() >= 4
    })
}

/// A long run of base64-ish characters with letters and digits mixed, like a key or a SAS
/// signature. Resource ids, GUIDs and names have separators or are shorter.
fn has_long_opaque_word(line: &str) -> bool {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_')))
        .flat_map(|w| w.split('/'))
        .any(|w| {
            w.len() >= 40
                && w.chars().any(|c| c.is_ascii_digit())
                && w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars().any(|c| c.is_ascii_lowercase())
                && !w.contains('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_history() {
        let secret = [
            r#"let token = "abc";"#,
            r#"set_env("VMSSID_ACCESS_TOKEN", x)"#,
            "let client_secret = s;",
            "let PASSWORD = 1;",
            r#"let h = "Bearer abc";"#,
            "let t = eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl;",
            "let k = \"Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTBBQkNERUZHSElK\";",
        ];
        for line in secret {
            assert!(looks_secret(line), "{line:?} must not be saved");
        }
        let fine = [
            r#"get_vmss("myResourceGroup", "myVMSS")"#,
            r#"add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"))"#,
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS",
            "for v in list_vmss() { print(v.name); }",
            ".dry-run on",
        ];
        for line in fine {
            assert!(!looks_secret(line), "{line:?} should be saved");
        }
    }
}
