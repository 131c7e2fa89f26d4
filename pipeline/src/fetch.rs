//! The fetch stage: the TPU QUIC server.
//!
//! One transaction per unidirectional stream, or per QUIC datagram (RFC 9221): a
//! datagram costs both ends less than a stream (no stream state, no flow-control
//! credit to return) but is unreliable and not flow controlled, so a client that
//! sends faster than the node takes them loses the excess (`queue_full`, or inside
//! QUIC when the [`DATAGRAM_RECEIVE_BUFFER_BYTES`] fill); streams push back instead.
//! Limits, each a counted drop: connections in total (`connection_limit`),
//! concurrent streams per connection (QUIC flow control: the peer cannot open more),
//! bytes per stream or datagram (`oversize`: more than one packet), transactions per
//! second per connection, streams and datagrams together (`rate_limited`, a token
//! bucket). Received packets go through a bounded channel to one batcher
//! task that groups whatever is waiting (up to [`BATCH_PACKETS_MAX`]) into a batch
//! and pushes it onto the `fetch_sigverify` link, dropping (`queue_full`) when
//! sigverify is behind: the network must never make the node buffer without bound.
//!
//! The UDP socket asks the kernel for a large receive buffer
//! ([`FetchConfig::socket_receive_buffer_bytes`]): it holds what arrives while the
//! fetch thread waits for a core, and when it overflows, datagrams are lost and
//! stream packets come again only after QUIC's loss recovery. What the kernel drops
//! there is read from `/proc/net/udp` each second and counted as `socket_buffer_full`
//! (per UDP packet or GRO batch, not per transaction).
//!
//! Busy time for this stage counts the batcher only; QUIC itself runs on the
//! `fetch:0` tokio thread and shows up in per-thread CPU profiles under that name.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aether_types::transaction::MAX_WIRE_TRANSACTION_BYTES;
use quinn::crypto::rustls::QuicServerConfig;
use thiserror::Error;
use tokio::sync::mpsc;

use crate::link::Link;
use crate::metrics::StageMetrics;
use crate::packet::{BATCH_PACKETS_MAX, Packet, PacketBatch};

/// ALPN protocol name of the TPU.
pub const TPU_ALPN: &[u8] = b"aether-tpu/1";

/// Datagrams a connection may hold unread, in bytes (QUIC drops what does not fit).
pub const DATAGRAM_RECEIVE_BUFFER_BYTES: usize = 4 << 20;

/// [`TpuClient`] asks the TPU (QUIC ACK frequency extension) to acknowledge after this
/// many ack-eliciting packets instead of every second one: a sender of small
/// transactions needs acknowledgements for congestion control and loss recovery, not
/// per packet, and each ACK costs the node an encrypted packet and a send, and the
/// client the matching receive.
pub const CLIENT_ACK_ELICITING_THRESHOLD: u32 = 16;

/// ...or after this long at most (well under QUIC's default 25 ms, so a loss is still
/// noticed within a few milliseconds).
pub const CLIENT_MAX_ACK_DELAY: Duration = Duration::from_millis(5);

/// Drop reasons of the fetch stage.
pub const FETCH_DROP_REASONS: &[&str] = &[
    "oversize",
    "rate_limited",
    "queue_full",
    "connection_limit",
    "stream_error",
    "socket_buffer_full",
];

/// How often the kernel's drop count of the TPU socket is read into `socket_buffer_full`.
const SOCKET_DROPS_INTERVAL: Duration = Duration::from_secs(1);

/// Fetch limits.
#[derive(Debug, Clone, Copy)]
pub struct FetchConfig {
    /// Address to listen on (UDP).
    pub listen: SocketAddr,
    /// Most open connections.
    pub connections_max: usize,
    /// Most concurrent unidirectional streams per connection.
    pub streams_per_connection_max: u32,
    /// Sustained transactions per second per connection (burst: one second's worth).
    pub transactions_per_second_per_connection: u32,
    /// Receive buffer asked of the kernel for the TPU's UDP socket (`SO_RCVBUF`).
    /// Linux grants at most `net.core.rmem_max`; the server logs a warning when it
    /// gets less than asked.
    pub socket_receive_buffer_bytes: usize,
}

