//! The versioned ciphertext envelope (docs/design/reliability.md §1.3). Pure functions, no I/O.
//!
//! ```text
//! offset len  field
//! 0      4    magic  b"ORCS"
//! 4      1    version = 1
//! 5      1    alg     = 1 (AES-256-GCM, 12-byte nonce, 16-byte tag)
//! 6      4    key_id  (u32 LE: which data-key generation)
//! 10     12   nonce
//! 22     n    ciphertext || tag(16)
//! ```
//!
//! The associated data is `header(10) || lp("orc/v1") || lp(kind) || lp(owner) || lp(name)`,
//! where `lp(x)` is `x`'s length as u32 LE followed by its bytes, so fields cannot be shifted
//! into each other. Moving a ciphertext to another row, kind or owner makes it fail to decrypt.
//! Every way an envelope can be wrong gives the same opaque [`Undecryptable`].

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::Zeroizing;

/// `b"ORCS"`.
pub const MAGIC: [u8; 4] = *b"ORCS";
/// The only envelope version this build writes and reads.
pub const VERSION: u8 = 1;
/// AES-256-GCM with a 96-bit nonce and a 128-bit tag.
pub const ALG_AES256_GCM: u8 = 1;
/// Length of the header (magic, version, alg, key id).
pub const HEADER_LEN: usize = 10;
/// Nonce length.
pub const NONCE_LEN: usize = 12;
/// Tag length.
pub const TAG_LEN: usize = 16;
/// The shortest valid envelope: header, nonce, tag (empty plaintext).
pub const MIN_LEN: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
/// Domain label that starts every AAD.
const DOMAIN: &str = "orc/v1";

/// What a ciphertext is bound to: its kind, its owner and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// e.g. `secret`, `smtp_password`, `account_password`, `dek_wrap`.
    pub kind: &'a str,
    /// The owning object's stable id (a credential row id, or the wrapping method).
    pub owner: &'a str,
    /// The logical name.
    pub name: &'a str,
}

/// The one opaque decryption failure: never says which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undecryptable;

/// Encryption failed (the OS random source, which orc cannot do without).
#[derive(Debug)]
pub struct SealError(pub String);

/// Fills `buf` from the operating system's random source.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), SealError> {
    getrandom::fill(buf).map_err(|e| SealError(format!("the OS random source failed: {e}")))
}

fn header(key_id: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[4] = VERSION;
    h[5] = ALG_AES256_GCM;
    h[6..10].copy_from_slice(&key_id.to_le_bytes());
    h
}

fn lp(out: &mut Vec<u8>, field: &str) {
    out.extend_from_slice(&(field.len() as u32).to_le_bytes());
    out.extend_from_slice(field.as_bytes());
}

/// The associated data for a header and a binding.
pub fn aad(header: &[u8], binding: &Binding<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        header.len()
            + 16
            + DOMAIN.len()
            + binding.kind.len()
            + binding.owner.len()
            + binding.name.len(),
    );
    out.extend_from_slice(header);
    lp(&mut out, DOMAIN);
    lp(&mut out, binding.kind);
    lp(&mut out, binding.owner);
    lp(&mut out, binding.name);
    out
}

/// Encrypts `plaintext` under `key` (generation `key_id`) with a fresh random nonce.
pub fn seal(
    key: &[u8; 32],
    key_id: u32,
    binding: &Binding<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    random_bytes(&mut nonce)?;
    seal_with_nonce(key, key_id, binding, plaintext, &nonce)
}

