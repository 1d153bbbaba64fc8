//! Round trips and tamper checks of the sealed layout.

use super::*;
use std::io::Write;

/// Seals into a `Vec` (tests and small data).
fn seal_to_vec(key: &SealKey, plain: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut out = Vec::new();
    seal(key, plain, plain.len() as u64, |piece| {
        out.write_all(&piece).is_ok()
    })?;
    Ok(out)
}

/// Cheap KDF parameters: the format, not the cost, is under test.
const FAST: KdfParams = KdfParams {
    m_cost: 64,
    t_cost: 1,
    p_cost: 1,
};

fn key(password: &str) -> SealKey {
    SealKey::derive(password, [7u8; 16], FAST).unwrap()
}

fn sealed_file(sealed: &[u8]) -> std::fs::File {
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(sealed).unwrap();
    f
}

fn plain(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn read_all(opened: &Opened, start: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    opened
        .read_range(start, len, |piece| {
            out.extend_from_slice(&piece);
            true
        })
        .unwrap();
    out
}

#[test]
fn sealed_content_opens_with_the_password_at_every_size_and_range() {
    for len in [
        0,
        1,
        100,
        SEGMENT as usize - 1,
        SEGMENT as usize,
        SEGMENT as usize * 2 + 5,
    ] {
        // Arrange
        let data = plain(len);
        let sealed = seal_to_vec(&key("pw"), &data).unwrap();

        // Act
        let opened = Opened::open(sealed_file(&sealed), len as u64, "pw").unwrap();

        // Assert
        assert_eq!(sealed.len() as u64, sealed_len(len as u64), "len {len}");
        assert_eq!(read_all(&opened, 0, len as u64), data, "len {len}");
        if len > 10 {
            let (start, n) = (len as u64 / 2 - 3, len as u64 / 2);
            assert_eq!(
                read_all(&opened, start, n),
                data[start as usize..(start + n) as usize]
            );
        }
    }
}

#[test]
fn the_sealed_bytes_do_not_contain_the_plaintext() {
    let data = b"a very recognisable secret sentence".repeat(100);
    let sealed = seal_to_vec(&key("pw"), &data).unwrap();
    assert!(!sealed.windows(35).any(|w| w == &data[..35]));
}

#[test]
fn a_wrong_password_does_not_open() {
    let sealed = seal_to_vec(&key("right"), b"hello").unwrap();
    let err = Opened::open(sealed_file(&sealed), 5, "wrong")
        .err()
        .unwrap();
    assert!(matches!(err, SealError::WrongKey), "{err:?}");
}

#[test]
fn a_key_derives_the_same_from_the_same_salt_and_differs_with_another() {
    let a = SealKey::derive("pw", [1; 16], FAST).unwrap();
    let b = SealKey::derive("pw", [1; 16], FAST).unwrap();
    let c = SealKey::derive("pw", [2; 16], FAST).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(format!("{a:?}"), "SealKey { .. }");
}

#[test]
fn a_truncated_or_altered_blob_is_refused() {
    let data = plain(SEGMENT as usize + 10);
    let sealed = seal_to_vec(&key("pw"), &data).unwrap();

    // Dropping the last segment: the previous one is not flagged "last".
    let cut = &sealed[..HEADER_LEN + (SEGMENT + TAG) as usize];
    let opened = Opened::open(sealed_file(cut), SEGMENT, "pw");
    assert!(matches!(opened.err(), Some(SealError::WrongKey)));

    // Flipping a header byte (bound as associated data).
    let mut altered = sealed.clone();
    altered[30] ^= 1;
    let opened = Opened::open(sealed_file(&altered), data.len() as u64, "pw");
    assert!(matches!(opened.err(), Some(SealError::WrongKey)));

    // Not sealed at all.
    let opened = Opened::open(sealed_file(&[0u8; 100]), 10, "pw");
    assert!(matches!(opened.err(), Some(SealError::Format(_))));
}

#[test]
fn seal_keys_survive_a_record_round_trip() {
    let k = key("pw");
    let json = serde_json::to_string(&k).unwrap();
    assert!(!json.contains("pw"));
    let back: SealKey = serde_json::from_str(&json).unwrap();
    assert_eq!(back, k);
}
