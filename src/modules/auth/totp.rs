//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1,
//! 6 digits, 30-second steps, a code of the step before or after also accepted
//! (clock drift). Secrets are 20 random bytes (RFC 4226 §4 recommends 160 bits),
//! shown to the user as RFC 4648 base32 without padding, the form authenticator
//! apps read from an `otpauth://` URL.
//!
//! Pure functions only: storing the secret, refusing a reused step and the recovery
//! codes are the service's.

use hmac_sha1::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha1::Sha1;

pub const DIGITS: u32 = 6;
pub const STEP_SECONDS: i64 = 30;
pub const SECRET_BYTES: usize = 20;
/// Steps either side of now whose code is accepted.
pub const WINDOW: i64 = 1;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A fresh random secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// RFC 4226 §5.3: HMAC-SHA-1 of the counter, dynamically truncated, `digits` long.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    binary % 10u32.pow(digits)
}

/// The step a Unix time falls in.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code of a step, zero-padded.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    let value = hotp(secret, u64::try_from(step).unwrap_or(0), DIGITS);
    format!("{value:0width$}", width = DIGITS as usize)
}

/// The step whose code `code` is, within [`WINDOW`] of `unix_seconds`, if any.
/// Compared in constant time; spaces and dashes in the code are ignored.
pub fn verify(secret: &[u8], code: &str, unix_seconds: i64) -> Option<i64> {
    use subtle::ConstantTimeEq;
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_seconds);
    let mut found = None;
    for step in (now - WINDOW)..=(now + WINDOW) {
        let expected = code_at_step(secret, step);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32, upper case, no padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// RFC 4648 base32, any case, padding and spaces ignored; `None` if malformed.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let upper = c.to_ascii_uppercase();
        let value = ALPHABET.iter().position(|&a| char::from(a) == upper)?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The `otpauth://` URL authenticator apps take (as a QR code or pasted), per
/// Google Authenticator's key-uri format.
pub fn otpauth_url(issuer: &str, account_name: &str, secret: &[u8]) -> String {
    let label: String =
        form_urlencoded::byte_serialize(format!("{issuer}:{account_name}").as_bytes())
            .collect::<String>()
            .replace('+', "%20");
    let issuer_param: String = form_urlencoded::byte_serialize(issuer.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!(
        "otpauth://totp/{label}?secret={}&issuer={issuer_param}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32_encode(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 with the secret "12345678901234567890": the 8-digit
    /// values, of which a 6-digit code is the last six digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59_i64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let step = u64::try_from(step_at(time)).unwrap_or(0);
            assert_eq!(hotp(secret, step, 8), expected, "T = {time}");
            assert_eq!(
                code_at_step(secret, step_at(time)),
                format!("{:06}", expected % 1_000_000)
            );
        }
    }

    /// RFC 4226 appendix D: HOTP values for counters 0..9.
    #[test]
    fn rfc_4226_test_vectors() {
        let secret = b"12345678901234567890";
        let expected = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64, 6), value);
        }
    }

    #[test]
    fn verify_accepts_one_step_of_drift_and_names_the_step() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111;
        let step = step_at(now);
        for drift in [-1, 0, 1] {
            let code = code_at_step(secret, step + drift);
            assert_eq!(verify(secret, &code, now), Some(step + drift));
        }
        assert_eq!(verify(secret, &code_at_step(secret, step + 2), now), None);
        assert_eq!(verify(secret, &code_at_step(secret, step - 2), now), None);
        let spaced = code_at_step(secret, step);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(verify(secret, &spaced, now), Some(step));
        assert_eq!(verify(secret, "12345", now), None);
        assert_eq!(verify(secret, "abcdef", now), None);
    }

    #[test]
    fn base32_round_trips_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(
                base32_decode(encoded).as_deref(),
                Some(plain.as_bytes()),
                "{encoded}"
            );
        }
        assert_eq!(
            base32_decode("mzxw 6ytb oi==").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(base32_decode("MZ1"), None);
        let secret = new_secret();
        assert_eq!(
            base32_decode(&base32_encode(&secret)).as_deref(),
            Some(&secret[..])
        );
    }

    #[test]
    fn otpauth_url_names_issuer_and_account() {
        let url = otpauth_url("jobber", "a@b.io", b"12345678901234567890");
        assert!(url.starts_with(
            "otpauth://totp/jobber%3Aa%40b.io?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=jobber"
        ));
    }
}
