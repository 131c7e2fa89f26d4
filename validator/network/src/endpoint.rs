//! The runner: one quinn endpoint that is both server and client, per-peer outbound
//! queues, the hello on every connection, and stream reading into bounded channels.
//!
//! Connection policy: node A sends to B only on A's own outbound connection to B (opened
//! lazily, re-opened with exponential backoff after a failure); it reads messages on every
//! authenticated connection. A pair of validators therefore holds two connections, which
//! avoids any tie-break between simultaneous opens.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aether_crypto::ed25519::{Ed25519PublicKey, Ed25519SecretKey};
use thiserror::Error;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::timeout;

use crate::frame::{self, FRAME_HEADER_BYTES, FrameError, MessageKind};
use crate::hello::{self, BINDING_BYTES, HELLO_BYTES, HELLO_EXPORTER_LABEL, Role};
use crate::membership::Membership;
use crate::metrics::{DropReason, NetworkMetrics};
use crate::tls;

/// Payloads above this size hold one of the connection's `large_streams_per_connection_max`
/// permits while they are read, so proposals cannot pin unbounded memory.
pub const LARGE_PAYLOAD_BYTES: usize = 64 * 1024;

/// QUIC application close codes.
const CLOSE_BAD_HELLO: u32 = 1;
const CLOSE_UNKNOWN_PEER: u32 = 2;
const CLOSE_SHUTDOWN: u32 = 3;
/// QUIC stop code for a rejected stream.
const STOP_REJECTED: u32 = 1;

/// Limits and timings of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Depth of the consumer's inbound channel (non-gossip messages).
    pub inbound_queue_capacity: usize,
    /// Depth of the gossip inbound channel.
    pub gossip_queue_capacity: usize,
    /// Depth of each peer's outbound queue.
    pub outbound_queue_capacity: usize,
    /// Most inbound connections open at once.
    pub connections_max: usize,
    /// Most concurrent unidirectional streams a peer may open on one connection.
    pub streams_per_connection_max: u32,
    /// Most payloads over [`LARGE_PAYLOAD_BYTES`] read at once per connection.
    pub large_streams_per_connection_max: usize,
    /// Time allowed for the QUIC handshake, and again for the hello exchange.
    pub handshake_timeout: Duration,
    /// Time allowed to open a stream and write one message.
    pub write_timeout: Duration,
    /// QUIC idle timeout (keep-alives go out at a third of it).
    pub idle_timeout: Duration,
    /// First reconnect delay after a failure.
    pub reconnect_backoff_min: Duration,
    /// Largest reconnect delay (the delay doubles per consecutive failure).
    pub reconnect_backoff_max: Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            inbound_queue_capacity: 16_384,
            gossip_queue_capacity: 1_024,
            outbound_queue_capacity: 4_096,
            connections_max: 2 * aether_types::MAX_VALIDATORS,
            streams_per_connection_max: 512,
            large_streams_per_connection_max: 2,
            handshake_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            // A peer that died (or restarted with a fresh endpoint) is noticed within
            // the idle timeout: until then messages to it vanish into the old
            // connection. Validators must hear a restarted peer quickly (it catches up
            // through block fetches), so both are short; keep-alives cost one packet a
            // second per peer.
            idle_timeout: Duration::from_secs(4),
            reconnect_backoff_min: Duration::from_millis(100),
            reconnect_backoff_max: Duration::from_secs(2),
        }
    }
}

impl EndpointConfig {
    /// Checks that every limit is positive and the timings are consistent.
    pub fn validate(&self) -> Result<(), NetworkError> {
        let checks = [
            (
                self.inbound_queue_capacity > 0,
                "inbound_queue_capacity must be > 0",
            ),
            (
                self.gossip_queue_capacity > 0,
                "gossip_queue_capacity must be > 0",
            ),
            (
                self.outbound_queue_capacity > 0,
                "outbound_queue_capacity must be > 0",
            ),
            (self.connections_max > 0, "connections_max must be > 0"),
            (
                self.streams_per_connection_max > 0,
                "streams_per_connection_max must be > 0",
            ),
            (
                self.large_streams_per_connection_max > 0,
                "large_streams_per_connection_max must be > 0",
            ),
            (
                self.idle_timeout >= tls::IDLE_TIMEOUT_MIN,
                "idle_timeout must be at least 300 ms",
            ),
            (
                self.reconnect_backoff_min > Duration::ZERO
                    && self.reconnect_backoff_min <= self.reconnect_backoff_max,
                "reconnect backoff must satisfy 0 < min <= max",
            ),
        ];
        match checks.into_iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(NetworkError::Config(message)),
            None => Ok(()),
        }
    }
}

