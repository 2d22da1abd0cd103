//! Fernet tokens, as the legacy orchestrator wrote them with Python's `cryptography`.
//!
//! Token = urlsafe-base64( 0x80 ‖ timestamp (8 bytes, big endian) ‖ IV (16) ‖ AES-128-CBC
//! ciphertext (PKCS#7) ‖ HMAC-SHA256 (32) ). The 32-byte key is split: the first 16 bytes sign,
//! the last 16 encrypt. The HMAC is checked (in constant time) before anything is decrypted.
//! The legacy key is PBKDF2-HMAC-SHA256(master password, salt, 100,000 iterations, 32 bytes).

use base64::Engine;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// PBKDF2 iterations the legacy tool used.
pub const LEGACY_ITERATIONS: u32 = 100_000;

const VERSION: u8 = 0x80;
const HEADER: usize = 1 + 8 + 16;
const MAC_LEN: usize = 32;

/// Why a token could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FernetError {
    #[error("not a Fernet token (bad base64, length or version byte)")]
    Malformed,
    #[error("the token does not authenticate (wrong key or tampered token)")]
    BadMac,
    #[error("the token authenticates but its padding is invalid")]
    BadPadding,
}

/// A Fernet key: 16 bytes signing key, 16 bytes encryption key.
pub struct FernetKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FernetKey(..)")
    }
}

impl FernetKey {
    /// The raw 32 bytes (what `base64.urlsafe_b64decode(key)` gives in Python).
    pub fn from_bytes(raw: [u8; 32]) -> FernetKey {
        FernetKey(Zeroizing::new(raw))
    }

    /// The key the legacy orchestrator derived from its master password and salt.
    pub fn derive_legacy(password: &[u8], salt: &[u8]) -> FernetKey {
        FernetKey(crate::vault::kdf::pbkdf2_sha256(password, salt, LEGACY_ITERATIONS))
    }

    /// Verifies and decrypts one token.
    pub fn decrypt(&self, token: &str) -> Result<Zeroizing<Vec<u8>>, FernetError> {
        let data = decode(token.trim()).ok_or(FernetError::Malformed)?;
        if data.len() < HEADER + MAC_LEN + 16
            || data[0] != VERSION
            || !(data.len() - HEADER - MAC_LEN).is_multiple_of(16)
        {
            return Err(FernetError::Malformed);
        }
        let (signed, tag) = data.split_at(data.len() - MAC_LEN);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0[..16])
            .map_err(|_| FernetError::Malformed)?;
        mac.update(signed);
        mac.verify_slice(tag).map_err(|_| FernetError::BadMac)?;
        let iv: [u8; 16] = signed[9..25].try_into().map_err(|_| FernetError::Malformed)?;
        let enc: [u8; 16] = self.0[16..].try_into().map_err(|_| FernetError::Malformed)?;
        let mut buf = Zeroizing::new(signed[HEADER..].to_vec());
        let dec = cbc::Decryptor::<aes::Aes128>::new(&enc.into(), &iv.into());
        let len = dec.decrypt_padded::<Pkcs7>(&mut buf).map_err(|_| FernetError::BadPadding)?.len();
        buf.truncate(len);
        Ok(buf)
    }
}

fn decode(token: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
    URL_SAFE.decode(token).ok().or_else(|| URL_SAFE_NO_PAD.decode(token).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answer from the Fernet specification (github.com/fernet/spec, generate.json/verify.json).
    const SPEC_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    const SPEC_TOKEN: &str = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";

    fn spec_key() -> FernetKey {
        let raw = base64::engine::general_purpose::URL_SAFE.decode(SPEC_KEY).unwrap();
        FernetKey::from_bytes(raw.try_into().unwrap())
    }

    #[test]
    fn decrypts_the_spec_token() {
        assert_eq!(&spec_key().decrypt(SPEC_TOKEN).unwrap()[..], b"hello");
    }

    #[test]
    fn a_flipped_bit_anywhere_fails_authentication() {
        let raw = base64::engine::general_purpose::URL_SAFE.decode(SPEC_TOKEN).unwrap();
        for i in [0usize, 5, 12, 30, raw.len() - 1] {
            let mut bad = raw.clone();
            bad[i] ^= 1;
            let token = base64::engine::general_purpose::URL_SAFE.encode(&bad);
            let err = spec_key().decrypt(&token).unwrap_err();
            let want = if i == 0 { FernetError::Malformed } else { FernetError::BadMac };
            assert_eq!(err, want, "byte {i}");
        }
    }

    #[test]
    fn wrong_key_and_garbage_are_refused() {
        let other = FernetKey::from_bytes([7; 32]);
        assert_eq!(other.decrypt(SPEC_TOKEN).unwrap_err(), FernetError::BadMac);
        assert_eq!(spec_key().decrypt("not base64!").unwrap_err(), FernetError::Malformed);
        assert_eq!(spec_key().decrypt("gAAAAA").unwrap_err(), FernetError::Malformed);
    }

    #[test]
    fn legacy_derivation_known_answer() {
        // Made with Python cryptography: PBKDF2HMAC(SHA256, 32, b"0123456789abcdef", 100_000)
        // of b"legacy-master-pass", then Fernet(urlsafe_b64encode(key)).encrypt(b"Sm7p-P@ss!").
        let key = FernetKey::derive_legacy(b"legacy-master-pass", b"0123456789abcdef");
        assert_eq!(
            hex::encode(&key.0[..]),
            "c4e1a8dbb562305d7215586a45c5d5f42bc0e65a6325306637ae4c9081f0c5e8"
        );
        let token = "gAAAAABrAmvM2rVHP0DoP-uq-SHTFsy1571iVt7BpqWaruOGcdfYawnkNU4tkFprFvxfWJBmi3DzcltIcIHJhNBRY4QlmPMIQw==";
        assert_eq!(&key.decrypt(token).unwrap()[..], b"Sm7p-P@ss!");
        let wrong = FernetKey::derive_legacy(b"legacy-master-pasS", b"0123456789abcdef");
        assert_eq!(wrong.decrypt(token).unwrap_err(), FernetError::BadMac);
    }
}
