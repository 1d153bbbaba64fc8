//! Encryption at rest for `encrypt_password` (specs/dyson.md §9).
//!
//! The key is derived from the password with Argon2id and a random 16-byte salt; the password
//! itself is never stored. Content is sealed with the STREAM construction (Hoang, Reyhanitabar,
//! Rogaway, Vizár) over ChaCha20-Poly1305: segments of 64 KiB of plaintext, each with its own
//! tag, a 32-bit big-endian position and a "last segment" flag in the nonce, so truncation,
//! reordering and splicing are detected, and a single segment can be opened for a Range request.
//!
//! Sealed layout (all integers big-endian):
//!
//! ```text
//! header  = "CGSEAL01" | salt (16) | nonce prefix (7) | segment size u32 | m_cost u32 | t_cost u32 | p_cost u32
//! segment = ChaCha20-Poly1305(key, prefix | position u32 | last u8, aad = header, plaintext) (plaintext + 16)
//! ```
//!
//! A file of `n` plaintext bytes has `max(1, ceil(n / segment))` segments (an empty file is one
//! empty last segment). The header carries everything except the password, so a blob can be
//! opened on its own.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::aead::{KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::os::unix::fs::FileExt;

/// Plaintext bytes per segment.
pub const SEGMENT: u64 = 64 * 1024;
/// Bytes a tag adds to each segment.
const TAG: u64 = 16;
const MAGIC: &[u8; 8] = b"CGSEAL01";
/// Length of the header.
pub const HEADER_LEN: usize = 8 + 16 + 7 + 4 * 4;

/// Why sealed content could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The password does not open the content (or the content was tampered with).
    #[error("wrong key or damaged content")]
    WrongKey,
    /// The content is not in the sealed layout, or the KDF parameters are unusable.
    #[error("not sealed content: {0}")]
    Format(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Argon2id cost parameters (memory in KiB, passes, lanes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// OWASP's recommended Argon2id setting: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        KdfParams {
            m_cost: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

/// A derived key with the salt and parameters it came from (hex in records).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealKey {
    #[serde(with = "hex_bytes")]
    pub salt: [u8; 16],
    pub params: KdfParams,
    #[serde(with = "hex_bytes")]
    key: [u8; 32],
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SealKey").finish_non_exhaustive()
    }
}

impl SealKey {
    /// Derives a key for `password` with a fresh random salt (CPU- and memory-heavy: call it
    /// off the async threads).
    pub fn generate(password: &str) -> Result<SealKey, SealError> {
        let salt: [u8; 16] = rand::random();
        Self::derive(password, salt, KdfParams::default())
    }

    /// Derives the key for `password` with a known salt and parameters.
    pub fn derive(password: &str, salt: [u8; 16], params: KdfParams) -> Result<SealKey, SealError> {
        let p = Params::new(params.m_cost, params.t_cost, params.p_cost, Some(32))
            .map_err(|e| SealError::Format(e.to_string()))?;
        let mut key = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
            .hash_password_into(password.as_bytes(), &salt, &mut key)
            .map_err(|e| SealError::Format(e.to_string()))?;
        Ok(SealKey { salt, params, key })
    }

    fn stream(&self, prefix: &[u8; 7]) -> StreamBE32<ChaCha20Poly1305> {
        let aead = ChaCha20Poly1305::new((&self.key).into());
        StreamBE32::from_aead(aead, prefix.into())
    }
}

/// Segments of `size` plaintext bytes.
pub fn segments(size: u64) -> u64 {
    size.div_ceil(SEGMENT).max(1)
}

/// Length of the sealed form of `size` plaintext bytes.
pub fn sealed_len(size: u64) -> u64 {
    HEADER_LEN as u64 + size + TAG * segments(size)
}

/// Plaintext length of segment `k` of a `size`-byte file.
fn segment_len(size: u64, k: u64) -> u64 {
    size.saturating_sub(k * SEGMENT).min(SEGMENT)
}

fn header(key: &SealKey, prefix: &[u8; 7]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..24].copy_from_slice(&key.salt);
    h[24..31].copy_from_slice(prefix);
    h[31..35].copy_from_slice(&(SEGMENT as u32).to_be_bytes());
    h[35..39].copy_from_slice(&key.params.m_cost.to_be_bytes());
    h[39..43].copy_from_slice(&key.params.t_cost.to_be_bytes());
    h[43..47].copy_from_slice(&key.params.p_cost.to_be_bytes());
    h
}

