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
    "accountkey",
    "sharedaccesskey",
    "sharedaccesssignature",
];

/// Whether a line may hold a secret and so must stay out of the history file. Errs on the side
/// of leaving lines out: a lost history line is cheap, a leaked token is not.
pub fn looks_secret(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
        || lower.contains("?sig=")
        || lower.contains("&sig=")
        || has_jwt(line)
        || has_long_opaque_word(line)
        || has_base64_key(line)
        || has_hex_key(line)
        || has_client_secret(line)
}

/// Runs of the characters of `class` in `line`.
fn runs(line: &str, class: impl Fn(char) -> bool) -> impl Iterator<Item = &str> {
    line.split(move |c: char| !class(c)).filter(|w| !w.is_empty())
}

fn mixes_letters_and_digits(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit()) && word.chars().any(|c| c.is_ascii_alphabetic())
}

/// Base64 of a key, like a storage account key (88 characters, ending in `==`): `+` and `/`
/// inside, or `=` padding at the end, tell it from a resource path.
fn has_base64_key(line: &str) -> bool {
    runs(line, |c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')).any(|w| {
        let body = w.trim_end_matches('=');
        body.len() >= 40 && (w.ends_with('=') || body.contains('+')) && mixes_letters_and_digits(body)
    })
}

/// A hex key (32 bytes and more are written as 64 hex digits); GUIDs have dashes.
fn has_hex_key(line: &str) -> bool {
    runs(line, |c| c.is_ascii_hexdigit()).any(|w| w.len() >= 32 && mixes_letters_and_digits(w))
}

/// An Entra (Azure AD) client secret: 40 characters with a `~`, e.g. `abc8Q~…`.
fn has_client_secret(line: &str) -> bool {
    runs(line, |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '~' | '.' | '-'))
        .any(|w| w.len() >= 30 && w.contains('~') && mixes_letters_and_digits(w))
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
            // An Entra client secret.
            r#"let s = "Xq28Q~vN3kD.Ws1tJ5u_hYzA0pLm4eRf7cGbT2oQ";"#,
            // A storage account key: 88 characters, '/' and '+' cutting it into short pieces.
            r#"let k = "TuPXrdUJx7rk04PHyvHr1R3G4qx3Q6EpaU742/i5LsixwOhD/bNDT8U/YY3x9pLWa7OIQ3+yKUIH1yeFsToLbA==";"#,
            // A SAS URL.
            r#"let u = "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sr=b&sp=r&sig=abc%2Bdef%3D";"#,
            // A 64-digit hex key.
            r#"let h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";"#,
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
            r#"let etag = "W/\"00000000-0000-0000-0000-000000000001\"";"#,
            "let ids = list_user_identities(\"rg1\").map(|i| i.id); ids.len() == 2",
            "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID2",
            "let design = \"x\"; let x = a == b;",
            "let n = 1234567890;",
        ];
        for line in fine {
            assert!(!looks_secret(line), "{line:?} should be saved");
        }
    }
}
