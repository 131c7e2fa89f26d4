//! QUIC/TLS configuration: a fresh self-signed certificate per endpoint, and a client that
//! accepts any server certificate. TLS only provides encryption and the per-connection
//! keying material the hello signs (see `hello.rs`); identity is proven by the hello.

use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};

use crate::endpoint::{EndpointConfig, NetworkError};

/// ALPN protocol name of validator-to-validator traffic.
pub const NETWORK_ALPN: &[u8] = b"aether-net/1";

fn tls_error(error: impl std::fmt::Display) -> NetworkError {
    NetworkError::Tls(error.to_string())
}

fn transport(config: &EndpointConfig) -> Result<Arc<quinn::TransportConfig>, NetworkError> {
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_uni_streams(config.streams_per_connection_max.into())
        .max_concurrent_bidi_streams(0u32.into())
        .keep_alive_interval(Some(config.idle_timeout / 3))
        .max_idle_timeout(Some(config.idle_timeout.try_into().map_err(tls_error)?));
    Ok(Arc::new(transport))
}

/// The server half of the endpoint.
pub(crate) fn server_config(config: &EndpointConfig) -> Result<quinn::ServerConfig, NetworkError> {
    let certified =
        rcgen::generate_simple_self_signed(vec!["aether".to_owned()]).map_err(tls_error)?;
    let certificate = certified.cert.der().clone();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key.into())
        .map_err(tls_error)?;
    tls.alpn_protocols = vec![NETWORK_ALPN.to_vec()];
    let crypto = QuicServerConfig::try_from(tls).map_err(tls_error)?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server.transport_config(transport(config)?);
    Ok(server)
}

/// The client half of the endpoint.
pub(crate) fn client_config(config: &EndpointConfig) -> Result<quinn::ClientConfig, NetworkError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServerCertificate(provider)))
        .with_no_client_auth();
    tls.alpn_protocols = vec![NETWORK_ALPN.to_vec()];
    let crypto = QuicClientConfig::try_from(tls).map_err(tls_error)?;
    let mut client = quinn::ClientConfig::new(Arc::new(crypto));
    client.transport_config(transport(config)?);
    Ok(client)
}

/// Keep-alive must fire well inside the idle timeout.
pub(crate) const IDLE_TIMEOUT_MIN: Duration = Duration::from_millis(300);

#[derive(Debug)]
struct AnyServerCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
