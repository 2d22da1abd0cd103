//! `--tls-cert/--tls-key`: the dashboard's TLS server configuration (rustls with the ring
//! provider, TLS 1.2 and 1.3), read from PEM files: the certificate chain (leaf first) and
//! its private key (PKCS#8, PKCS#1 or SEC1).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// Reads the PEM files and builds the server configuration.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>> {
    let bad = |flag: &str, path: &Path, why: String| {
        Error::invalid(flag, path.display().to_string(), why)
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("--tls-cert", cert, format!("cannot read PEM certificates: {e}")))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad("--tls-cert", cert, format!("not a PEM certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(bad("--tls-cert", cert, "has no -----BEGIN CERTIFICATE----- block".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad("--tls-key", key, format!("not a PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Failed(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            Error::invalid("--tls-key", "", format!("does not match the certificate: {e}"))
        })?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fixture_pair_and_refuses_swapped_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp");
        assert!(server_config(&dir.join("server.pem"), &dir.join("server.key")).is_ok());
        let e = server_config(&dir.join("server.key"), &dir.join("server.pem")).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let e = server_config(&dir.join("nosuch.pem"), &dir.join("server.key")).unwrap_err();
        assert!(e.to_string().contains("--tls-cert"), "{e}");
    }
}
