//! Helpers shared by the node's process tests.

use std::net::{SocketAddr, TcpListener, UdpSocket};

/// A loopback TCP address that was free a moment ago.
pub fn free_tcp_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
}

/// A loopback UDP address that was free a moment ago.
pub fn free_udp_port() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
}