fn seal_with_nonce(
    key: &[u8; 32],
    key_id: u32,
    binding: &Binding<'_>,
    plaintext: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, SealError> {
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    let head = header(key_id);
    let aad = aad(&head, binding);
    let nonce_arr = Nonce::from(*nonce);
    let body = cipher
        .encrypt(&nonce_arr, Payload { msg: plaintext, aad: &aad })
        .map_err(|_| SealError("the plaintext is too long to encrypt".to_string()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + body.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&body);
    Ok(out)
}

/// The key generation an envelope claims, if its header is well-formed.
pub fn key_id_of(envelope: &[u8]) -> Option<u32> {
    if envelope.len() < MIN_LEN
        || envelope[..4] != MAGIC
        || envelope[4] != VERSION
        || envelope[5] != ALG_AES256_GCM
    {
        return None;
    }
    Some(u32::from_le_bytes(envelope[6..10].try_into().ok()?))
}

/// Decrypts an envelope written by [`seal`] with the same key, key generation and binding.
/// Anything else — wrong magic, version, algorithm, key generation, length, binding, or a
/// single changed bit — gives [`Undecryptable`] and no plaintext.
pub fn open(
    key: &[u8; 32],
    key_id: u32,
    binding: &Binding<'_>,
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Undecryptable> {
    if key_id_of(envelope) != Some(key_id) {
        return Err(Undecryptable);
    }
    let (head, rest) = envelope.split_at(HEADER_LEN);
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Undecryptable)?;
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    let aad = aad(head, binding);
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: body, aad: &aad })
        .map(Zeroizing::new)
        .map_err(|_| Undecryptable)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7u8; 32];
    const B: Binding<'static> = Binding { kind: "secret", owner: "1", name: "db-password" };

    #[test]
    fn round_trip_and_layout() {
        let env = seal(&KEY, 3, &B, b"CANARY-123").unwrap();
        assert_eq!(&env[..4], b"ORCS");
        assert_eq!(env[4], 1);
        assert_eq!(env[5], 1);
        assert_eq!(&env[6..10], &3u32.to_le_bytes());
        assert_eq!(env.len(), MIN_LEN + b"CANARY-123".len());
        assert_eq!(key_id_of(&env), Some(3));
        let plain = open(&KEY, 3, &B, &env).unwrap();
        assert_eq!(plain.as_slice(), b"CANARY-123");
        // The ciphertext does not contain the plaintext.
        assert!(!env.windows(10).any(|w| w == b"CANARY-123"));
        // Empty plaintext is the minimum length and still round-trips.
        let env = seal(&KEY, 3, &B, b"").unwrap();
        assert_eq!(env.len(), MIN_LEN);
        assert_eq!(open(&KEY, 3, &B, &env).unwrap().as_slice(), b"");
    }

    #[test]
    fn fresh_nonce_every_time() {
        let a = seal(&KEY, 1, &B, b"same").unwrap();
        let b = seal(&KEY, 1, &B, b"same").unwrap();
        assert_ne!(a[10..22], b[10..22], "nonces repeat");
        assert_ne!(a, b);
    }

    #[test]
    fn known_answer_is_stable() {
        // Pins the format: header, AAD layout and cipher. A change here breaks every vault.
        let env = seal_with_nonce(&KEY, 1, &B, b"x", &[9u8; 12]).unwrap();
        assert_eq!(hex::encode(&env[..22]), format!("4f524353010101000000{}", "09".repeat(12)));
        assert_eq!(hex::encode(&env[22..]), "5fbfcf81251735e243fa1f88824fa79d11");
        assert_eq!(open(&KEY, 1, &B, &env).unwrap().as_slice(), b"x");
        let again = seal_with_nonce(&KEY, 1, &B, b"x", &[9u8; 12]).unwrap();
        assert_eq!(env, again);
    }

    /// docs/design/reliability.md test 13: every kind of tampering gives the same opaque error.
    #[test]
    fn tampering_matrix_fails_closed() {
        let plain = b"CANARY-tamper-0123456789";
        let env = seal(&KEY, 1, &B, plain).unwrap();
        let mut cases: Vec<(String, Vec<u8>, Binding<'static>, u32)> = Vec::new();
        for (i, label) in [(12usize, "nonce"), (25, "body"), (env.len() - 3, "tag")] {
            for bit in [0u8, 3, 7] {
                let mut t = env.clone();
                t[i] ^= 1 << bit;
                cases.push((format!("bit {bit} flipped in {label}"), t, B, 1));
            }
        }
        for cut in [0, 1, 9, 21, MIN_LEN - 1, env.len() - 1] {
            cases.push((format!("truncated to {cut}"), env[..cut].to_vec(), B, 1));
        }
        let mut t = env.clone();
        t[4] = 2;
        cases.push(("version byte 2".into(), t, B, 1));
        let mut t = env.clone();
        t[5] = 2;
        cases.push(("unknown algorithm".into(), t, B, 1));
        let mut t = env.clone();
        t[0] = b'X';
        cases.push(("bad magic".into(), t, B, 1));
        let mut t = env.clone();
        t[6] = 9;
        cases.push(("unknown key_id in header".into(), t, B, 1));
        cases.push(("reader expects another key_id".into(), env.clone(), B, 2));
        cases.push(("wrong kind".into(), env.clone(), Binding { kind: "smtp_password", ..B }, 1));
        cases.push(("wrong owner".into(), env.clone(), Binding { owner: "2", ..B }, 1));
        cases.push(("wrong name".into(), env.clone(), Binding { name: "other", ..B }, 1));
        // Length prefixes stop fields being shifted into each other.
        cases.push((
            "shifted fields".into(),
            env.clone(),
            Binding { kind: "secret1", owner: "", name: "db-password" },
            1,
        ));
        let mut extended = env.clone();
        extended.push(0);
        cases.push(("extra byte".into(), extended, B, 1));
        for (label, bytes, binding, key_id) in cases {
            assert_eq!(open(&KEY, key_id, &binding, &bytes), Err(Undecryptable), "{label}");
        }
        // Wrong key.
        assert_eq!(open(&[8u8; 32], 1, &B, &env), Err(Undecryptable));
        // Two rows swapped: a ciphertext of row 2 presented as row 1.
        let other = seal(&KEY, 1, &Binding { owner: "2", name: "api-key", ..B }, b"v2").unwrap();
        assert_eq!(open(&KEY, 1, &B, &other), Err(Undecryptable));
        // And the original still opens.
        assert_eq!(open(&KEY, 1, &B, &env).unwrap().as_slice(), plain);
    }
}