/// The server could not start.
#[derive(Debug, Error)]
pub enum FetchError {
    /// TLS set-up failed.
    #[error("cannot build the TPU's TLS configuration: {0}")]
    Tls(String),
    /// The socket could not be bound.
    #[error("cannot listen for QUIC on {address}: {source}")]
    Bind {
        /// Address.
        address: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// A running TPU server.
pub struct FetchServer {
    endpoint: quinn::Endpoint,
}

impl FetchServer {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Stops accepting and closes every connection.
    pub fn close(&self) {
        self.endpoint.close(0u32.into(), b"shutdown");
    }
}

fn server_config(config: &FetchConfig) -> Result<quinn::ServerConfig, FetchError> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .map_err(|error| FetchError::Tls(error.to_string()))?;
    let certificate = certified.cert.der().clone();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|error| FetchError::Tls(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key.into())
        .map_err(|error| FetchError::Tls(error.to_string()))?;
    tls.alpn_protocols = vec![TPU_ALPN.to_vec()];
    let crypto =
        QuicServerConfig::try_from(tls).map_err(|error| FetchError::Tls(error.to_string()))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_uni_streams(config.streams_per_connection_max.into())
        .max_concurrent_bidi_streams(0u32.into())
        .datagram_receive_buffer_size(Some(DATAGRAM_RECEIVE_BUFFER_BYTES))
        .max_idle_timeout(Some(
            Duration::from_secs(30)
                .try_into()
                .expect("30 s is a valid idle timeout"),
        ));
    server.transport_config(Arc::new(transport));
    Ok(server)
}

/// Starts the TPU server on the current tokio runtime, feeding `output`.
pub fn start_fetch(
    config: FetchConfig,
    output: Link<PacketBatch>,
    metrics: Arc<StageMetrics>,
) -> Result<FetchServer, FetchError> {
    let bind_error = |source| FetchError::Bind {
        address: config.listen,
        source,
    };
    let socket =
        bind_socket(config.listen, config.socket_receive_buffer_bytes).map_err(bind_error)?;
    let socket_receive_buffer_bytes = socket_receive_buffer(&socket).map_err(bind_error)?;
    if let Some(inode) = socket_inode(&socket) {
        tokio::spawn(count_socket_drops(inode, metrics.clone()));
    }
    // Linux reports the doubled size of what it granted.
    if socket_receive_buffer_bytes / 2 < config.socket_receive_buffer_bytes {
        tracing::warn!(
            asked_bytes = config.socket_receive_buffer_bytes,
            granted_bytes = socket_receive_buffer_bytes / 2,
            "the TPU socket got a smaller receive buffer than configured; raise the \
             kernel's net.core.rmem_max, or bursts will overflow it (lost datagrams, \
             QUIC retransmissions)"
        );
    }
    let runtime = quinn::default_runtime().ok_or_else(|| {
        bind_error(std::io::Error::other(
            "no async runtime for the TPU's QUIC endpoint",
        ))
    })?;
    let endpoint = quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(server_config(&config)?),
        socket,
        runtime,
    )
    .map_err(bind_error)?;
    let (sender, receiver) = mpsc::channel::<Packet>(BATCH_PACKETS_MAX * 64);
    tokio::spawn(batcher(receiver, output, metrics.clone()));
    let accepting = endpoint.clone();
    let open = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Some(incoming) = accepting.accept().await {
            if open.load(Ordering::Relaxed) >= config.connections_max {
                metrics.add_drop("connection_limit", 1);
                incoming.refuse();
                continue;
            }
            open.fetch_add(1, Ordering::Relaxed);
            let (open, sender, metrics) = (open.clone(), sender.clone(), metrics.clone());
            tokio::spawn(async move {
                if let Ok(connection) = incoming.await {
                    serve_connection(connection, config, sender, &metrics).await;
                }
                open.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });
    Ok(FetchServer { endpoint })
}

/// A UDP socket bound to `address` with a receive buffer of (up to) `receive_bytes`.
///
/// The buffer must absorb what arrives while the fetch thread waits for a core: at 50k
/// transactions per second, a 5 ms wait is 250 transactions, and Linux's usual
/// default (208 KiB, charged per buffer rather than per byte) holds fewer than that.
/// A datagram that does not fit is lost, and a stream packet is retransmitted after
/// QUIC notices the loss, with its congestion window halved.
fn bind_socket(address: SocketAddr, receive_bytes: usize) -> std::io::Result<std::net::UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if address.is_ipv6() {
        // The same dual-stack behaviour as a plain std bind.
        let _ = socket.set_only_v6(false);
    }
    socket.set_recv_buffer_size(receive_bytes)?;
    socket.bind(&address.into())?;
    Ok(socket.into())
}

