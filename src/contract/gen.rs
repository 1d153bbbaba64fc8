//! Deterministic payloads: the content rule shared with `shared/vectors/README.md`.
//!
//! `content(seed, n)` is the first `n` bytes of
//! `SHA-256(seed || u64_le(0)) || SHA-256(seed || u64_le(1)) || ...`, so a fixture can name a
//! 45 MB file by `(seed, size)` and the IPFS/dStor vectors apply to it unchanged.

use sha2::{Digest, Sha256};

/// The first `n` bytes of the content stream of `seed`.
pub fn content(seed: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    let mut counter: u64 = 0;
    while out.len() < n {
        let mut hasher = Sha256::new();
        hasher.update(seed.as_bytes());
        hasher.update(counter.to_le_bytes());
        let block = hasher.finalize();
        let take = (n - out.len()).min(block.len());
        out.extend_from_slice(&block[..take]);
        counter += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_hex(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn content_of_a_40_matches_the_published_example() {
        assert_eq!(
            hex::encode(content("a", 40)),
            "50edc262344620ebd2c9cabf9297150b2175819f0e9ac19b0bb104e61072cba391fe2df35ac49e7a"
        );
    }

    #[test]
    fn content_of_d1_16_matches_the_published_example() {
        assert_eq!(
            hex::encode(content("d1", 16)),
            "cde3a71a28e102099f578666f19fb8e7"
        );
    }

    #[test]
    fn content_matches_the_ipfs_vectors_digests() {
        // (seed, size, content_sha256) copied from shared/vectors/ipfs-cid.json.
        let vectors = [
            (
                "a",
                0,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                "b",
                1,
                "e9b0c031f0493d3fd6b0b668260c79e7efe734bfd4b4115f9d82bc3be609c294",
            ),
            (
                "d",
                1000,
                "64e0e79f6c9c858fb761d20e0fe5fb0287a7da5d0c404154336d976606189208",
            ),
            (
                "g",
                262145,
                "d7038f80e89c632b88a942b60f11d81a0257199411a700f60fc49600fcafb07c",
            ),
        ];
        for (seed, size, digest) in vectors {
            assert_eq!(
                sha256_hex(&content(seed, size)),
                digest,
                "content({seed:?}, {size})"
            );
        }
    }

    #[test]
    fn a_shorter_content_is_a_prefix_of_a_longer_one() {
        assert_eq!(content("x", 33), content("x", 100)[..33]);
    }
}
