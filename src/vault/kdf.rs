//! PBKDF2-HMAC-SHA256 with a 32-byte output (RFC 8018 §5.2), through the `pbkdf2` crate: the
//! one derivation used for the vault's passphrase key and for the legacy orchestrator's Fernet
//! key (`migrate::fernet`).
//!
//! Speed of debug builds: `Cargo.toml` compiles `sha2`, `hmac` and `pbkdf2` with
//! `opt-level = 3` in the dev profile (`[profile.dev.package.*]`). That covers code compiled
//! *in* those crates, but `pbkdf2_hmac::<Sha256>` is generic, so a call from orc is
//! instantiated in orc at the dev profile's opt-level 0 (600,000 rounds: ~9 s instead of
//! ~0.3 s in a debug test build on the development machine). For the production count, the
//! crate's own recommendation ([`pbkdf2::Params::RECOMMENDED`], OWASP's 600,000), orc calls the
//! crate's non-generic entry point [`pbkdf2::pbkdf2_hmac_with_params`], whose SHA-256
//! instance is compiled inside `pbkdf2`; any other count (older records, the Fernet import,
//! tests) uses the generic function. Both are the same crate code.

use pbkdf2::{Algorithm, Params};
use zeroize::Zeroizing;

/// Derives 32 bytes from `password` and `salt` with `iterations` rounds.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    if iterations == Params::RECOMMENDED.rounds() {
        let params = Params::RECOMMENDED;
        pbkdf2::pbkdf2_hmac_with_params(password, salt, Algorithm::Pbkdf2Sha256, params, &mut *out);
    } else {
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, out.as_mut());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_the_published_vectors() {
        // (password, salt, iterations, expected): RFC 7914 §11 and the widely published
        // PBKDF2-HMAC-SHA256 vectors (dkLen 32); the last, a password longer than the SHA-256
        // block (hashed first, RFC 2104 §3), from Python's
        // `hashlib.pbkdf2_hmac("sha256", b"k" * 100, b"salt", 7, 32)`.
        let long = [b'k'; 100];
        let vectors: [(&[u8], &[u8], u32, &str); 5] = [
            (
                b"password",
                b"salt",
                1,
                "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
            ),
            (
                b"password",
                b"salt",
                2,
                "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
            ),
            (
                b"password",
                b"salt",
                4096,
                "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
            ),
            (
                b"passwordPASSWORDpassword",
                b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
                4096,
                "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1",
            ),
            (&long, b"salt", 7, "3ab26e2027acab753b5d4c16c0e5238fbd8b5b47f4b4949e5e3ab64c7cbda01c"),
        ];
        for (password, salt, n, want) in vectors {
            assert_eq!(hex::encode(*pbkdf2_sha256(password, salt, n)), want, "{n} rounds");
        }
    }

    /// The production count goes through the crate's SHA-256 entry point; expected value from
    /// Python's `hashlib.pbkdf2_hmac("sha256", pw, b"0123456789abcdef", 600000, 32)`.
    #[test]
    fn pbkdf2_at_the_production_count() {
        assert_eq!(Params::RECOMMENDED.rounds(), crate::vault::PBKDF2_ITERATIONS);
        assert_eq!(
            hex::encode(*pbkdf2_sha256(
                b"correct horse battery staple",
                b"0123456789abcdef",
                600_000
            )),
            "6c4a646aad10d067add5fb79d9078a16da83d50f81670a8e7593b249e6d94936"
        );
    }
}