fn socket_receive_buffer(socket: &std::net::UdpSocket) -> std::io::Result<usize> {
    socket2::SockRef::from(socket).recv_buffer_size()
}

/// The socket's inode number (how `/proc/net/udp` names it); `None` off Linux.
fn socket_inode(socket: &std::net::UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
    link.to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Packets the kernel dropped on the UDP socket with `inode` because its receive
/// buffer was full: the last column of its line in `/proc/net/udp` or `udp6`. With GRO
/// one drop can be a batch of QUIC packets. `None` when no such socket is listed.
fn socket_drops(inode: u64) -> Option<u64> {
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .find_map(|table| {
            let text = std::fs::read_to_string(table).ok()?;
            text.lines().skip(1).find_map(|line| {
                // sl local rem st queues tr retrnsmt uid timeout inode ref pointer drops
                let mut columns = line.split_whitespace();
                if columns.nth(9)?.parse() != Ok(inode) {
                    return None;
                }
                columns.nth(2)?.parse().ok()
            })
        })
}

/// Adds what the kernel dropped on the TPU socket to `socket_buffer_full`, once per
/// [`SOCKET_DROPS_INTERVAL`], until the socket is gone. The node never sees these
/// packets, so without this they would be lost uncounted.
async fn count_socket_drops(inode: u64, metrics: Arc<StageMetrics>) {
    let mut counted = socket_drops(inode).unwrap_or(0);
    loop {
        tokio::time::sleep(SOCKET_DROPS_INTERVAL).await;
        let Some(drops) = socket_drops(inode) else {
            return;
        };
        if drops > counted {
            metrics.add_drop("socket_buffer_full", (drops - counted) as usize);
        }
        counted = drops;
    }
}

struct TokenBucket {
    tokens: f64,
    rate_per_second: f64,
    last: Instant,
}

impl TokenBucket {
    fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * self.rate_per_second;
        self.tokens = (self.tokens + refill).min(self.rate_per_second);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn serve_connection(
    connection: quinn::Connection,
    config: FetchConfig,
    sender: mpsc::Sender<Packet>,
    metrics: &StageMetrics,
) {
    let source = connection.remote_address();
    let rate = f64::from(config.transactions_per_second_per_connection.max(1));
    let bucket = Mutex::new(TokenBucket {
        tokens: rate,
        rate_per_second: rate,
        last: Instant::now(),
    });
    // One packet from a stream or a datagram: rate limit, then the batcher's channel.
    let take = |data: &[u8]| {
        metrics.add_in(1);
        let allowed = bucket
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take(Instant::now());
        if !allowed {
            metrics.add_drop("rate_limited", 1);
            return;
        }
        let Some(packet) = Packet::from_bytes(data, Some(source)) else {
            metrics.add_drop("oversize", 1);
            return;
        };
        if sender.try_send(packet).is_err() {
            metrics.add_drop("queue_full", 1);
        }
    };
    let streams = async {
        while let Ok(mut stream) = connection.accept_uni().await {
            match stream.read_to_end(MAX_WIRE_TRANSACTION_BYTES).await {
                Ok(data) => take(&data),
                Err(quinn::ReadToEndError::TooLong) => metrics.add_drop("oversize", 1),
                Err(_) => metrics.add_drop("stream_error", 1),
            }
        }
    };
    let datagrams = async {
        while let Ok(datagram) = connection.read_datagram().await {
            take(&datagram);
        }
    };
    // Both end when the connection closes.
    tokio::join!(streams, datagrams);
}

async fn batcher(
    mut receiver: mpsc::Receiver<Packet>,
    output: Link<PacketBatch>,
    metrics: Arc<StageMetrics>,
) {
    let mut waiting = Vec::with_capacity(BATCH_PACKETS_MAX);
    while receiver.recv_many(&mut waiting, BATCH_PACKETS_MAX).await > 0 {
        let started = Instant::now();
        metrics.add_batch();
        let mut batch = PacketBatch::with_capacity();
        let count = waiting.len();
        batch.packets.append(&mut waiting);
        match output.push(batch, || false) {
            Ok(()) => metrics.add_out(count),
            Err(_) => metrics.add_drop("queue_full", count),
        }
        metrics.add_busy_nanoseconds(started.elapsed().as_nanos() as u64);
    }
}

/// A TPU client for tools, tests and benchmarks: one QUIC connection, one
/// unidirectional stream per transaction.
///
/// It does not authenticate the server (the TPU's certificate is self-signed and
/// the payload is a signed transaction, so a man in the middle can only drop it).
pub struct TpuClient {
    connection: quinn::Connection,
    _endpoint: quinn::Endpoint,
}

impl TpuClient {
    /// Connects to the TPU at `server`.
    pub async fn connect(server: SocketAddr) -> Result<TpuClient, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|error| error.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCertificate(provider)))
            .with_no_client_auth();
        tls.alpn_protocols = vec![TPU_ALPN.to_vec()];
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
            .map_err(|error| error.to_string())?;
        let bind: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let mut endpoint = quinn::Endpoint::client(bind).map_err(|error| error.to_string())?;
        let mut acknowledgements = quinn::AckFrequencyConfig::default();
        acknowledgements
            .ack_eliciting_threshold(CLIENT_ACK_ELICITING_THRESHOLD.into())
            .max_ack_delay(Some(CLIENT_MAX_ACK_DELAY));
        let mut transport = quinn::TransportConfig::default();
        transport.ack_frequency_config(Some(acknowledgements));
        let mut client = quinn::ClientConfig::new(Arc::new(crypto));
        client.transport_config(Arc::new(transport));
        endpoint.set_default_client_config(client);
        let connection = endpoint
            .connect(server, "localhost")
            .map_err(|error| error.to_string())?
            .await
            .map_err(|error| format!("cannot connect to the TPU at {server}: {error}"))?;
        Ok(TpuClient {
            connection,
            _endpoint: endpoint,
        })
    }

    /// Sends one transaction's wire bytes in a QUIC datagram, waiting for room in the
    /// send buffer; a transaction larger than a datagram can carry goes on a stream.
    /// Unlike a stream, a datagram the node cannot take in time is lost.
    pub async fn send_datagram(&self, wire: &[u8]) -> Result<(), String> {
        match self.connection.max_datagram_size() {
            Some(largest) if wire.len() <= largest => self
                .connection
                .send_datagram_wait(bytes::Bytes::copy_from_slice(wire))
                .await
                .map_err(|error| error.to_string()),
            _ => self.send(wire).await,
        }
    }

    /// Sends one transaction's wire bytes on a new stream.
    pub async fn send(&self, wire: &[u8]) -> Result<(), String> {
        let mut stream = self
            .connection
            .open_uni()
            .await
            .map_err(|error| error.to_string())?;
        stream
            .write_all(wire)
            .await
            .map_err(|error| error.to_string())?;
        stream.finish().map_err(|error| error.to_string())?;
        Ok(())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The socket gets the receive buffer it asks for (Linux books twice the request),
    /// not the kernel's default, and binds where asked.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_socket_gets_its_receive_buffer() {
        // Below any rmem_max, and different from the usual 208 KiB default.
        for asked_bytes in [64 << 10, 96 << 10] {
            let socket = bind_socket("127.0.0.1:0".parse().unwrap(), asked_bytes).unwrap();
            assert_eq!(socket_receive_buffer(&socket).unwrap(), 2 * asked_bytes);
            assert!(socket.local_addr().unwrap().ip().is_loopback());
        }
    }

    /// A socket whose buffer overflows shows the overflow in its drop count, and
    /// another socket's count is not mistaken for it.
    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_drops_of_the_socket_are_read() {
        let receiver = bind_socket("127.0.0.1:0".parse().unwrap(), 4096).unwrap();
        let quiet = bind_socket("127.0.0.1:0".parse().unwrap(), 4096).unwrap();
        let (inode, quiet_inode) = (
            socket_inode(&receiver).unwrap(),
            socket_inode(&quiet).unwrap(),
        );
        assert_ne!(inode, quiet_inode);
        assert_eq!(socket_drops(inode), Some(0));
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let target = receiver.local_addr().unwrap();
        for _ in 0..200 {
            sender.send_to(&[7u8; 1000], target).unwrap();
        }
        let drops = socket_drops(inode).unwrap();
        assert!(drops > 0, "a 4 KiB buffer took 200 KB unread");
        assert!(drops < 200);
        assert_eq!(socket_drops(quiet_inode), Some(0));
        assert_eq!(socket_drops(u64::MAX), None);
    }
}