/// Seals `size` plaintext bytes read from `src`, handing each sealed piece to `out` in order
/// (blocking; `out` returns false when the consumer has gone away).
pub fn seal(
    key: &SealKey,
    mut src: impl Read,
    size: u64,
    mut out: impl FnMut(Vec<u8>) -> bool,
) -> Result<(), SealError> {
    let prefix: [u8; 7] = rand::random();
    let head = header(key, &prefix);
    if !out(head.to_vec()) {
        return Ok(());
    }
    let stream = key.stream(&prefix);
    let n = segments(size);
    let mut buf = vec![0u8; SEGMENT as usize];
    for k in 0..n {
        let len = segment_len(size, k) as usize;
        src.read_exact(&mut buf[..len])?;
        let position = u32::try_from(k).map_err(|_| SealError::Format("too long".into()))?;
        let sealed = stream
            .encrypt(
                position,
                k + 1 == n,
                Payload {
                    msg: &buf[..len],
                    aad: &head,
                },
            )
            .map_err(|_| SealError::Format("segment could not be sealed".into()))?;
        if !out(sealed) {
            return Ok(());
        }
    }
    Ok(())
}

/// Sealed content opened with a password: reads plaintext ranges.
pub struct Opened {
    file: std::fs::File,
    head: [u8; HEADER_LEN],
    stream: StreamBE32<ChaCha20Poly1305>,
    size: u64,
}

impl Opened {
    /// Opens the sealed file `file` of a `size`-byte plaintext with `password`, checking the
    /// password by opening the first segment (blocking; runs the KDF).
    pub fn open(file: std::fs::File, size: u64, password: &str) -> Result<Opened, SealError> {
        let mut head = [0u8; HEADER_LEN];
        file.read_exact_at(&mut head, 0)?;
        if &head[..8] != MAGIC
            || u32::from_be_bytes(head[31..35].try_into().unwrap()) as u64 != SEGMENT
        {
            return Err(SealError::Format("unknown header".into()));
        }
        let word = |at: usize| u32::from_be_bytes(head[at..at + 4].try_into().expect("4 bytes"));
        let params = KdfParams {
            m_cost: word(35),
            t_cost: word(39),
            p_cost: word(43),
        };
        let salt: [u8; 16] = head[8..24].try_into().expect("16 bytes");
        let prefix: [u8; 7] = head[24..31].try_into().expect("7 bytes");
        let key = SealKey::derive(password, salt, params)?;
        let opened = Opened {
            file,
            head,
            stream: key.stream(&prefix),
            size,
        };
        opened.segment(0)?;
        Ok(opened)
    }

    /// The plaintext of segment `k`.
    fn segment(&self, k: u64) -> Result<Vec<u8>, SealError> {
        let len = segment_len(self.size, k) + TAG;
        let mut buf = vec![0u8; len as usize];
        let at = HEADER_LEN as u64 + k * (SEGMENT + TAG);
        self.file.read_exact_at(&mut buf, at)?;
        let position = u32::try_from(k).map_err(|_| SealError::WrongKey)?;
        self.stream
            .decrypt(
                position,
                k + 1 == segments(self.size),
                Payload {
                    msg: &buf,
                    aad: &self.head,
                },
            )
            .map_err(|_| SealError::WrongKey)
    }

    /// Writes plaintext bytes `start..start+len` to `out`, a segment at a time (blocking;
    /// `out` returns false when the consumer has gone away).
    pub fn read_range(
        &self,
        start: u64,
        len: u64,
        mut out: impl FnMut(Vec<u8>) -> bool,
    ) -> Result<(), SealError> {
        let end = start + len;
        let mut pos = start;
        while pos < end {
            let k = pos / SEGMENT;
            let plain = self.segment(k)?;
            let from = (pos - k * SEGMENT) as usize;
            let to = ((end - k * SEGMENT).min(plain.len() as u64)) as usize;
            if !out(plain[from..to].to_vec()) {
                return Ok(());
            }
            pos = k * SEGMENT + to as u64;
        }
        Ok(())
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(s).map_err(serde::de::Error::custom)?;
        v.try_into()
            .map_err(|_| serde::de::Error::custom("wrong length"))
    }
}

#[cfg(test)]
#[path = "seal_tests.rs"]
mod tests;
