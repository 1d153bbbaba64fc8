//! Lenient base64 for chunk data (specs/spika.md §3, "Base64 decoding").
//!
//! Real Spika clients send standard base64 (web), Android's `Base64.DEFAULT` (a `\n` every 76
//! characters) and occasionally URL-safe or unpadded text. The rules:
//! whitespace (space, `\t`, `\r`, `\n`) anywhere is removed; `+/` and `-_` are both accepted, even
//! mixed; zero to two trailing `=` are accepted and padding may be missing; any other character,
//! an `=` before the end, or an unpadded length of 1 mod 4 makes the text invalid; non-zero
//! trailing bits are ignored. The decoding itself is the `base64` crate's.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Standard alphabet, padding optional (it is stripped before decoding), trailing bits ignored.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The text is not base64 by the rules above.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidBase64;

/// Normalises `text` in place (whitespace out, URL-safe letters to standard ones, padding cut)
/// and checks it; afterwards it holds plain unpadded standard base64.
pub fn normalize(text: &mut Vec<u8>) -> Result<(), InvalidBase64> {
    text.retain(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    let padding = text.iter().rev().take_while(|b| **b == b'=').count();
    if padding > 2 {
        return Err(InvalidBase64);
    }
    text.truncate(text.len() - padding);
    for b in text.iter_mut() {
        match *b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => {}
            b'-' => *b = b'+',
            b'_' => *b = b'/',
            // Includes an `=` that is not trailing padding.
            _ => return Err(InvalidBase64),
        }
    }
    if text.len() % 4 == 1 {
        return Err(InvalidBase64);
    }
    Ok(())
}

/// Decodes base64 text by the lenient rules. The text is consumed, so the caller holds one
/// decoded copy and no second copy of the text.
pub fn decode(text: String) -> Result<Vec<u8>, InvalidBase64> {
    let mut text = text.into_bytes();
    normalize(&mut text)?;
    LENIENT.decode(&text).map_err(|_| InvalidBase64)
}

/// True when `text` would decode (no allocation beyond a scan).
pub fn is_valid(text: &str) -> bool {
    let trimmed = text.trim_end_matches([' ', '\t', '\r', '\n', '=']);
    let trailing = &text[trimmed.len()..];
    if trailing.bytes().filter(|b| *b == b'=').count() > 2 {
        return false;
    }
    let mut len = 0usize;
    for b in trimmed.bytes() {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'-' | b'_' => len += 1,
            _ => return false,
        }
    }
    len % 4 != 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lenient_rules_accept_what_clients_send_and_refuse_the_rest() {
        let ok: &[(&str, &[u8])] = &[
            ("SGVsbG8sIA==", b"Hello, "),
            ("SGVsbG8s\nIA==", b"Hello, "),
            ("SGVs\r\nbG8s IA\t==\n", b"Hello, "),
            ("SGVsbG8sIA", b"Hello, "),
            ("SGVsbG8sIA=", b"Hello, "),
            ("Y2h1bmtlZCA=", b"chunked "),
            // URL-safe and standard letters, mixed.
            ("-_-_", &[0xfb, 0xff, 0xbf]),
            ("+/-_", &[0xfb, 0xff, 0xbf]),
            // Non-zero trailing bits are ignored (`QR==` would strictly be `QQ==`).
            ("QR==", b"A"),
            // Only whitespace decodes to an empty chunk (rule 6).
            ("\n", b""),
            ("  \r\n", b""),
            ("==", b""),
        ];
        for (text, bytes) in ok {
            assert!(is_valid(text), "{text:?} should be valid");
            assert_eq!(
                decode((*text).to_owned()).as_deref(),
                Ok(*bytes),
                "{text:?}"
            );
        }
        let bad = [
            "SGVsbG8sIA===",
            "SG=VsbG8s",
            "SGVsbG8sIA==Y2h1",
            "SGVsb",
            "A",
            "A===",
            "SGVs*G8s",
            "SGVsbG8sIA==\0",
            "Héllo",
            "SGVs.bG8s",
        ];
        for text in bad {
            assert!(!is_valid(text), "{text:?} should be invalid");
            assert_eq!(decode(text.to_owned()), Err(InvalidBase64), "{text:?}");
        }
    }

    #[test]
    fn android_line_wrapping_decodes_to_the_original_bytes() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
        let wrapped: String = encoded
            .as_bytes()
            .chunks(76)
            .map(|line| format!("{}\n", std::str::from_utf8(line).unwrap()))
            .collect();

        assert!(is_valid(&wrapped));
        assert_eq!(decode(wrapped).unwrap(), data);
    }
}
