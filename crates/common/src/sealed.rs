//! Sealing small secrets at rest (payees' names and accounts): XChaCha20-Poly1305
//! with a random 192-bit nonce per value, so nonces never need coordinating, and the
//! row's owner as associated data, so a sealed value copied onto another row does
//! not open. The key lives in a file mounted from a Secret; its id (a hash prefix)
//! is stored beside each value, so a value sealed under another key is named as such
//! instead of failing obscurely.
use std::path::Path;

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use sha2::{Digest, Sha256};

const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("key file {path}: {why}")]
    Key { path: String, why: String },
    #[error("sealed under key {stored}, but this service holds key {held}")]
    OtherKey { stored: String, held: String },
    #[error("a sealed value failed to open: it was altered or belongs to another owner")]
    Tampered,
}

/// The key values are sealed under.
#[derive(Clone)]
pub struct SealingKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl SealingKey {
    /// Reads a key file: 32 random bytes, base64 (`head -c32 /dev/urandom | base64`).
    pub fn from_file(path: &Path) -> Result<Self, SealError> {
        let bad = |why: String| SealError::Key { path: path.display().to_string(), why };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let bytes = STANDARD.decode(text.trim()).map_err(|e| bad(format!("not base64: {e}")))?;
        Self::from_bytes(&bytes).map_err(|_| bad(format!("holds {} bytes; a key is 32", bytes.len())))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let cipher = XChaCha20Poly1305::new_from_slice(bytes)
            .map_err(|_| SealError::Key { path: String::new(), why: "a key is 32 bytes".into() })?;
        let id = hex_prefix(&Sha256::digest(bytes));
        Ok(Self { id, cipher })
    }

    /// Names the key without revealing it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// nonce ‖ ciphertext of `plain`, bound to `owner`.
    pub fn seal(&self, owner: &str, plain: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let payload = Payload { msg: plain, aad: owner.as_bytes() };
        // Encryption fails only past 256 GiB per message.
        let sealed = self.cipher.encrypt(&XNonce::from(nonce_bytes), payload).unwrap_or_default();
        [nonce_bytes.as_slice(), &sealed].concat()
    }

    /// Opens a value sealed for `owner` under the key named `key_id`.
    pub fn open(&self, key_id: &str, owner: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if key_id != self.id {
            return Err(SealError::OtherKey { stored: key_id.to_owned(), held: self.id.clone() });
        }
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_BYTES).ok_or(SealError::Tampered)?;
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Tampered)?;
        self.cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: owner.as_bytes() })
            .map_err(|_| SealError::Tampered)
    }
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SealingKey {
        SealingKey::from_bytes(&[byte; 32]).expect("key")
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_owner_and_key() {
        let k = key(7);
        let sealed = k.seal("p1", "张三 6222020200112233445".as_bytes());
        assert!(!sealed.windows(4).any(|w| w == b"6222"), "the account is not in the clear");
        assert_eq!(k.open(k.id(), "p1", &sealed).expect("opens"), "张三 6222020200112233445".as_bytes());
        assert!(matches!(k.open(k.id(), "p2", &sealed), Err(SealError::Tampered)), "another owner's row");
        let other = key(8);
        assert!(matches!(other.open(k.id(), "p1", &sealed), Err(SealError::OtherKey { .. })));
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(matches!(k.open(k.id(), "p1", &altered), Err(SealError::Tampered)));
        assert_ne!(k.seal("p1", b"x"), k.seal("p1", b"x"), "a fresh nonce each time");
    }

    #[test]
    fn key_files_are_checked() {
        let dir = std::env::temp_dir().join(format!("xiaopu-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let good = dir.join("good");
        std::fs::write(&good, format!("{}\n", STANDARD.encode([3u8; 32]))).expect("write");
        assert_eq!(SealingKey::from_file(&good).expect("key").id(), key(3).id());
        let short = dir.join("short");
        std::fs::write(&short, STANDARD.encode([3u8; 16])).expect("write");
        let err = SealingKey::from_file(&short).expect_err("short key").to_string();
        assert!(err.contains("16 bytes"), "{err}");
    }
}
