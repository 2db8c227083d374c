//! The API key format: `mq_<live|test>_<24 base62 random>_<6 base62 crc32>`.
//! The prefix makes leaked keys greppable; the checksum lets scanners and this server
//! reject typos without a database lookup. Only a SHA-256 of the key is stored.

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::{Result, TenantsError};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 24;
const CHECKSUM_LEN: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEnvironment {
    Live,
    Test,
}

impl KeyEnvironment {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyEnvironment::Live => "live",
            KeyEnvironment::Test => "test",
        }
    }
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "live" => Ok(Self::Live),
            "test" => Ok(Self::Test),
            other => Err(TenantsError::invalid("environment", format!("unknown environment {other:?}"))),
        }
    }
}

/// A freshly made key. The plain text exists only until it is shown once.
pub struct NewApiKeySecret {
    pub plain: String,
    pub hash: Vec<u8>,
    /// First characters, safe to show in lists so people can tell keys apart.
    pub display_prefix: String,
}

fn base62(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn checksum(body: &str) -> String {
    base62(u64::from(crc32fast::hash(body.as_bytes())), CHECKSUM_LEN)
}

pub fn hash_secret(plain: &str) -> Vec<u8> {
    Sha256::digest(plain.as_bytes()).to_vec()
}

pub fn generate(env: KeyEnvironment) -> NewApiKeySecret {
    let mut rng = rand::rng();
    let random: String = (0..RANDOM_LEN).map(|_| ALPHABET[rng.random_range(0..62)] as char).collect();
    let body = format!("mq_{}_{}", env.as_str(), random);
    let plain = format!("{}_{}", body, checksum(&body));
    NewApiKeySecret {
        hash: hash_secret(&plain),
        display_prefix: plain[..body.len() - RANDOM_LEN + 6].to_owned(),
        plain,
    }
}

/// Checks the shape and checksum of a presented key without touching the database.
pub fn looks_valid(plain: &str) -> bool {
    let Some((body, sum)) = plain.rsplit_once('_') else { return false };
    let mut parts = body.splitn(3, '_');
    let (Some("mq"), Some(env), Some(random)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    KeyEnvironment::parse(env).is_ok()
        && random.len() == RANDOM_LEN
        && random.bytes().all(|b| b.is_ascii_alphanumeric())
        && sum == checksum(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape_and_verify() {
        let key = generate(KeyEnvironment::Live);
        assert!(key.plain.starts_with("mq_live_"), "{}", key.plain);
        assert_eq!(key.plain.len(), "mq_live_".len() + RANDOM_LEN + 1 + CHECKSUM_LEN);
        assert!(looks_valid(&key.plain));
        assert_eq!(key.hash, hash_secret(&key.plain));
        assert!(key.plain.starts_with(&key.display_prefix));
    }

    #[test]
    fn a_typo_breaks_the_checksum() {
        let key = generate(KeyEnvironment::Test);
        let mut chars: Vec<char> = key.plain.chars().collect();
        let i = 12;
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert!(!looks_valid(&typo));
        assert!(!looks_valid("mq_live_short_abc"));
        assert!(!looks_valid("Bearer nonsense"));
    }
}
