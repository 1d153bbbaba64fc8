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
///
/// What encoders produce (standard letters, zero trailing bits; Android's line breaks are
/// whitespace) decodes with `base64-simd` once whitespace and padding are cut, about four times
/// faster than the scalar path; anything else (URL-safe letters, non-zero trailing bits, invalid
/// text) takes the scalar path, which decides by the rules above. The fast path accepts only
/// texts the rules accept, giving the same bytes (tested below against the scalar path).
pub fn decode(text: String) -> Result<Vec<u8>, InvalidBase64> {
    let mut text = text.into_bytes();
    // A byte-by-byte pass costs as much as the SIMD decode itself: only when there is whitespace.
    if memchr::memchr3(b' ', b'\r', b'\n', &text).is_some()
        || memchr::memchr(b'\t', &text).is_some()
    {
        text.retain(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    }
    let padding = text.iter().rev().take_while(|b| **b == b'=').count();
    if padding > 2 {
        return Err(InvalidBase64);
    }
    text.truncate(text.len() - padding);
    if let Ok(bytes) = base64_simd::STANDARD_NO_PAD.decode_to_vec(&text) {
        return Ok(bytes);
    }
    scalar(text)
}

/// The rules, byte by byte (the reference the fast path is tested against).
fn scalar(mut text: Vec<u8>) -> Result<Vec<u8>, InvalidBase64> {
    normalize(&mut text)?;
    LENIENT.decode(&text).map_err(|_| InvalidBase64)
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

        assert_eq!(decode(wrapped).unwrap(), data);
    }

    proptest::proptest! {
        /// Any text over the characters that matter decodes on the fast path exactly as the
        /// scalar rules decide (same bytes, or invalid for both).
        #[test]
        fn the_fast_path_agrees_with_the_rules(
            text in "[A-Za-z0-9+/=_\\- \n\r\t\x0c.]{0,64}",
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            wrap in 1usize..80,
        ) {
            proptest::prop_assert_eq!(decode(text.clone()), scalar(text.into_bytes()));
            let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
            let wrapped: String = encoded
                .as_bytes()
                .chunks(wrap)
                .map(|line| format!("{}\n", std::str::from_utf8(line).unwrap()))
                .collect();
            proptest::prop_assert_eq!(decode(wrapped), Ok(data));
        }
    }
}