/// The endpoint could not start, or an operation on it failed.
#[derive(Debug, Error)]
pub enum NetworkError {
    /// A configuration value is out of range.
    #[error("invalid network configuration: {0}")]
    Config(&'static str),
    /// TLS set-up failed.
    #[error("cannot build the network's TLS configuration: {0}")]
    Tls(String),
    /// The socket could not be bound.
    #[error("cannot listen for QUIC on {address}: {source}")]
    Bind {
        /// Address.
        address: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Connecting (QUIC handshake plus hello) failed.
    #[error("cannot connect to {address}: {reason}")]
    Connect {
        /// Address.
        address: SocketAddr,
        /// Cause.
        reason: String,
    },
}

/// Why [`NetworkEndpoint::send`] did not queue a message (each is also a counted drop,
/// except `Closed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SendError {
    /// The payload is over the kind's maximum.
    #[error("payload over the kind's maximum")]
    Oversize,
    /// The destination is not in the allowed set (or is this node).
    #[error("destination is not an allowed peer")]
    UnknownPeer,
    /// The peer's outbound queue is full.
    #[error("outbound queue full")]
    QueueFull,
    /// The endpoint is closed.
    #[error("endpoint closed")]
    Closed,
}

/// One message received from an authenticated peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The sender's identity (proven by the connection's hello).
    pub sender: Ed25519PublicKey,
    /// The frame's kind.
    pub kind: MessageKind,
    /// The payload, undecoded.
    pub payload: Vec<u8>,
}

/// The receiving ends an endpoint feeds.
#[derive(Debug)]
pub struct EndpointReceivers {
    /// Every non-gossip message, for the consumer.
    pub messages: mpsc::Receiver<InboundMessage>,
    /// Gossip messages, for [`crate::gossip::start_gossip`].
    pub gossip: mpsc::Receiver<InboundMessage>,
}

type Outbound = (MessageKind, Vec<u8>);

struct Shared {
    identity: Arc<Ed25519SecretKey>,
    identity_public: Ed25519PublicKey,
    membership: Arc<Membership>,
    metrics: Arc<NetworkMetrics>,
    config: EndpointConfig,
    endpoint: quinn::Endpoint,
    client_config: quinn::ClientConfig,
    /// Outbound queue per peer; bounded by the allowed set (only allowed peers get one).
    peers: Mutex<HashMap<Ed25519PublicKey, mpsc::Sender<Outbound>>>,
    messages: mpsc::Sender<InboundMessage>,
    gossip: mpsc::Sender<InboundMessage>,
    inbound_connections: AtomicUsize,
    closed: AtomicBool,
}

/// A validator's network endpoint. Cheap to clone; every clone drives the same endpoint.
#[derive(Clone)]
pub struct NetworkEndpoint {
    shared: Arc<Shared>,
}

