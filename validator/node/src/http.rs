//! A small HTTP/1.1 server (hyper) for JSON-RPC and `/metrics`.
//!
//! Bounded: at most [`CONNECTIONS_MAX`] connections are served at once (more wait in
//! the kernel's accept backlog), and a request body over [`BODY_BYTES_MAX`] is refused
//! with 413 before it is read further.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Most connections served at once, per server.
pub const CONNECTIONS_MAX: usize = 256;
/// Largest request body accepted.
pub const BODY_BYTES_MAX: usize = 1 << 20;

/// What a handler returns: status, content type, body.
pub type Reply = (StatusCode, &'static str, Vec<u8>);

/// A request handler: method, path, body.
pub type Handler = Arc<dyn Fn(&Method, &str, &[u8]) -> Reply + Send + Sync>;

/// Serves `handler` on `listener` until the runtime stops.
pub async fn serve(listener: TcpListener, handler: Handler) {
    let permits = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| respond(handler.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

async fn respond(
    handler: Handler,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body = match Limited::new(request.into_body(), BODY_BYTES_MAX)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(reply((
                StatusCode::PAYLOAD_TOO_LARGE,
                "text/plain",
                format!("request body larger than {BODY_BYTES_MAX} bytes\n").into_bytes(),
            )));
        }
    };
    let handled = tokio::task::block_in_place(|| handler(&method, &path, &body));
    Ok(reply(handled))
}

fn reply((status, content_type, body): Reply) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static headers are valid")
}

/// Binds `address`, with a clear error naming it.
pub async fn bind(address: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen for {what} on {address}: {error}"))
}
