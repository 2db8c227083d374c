//! Vectors as stored (little-endian `f32` bytes) and the arithmetic on them.

use sha2::{Digest, Sha256};

pub(crate) fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `None` when the byte count is not `dims` floats (a row written by another model).
pub(crate) fn from_bytes(bytes: &[u8], dims: usize) -> Option<Vec<f32>> {
    if bytes.len() != dims * 4 {
        return None;
    }
    Some(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A short hex SHA-256 of the text an embedding was computed from.
pub(crate) fn text_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_their_bytes() {
        let v = vec![1.5_f32, -0.25, 3.0e-7];
        assert_eq!(from_bytes(&to_bytes(&v), 3), Some(v));
        assert_eq!(from_bytes(&[0; 8], 3), None);
        assert_eq!(dot(&[3.0, 4.0], &[0.6, 0.8]), 5.0);
    }
}