impl NetworkEndpoint {
    /// Binds `address` and starts accepting on the current tokio runtime.
    pub fn bind(
        address: SocketAddr,
        identity: Arc<Ed25519SecretKey>,
        membership: Arc<Membership>,
        config: EndpointConfig,
    ) -> Result<(NetworkEndpoint, EndpointReceivers), NetworkError> {
        config.validate()?;
        let endpoint = quinn::Endpoint::server(tls::server_config(&config)?, address)
            .map_err(|source| NetworkError::Bind { address, source })?;
        let (messages, messages_receiver) = mpsc::channel(config.inbound_queue_capacity);
        let (gossip, gossip_receiver) = mpsc::channel(config.gossip_queue_capacity);
        let shared = Arc::new(Shared {
            identity_public: identity.public_key(),
            identity,
            membership,
            metrics: Arc::new(NetworkMetrics::default()),
            client_config: tls::client_config(&config)?,
            config,
            endpoint,
            peers: Mutex::new(HashMap::new()),
            messages,
            gossip,
            inbound_connections: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(accept_loop(shared.clone()));
        let receivers = EndpointReceivers {
            messages: messages_receiver,
            gossip: gossip_receiver,
        };
        Ok((NetworkEndpoint { shared }, receivers))
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.shared.endpoint.local_addr()
    }

    /// This node's identity.
    pub fn identity(&self) -> Ed25519PublicKey {
        self.shared.identity_public
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<NetworkMetrics> {
        &self.shared.metrics
    }

    /// The allowed set and address book this endpoint uses.
    pub fn membership(&self) -> &Arc<Membership> {
        &self.shared.membership
    }

    /// Queues `payload` for `peer` without waiting. The peer's task connects if needed.
    /// Must be called from within the tokio runtime the endpoint was bound on (the first
    /// message to a peer spawns that peer's task there).
    pub fn send(
        &self,
        peer: Ed25519PublicKey,
        kind: MessageKind,
        payload: Vec<u8>,
    ) -> Result<(), SendError> {
        let shared = &self.shared;
        if shared.closed.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        if frame::check_payload(kind, &payload).is_err() {
            shared.metrics.add_drop(DropReason::Oversize);
            return Err(SendError::Oversize);
        }
        if peer == shared.identity_public || !shared.membership.is_allowed(&peer) {
            shared.metrics.add_drop(DropReason::UnknownPeer);
            return Err(SendError::UnknownPeer);
        }
        let queue = {
            let mut peers = shared
                .peers
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            peers
                .entry(peer)
                .or_insert_with(|| {
                    let (sender, receiver) = mpsc::channel(shared.config.outbound_queue_capacity);
                    tokio::spawn(peer_task(shared.clone(), peer, receiver));
                    sender
                })
                .clone()
        };
        queue
            .try_send((kind, payload))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => {
                    shared.metrics.add_drop(DropReason::OutboundQueueFull);
                    SendError::QueueFull
                }
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            })
    }

    /// Connects to `address`, learns and checks the identity behind it (it must be
    /// allowed), records the address in the membership, and closes the connection. Used to
    /// turn a gossip entrypoint's address into an identity.
    pub async fn resolve(&self, address: SocketAddr) -> Result<Ed25519PublicKey, NetworkError> {
        let (connection, identity) = connect(&self.shared, address, None).await?;
        connection.close(0u32.into(), b"resolved");
        self.shared.membership.set_address(identity, address);
        Ok(identity)
    }

    /// Stops accepting, closes every connection and ends every peer task.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared
            .peers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
        self.shared
            .endpoint
            .close(CLOSE_SHUTDOWN.into(), b"shutdown");
    }

    /// Whether [`NetworkEndpoint::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Test hook: an authenticated raw connection to `address`.
    #[cfg(test)]
    pub(crate) async fn connect_raw(
        &self,
        address: SocketAddr,
    ) -> Result<(quinn::Connection, Ed25519PublicKey), NetworkError> {
        connect(&self.shared, address, None).await
    }
}

