//! The server's own secrets: the JWT signing key, the audit pseudonym key and the
//! checkpoint signing key.
//!
//! Each one is either configured or generated on first start into a file in the data
//! directory. Whatever its origin, a weak secret is refused at start-up rather than used:
//! a known placeholder (such as an example copied from a compose file) lets anyone forge
//! access tokens, and a short or low-entropy one can be guessed offline from a single token.
//! A stored file that is unreadable or too short stops the start too: replacing it silently
//! would invalidate every signed checkpoint and every pseudonym already written.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretSlice};

use crate::config::Settings;

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Least entropy accepted, in bits, estimated from the secret's own character frequencies.
/// The estimate undercounts a truly random string (a random 32-character hex secret scores
/// between about 90 and 125 of its 128 bits), so the bar sits well below 128 to accept those
/// while refusing repeats and small alphabets.
const MIN_ESTIMATED_BITS: f64 = 80.0;

/// Fragments that mark a value someone was meant to replace. Matched case-insensitively,
/// with `-`, `_`, `.` and spaces removed.
const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "replaceme",
    "placeholder",
    "example",
    "secret",
    "password",
    "passwd",
    "default",
    "insecure",
    "notsecure",
    "fixme",
    "xxxxxxxx",
    "yourkey",
    "marquee",
    "letmein",
    "qwerty",
];

/// The three secrets the server needs, each checked. `Debug` prints none of them.
#[derive(Clone, Debug)]
pub struct ServerSecrets {
    pub jwt: SecretSlice<u8>,
    pub audit_pseudonym: SecretSlice<u8>,
    pub audit_checkpoint: SecretSlice<u8>,
}

impl ServerSecrets {
    /// Loads (or on first start generates) every secret, refusing weak ones.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let dir = &settings.data_dir;
        Ok(Self {
            jwt: load_or_generate(dir, "auth.jwt_secret", settings.auth.jwt_secret.expose_secret(), "jwt_secret")?
                .into(),
            audit_pseudonym: load_or_generate(
                dir,
                "audit.pseudonym_secret",
                settings.audit.pseudonym_secret.expose_secret(),
                "audit_pseudonym_secret",
            )?
            .into(),
            audit_checkpoint: load_or_generate(
                dir,
                "audit.checkpoint_signing_key",
                settings.audit.checkpoint_signing_key.expose_secret(),
                "audit_checkpoint_key",
            )?
            .into(),
        })
    }
}

/// The configured secret when set, else the one kept in `data_dir/file_name`, else a new
/// one written there with owner-only permissions from its first byte.
pub fn load_or_generate(data_dir: &Path, setting: &str, configured: &str, file_name: &str) -> anyhow::Result<Vec<u8>> {
    if !configured.is_empty() {
        check_strength(configured).map_err(|reason| anyhow::anyhow!("the setting `{setting}` is refused: {reason}"))?;
        return Ok(configured.as_bytes().to_vec());
    }
    let path = data_dir.join(file_name);
    match std::fs::read_to_string(&path) {
        Ok(stored) => {
            let stored = stored.trim();
            check_strength(stored).map_err(|reason| {
                anyhow::anyhow!(
                    "the stored secret {} (for `{setting}`) is refused: {reason}; restore the original file or set \
                     `{setting}`: a new secret would invalidate what the old one signed",
                    path.display()
                )
            })?;
            Ok(stored.as_bytes().to_vec())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = generate();
            write_new_private(&path, &secret)?;
            Ok(secret.into_bytes())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot read the stored secret {} (for `{setting}`); fix its permissions or restore it",
            path.display()
        ))),
    }
}