/// Opens a connection to `address` and exchanges hellos. With `expected`, the server must
/// prove that identity; in any case it must be allowed.
async fn connect(
    shared: &Arc<Shared>,
    address: SocketAddr,
    expected: Option<Ed25519PublicKey>,
) -> Result<(quinn::Connection, Ed25519PublicKey), NetworkError> {
    let failed = |reason: String| NetworkError::Connect { address, reason };
    let connecting = shared
        .endpoint
        .connect_with(shared.client_config.clone(), address, "aether")
        .map_err(|error| failed(error.to_string()))?;
    let connection = timeout(shared.config.handshake_timeout, connecting)
        .await
        .map_err(|_| failed("QUIC handshake timed out".into()))?
        .map_err(|error| failed(error.to_string()))?;
    let peer = match timeout(
        shared.config.handshake_timeout,
        exchange_hellos(shared, &connection, Role::Client),
    )
    .await
    {
        Ok(Ok(peer)) => peer,
        Ok(Err(reason)) => {
            shared.metrics.add_drop(DropReason::BadHello);
            connection.close(CLOSE_BAD_HELLO.into(), b"bad hello");
            return Err(failed(reason));
        }
        Err(_) => {
            shared.metrics.add_drop(DropReason::BadHello);
            connection.close(CLOSE_BAD_HELLO.into(), b"hello timed out");
            return Err(failed("hello timed out".into()));
        }
    };
    if expected.is_some_and(|expected| expected != peer) {
        shared.metrics.add_drop(DropReason::BadHello);
        connection.close(CLOSE_BAD_HELLO.into(), b"unexpected identity");
        return Err(failed(format!("expected {expected:?}, the peer is {peer}")));
    }
    if !shared.membership.is_allowed(&peer) || peer == shared.identity_public {
        shared.metrics.add_drop(DropReason::UnknownPeer);
        connection.close(CLOSE_UNKNOWN_PEER.into(), b"unknown peer");
        return Err(failed(format!("{peer} is not an allowed peer")));
    }
    tokio::spawn(serve_streams(shared.clone(), connection.clone(), peer));
    Ok((connection, peer))
}

/// Sends our hello on a fresh unidirectional stream and reads the peer's from the first
/// stream it opens; returns the peer's verified identity.
async fn exchange_hellos(
    shared: &Shared,
    connection: &quinn::Connection,
    role: Role,
) -> Result<Ed25519PublicKey, String> {
    let mut binding = [0u8; BINDING_BYTES];
    connection
        .export_keying_material(&mut binding, HELLO_EXPORTER_LABEL, b"")
        .map_err(|_| "cannot export keying material".to_owned())?;
    let ours = hello::encode_hello(&shared.identity, role, &binding);
    let send = async {
        let mut stream = connection.open_uni().await.map_err(|e| e.to_string())?;
        stream.write_all(&ours).await.map_err(|e| e.to_string())?;
        stream.finish().map_err(|e| e.to_string())
    };
    let receive = async {
        let mut stream = connection.accept_uni().await.map_err(|e| e.to_string())?;
        stream
            .read_to_end(HELLO_BYTES)
            .await
            .map_err(|e| e.to_string())
    };
    let (sent, received) = tokio::join!(send, receive);
    sent?;
    hello::verify_hello(&received?, role.peer(), &binding).map_err(|e| e.to_string())
}