/// 256 random bits, hex-encoded.
fn generate() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// Creates `path` (it must not exist) readable by the owner only, so the secret is never
/// visible to others, not even between creation and a later `chmod`.
fn write_new_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Why `secret` is too weak to use, if it is.
pub fn check_strength(secret: &str) -> Result<(), String> {
    let len = secret.len();
    if len < MIN_SECRET_BYTES {
        return Err(format!(
            "it is {len} bytes long; use at least {MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -base64 48`)"
        ));
    }
    let folded: String =
        secret.chars().filter(|c| !matches!(c, '-' | '_' | '.' | ' ')).flat_map(char::to_lowercase).collect();
    if let Some(word) = PLACEHOLDERS.iter().find(|w| folded.contains(*w)) {
        return Err(format!(
            "it contains `{word}`, which marks a placeholder; generate a random one (e.g. `openssl rand -base64 48`)"
        ));
    }
    if let Some(period) = period(secret.as_bytes()) {
        return Err(format!("it repeats a {period}-byte pattern; generate a random one"));
    }
    let bits = estimated_bits(secret);
    if bits < MIN_ESTIMATED_BITS {
        return Err(format!(
            "it has too little entropy (about {bits:.0} bits, at least {MIN_ESTIMATED_BITS:.0} needed); generate a random one"
        ));
    }
    Ok(())
}

/// The shortest period of a string made of one pattern repeated at least twice.
fn period(bytes: &[u8]) -> Option<usize> {
    (1..=bytes.len() / 2).find(|&p| bytes.iter().skip(p).zip(bytes).all(|(a, b)| a == b))
}

/// Length times the Shannon entropy of the secret's character distribution.
fn estimated_bits(secret: &str) -> f64 {
    let mut counts = std::collections::HashMap::<char, usize>::new();
    let mut total = 0usize;
    for c in secret.chars() {
        *counts.entry(c).or_default() += 1;
        total += 1;
    }
    let n = total as f64;
    let per_char: f64 = counts.values().map(|&k| k as f64 / n).map(|p| -p * p.log2()).sum();
    per_char * n
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "marquee-secrets-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_old_compose_placeholder_and_other_weak_values_are_refused() {
        for weak in [
            "change-me-change-me-change-me-change-me",
            "CHANGE_ME_please_this_is_long_enough_12345",
            "my-super-secret-jwt-key-for-production-use",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12",
            "0101010101010110101010101010101001010101",
            "short",
        ] {
            assert!(check_strength(weak).is_err(), "{weak} was accepted");
        }
    }

    #[test]
    fn random_values_pass() {
        for _ in 0..2000 {
            assert_eq!(check_strength(&generate()), Ok(()));
            // 32 hex characters, the smallest random secret the docs allow.
            let short = uuid::Uuid::new_v4().simple().to_string();
            assert_eq!(check_strength(&short), Ok(()), "{short}");
        }
        assert_eq!(check_strength("Yq3v0yZr6mF8Kp1wq9X2bS7nLc4TgHe5Rj0uVa8Di3Ms"), Ok(()));
    }

    #[test]
    fn a_placeholder_in_a_setting_stops_the_start_and_names_the_setting() {
        let dir = temp_dir("setting");
        let err = load_or_generate(&dir, "auth.jwt_secret", "change-me-change-me-change-me-change-me", "jwt_secret")
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("auth.jwt_secret") && text.contains("placeholder"), "{text}");
        assert!(!dir.join("jwt_secret").exists());
    }

    #[test]
    fn a_generated_secret_is_private_from_the_first_byte_and_kept() {
        let dir = temp_dir("generate");
        let first = load_or_generate(&dir, "auth.jwt_secret", "", "jwt_secret").unwrap();
        let path = dir.join("jwt_secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(load_or_generate(&dir, "auth.jwt_secret", "", "jwt_secret").unwrap(), first);
    }

    #[test]
    fn a_short_stored_secret_stops_the_start_and_is_not_replaced() {
        let dir = temp_dir("short");
        let path = dir.join("audit_checkpoint_key");
        std::fs::write(&path, "tooshort").unwrap();
        let err = load_or_generate(&dir, "audit.checkpoint_signing_key", "", "audit_checkpoint_key").unwrap_err();
        assert!(format!("{err:#}").contains("audit_checkpoint_key"), "{err:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "tooshort");
    }

    #[test]
    fn an_unreadable_stored_secret_stops_the_start_and_is_not_replaced() {
        let dir = temp_dir("unreadable");
        // A directory where the file should be cannot be read, even by root.
        std::fs::create_dir(dir.join("audit_pseudonym_secret")).unwrap();
        let err = load_or_generate(&dir, "audit.pseudonym_secret", "", "audit_pseudonym_secret").unwrap_err();
        assert!(format!("{err:#}").contains("cannot read the stored secret"), "{err:#}");
        assert!(dir.join("audit_pseudonym_secret").is_dir());
    }
}