async fn accept_loop(shared: Arc<Shared>) {
    while let Some(incoming) = shared.endpoint.accept().await {
        if shared.inbound_connections.load(Ordering::Relaxed) >= shared.config.connections_max {
            shared.metrics.add_drop(DropReason::ConnectionLimit);
            incoming.refuse();
            continue;
        }
        shared.inbound_connections.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        tokio::spawn(async move {
            serve_incoming(&shared, incoming).await;
            shared.inbound_connections.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

async fn serve_incoming(shared: &Arc<Shared>, incoming: quinn::Incoming) {
    let Ok(Ok(connection)) = timeout(shared.config.handshake_timeout, incoming).await else {
        shared.metrics.add_drop(DropReason::StreamError);
        return;
    };
    let hello = timeout(
        shared.config.handshake_timeout,
        exchange_hellos(shared, &connection, Role::Server),
    )
    .await;
    let Ok(Ok(peer)) = hello else {
        shared.metrics.add_drop(DropReason::BadHello);
        connection.close(CLOSE_BAD_HELLO.into(), b"bad hello");
        return;
    };
    if !shared.membership.is_allowed(&peer) || peer == shared.identity_public {
        shared.metrics.add_drop(DropReason::UnknownPeer);
        connection.close(CLOSE_UNKNOWN_PEER.into(), b"unknown peer");
        return;
    }
    serve_streams(shared.clone(), connection, peer).await;
}

/// Reads every stream the peer opens. QUIC flow control caps the streams in flight at
/// `streams_per_connection_max`, which bounds the tasks spawned here.
async fn serve_streams(shared: Arc<Shared>, connection: quinn::Connection, peer: Ed25519PublicKey) {
    let large = Arc::new(Semaphore::new(
        shared.config.large_streams_per_connection_max,
    ));
    while let Ok(stream) = connection.accept_uni().await {
        tokio::spawn(read_stream(shared.clone(), stream, peer, large.clone()));
    }
}

async fn read_stream(
    shared: Arc<Shared>,
    mut stream: quinn::RecvStream,
    peer: Ed25519PublicKey,
    large: Arc<Semaphore>,
) {
    let metrics = &shared.metrics;
    let mut header = [0u8; FRAME_HEADER_BYTES];
    if let Err(error) = stream.read_exact(&mut header).await {
        metrics.add_drop(match error {
            quinn::ReadExactError::FinishedEarly(_) => DropReason::Malformed,
            quinn::ReadExactError::ReadError(_) => DropReason::StreamError,
        });
        return;
    }
    let header = match frame::decode_header(&header) {
        Ok(header) => header,
        Err(error) => {
            metrics.add_drop(match error {
                FrameError::UnknownKind(_) => DropReason::UnknownKind,
                FrameError::Oversize { .. } => DropReason::Oversize,
                FrameError::Malformed(_) => DropReason::Malformed,
            });
            let _ = stream.stop(STOP_REJECTED.into());
            return;
        }
    };
    let _permit = if header.payload_length > LARGE_PAYLOAD_BYTES {
        match large.acquire().await {
            Ok(permit) => Some(permit),
            Err(_) => return,
        }
    } else {
        None
    };
    let payload = match stream.read_to_end(header.payload_length).await {
        Ok(payload) if payload.len() == header.payload_length => payload,
        Ok(_) | Err(quinn::ReadToEndError::TooLong) => {
            metrics.add_drop(DropReason::Malformed);
            let _ = stream.stop(STOP_REJECTED.into());
            return;
        }
        Err(quinn::ReadToEndError::Read(_)) => {
            metrics.add_drop(DropReason::StreamError);
            return;
        }
    };
    metrics.add_received(header.kind);
    let queue = match header.kind {
        MessageKind::Gossip => &shared.gossip,
        _ => &shared.messages,
    };
    let message = InboundMessage {
        sender: peer,
        kind: header.kind,
        payload,
    };
    if queue.try_send(message).is_err() {
        metrics.add_drop(DropReason::InboundQueueFull);
    }
}

/// Drains one peer's outbound queue onto this node's connection to it.
async fn peer_task(
    shared: Arc<Shared>,
    peer: Ed25519PublicKey,
    mut queue: mpsc::Receiver<Outbound>,
) {
    let config = &shared.config;
    let mut backoff = config.reconnect_backoff_min;
    let mut connection: Option<quinn::Connection> = None;
    while let Some((kind, payload)) = queue.recv().await {
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        if connection
            .as_ref()
            .is_some_and(|c| c.close_reason().is_some())
        {
            connection = None;
        }
        if connection.is_none() {
            let Some(address) = shared.membership.address(&peer) else {
                shared.metrics.add_drop(DropReason::NoAddress);
                continue;
            };
            match connect(&shared, address, Some(peer)).await {
                Ok((opened, _)) => {
                    connection = Some(opened);
                    backoff = config.reconnect_backoff_min;
                }
                Err(error) => {
                    tracing::debug!(%peer, %error, "connect failed; backing off");
                    shared.metrics.add_drop(DropReason::SendFailed);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(config.reconnect_backoff_max);
                    continue;
                }
            }
        }
        let open = connection.as_ref().expect("connected above");
        match timeout(config.write_timeout, write_message(open, kind, &payload)).await {
            Ok(Ok(())) => shared.metrics.add_sent(kind),
            _ => {
                shared.metrics.add_drop(DropReason::SendFailed);
                if let Some(failed) = connection.take() {
                    failed.close(0u32.into(), b"write failed");
                }
            }
        }
    }
}

async fn write_message(
    connection: &quinn::Connection,
    kind: MessageKind,
    payload: &[u8],
) -> Result<(), String> {
    let frame = frame::encode_frame(kind, payload);
    let mut stream = connection.open_uni().await.map_err(|e| e.to_string())?;
    stream.write_all(&frame).await.map_err(|e| e.to_string())?;
    stream.finish().map_err(|e| e.to_string())
}
