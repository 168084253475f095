//! Accepting connections: one loop for plain HTTP and HTTPS, with the limits that keep a
//! slow or hostile client from holding the server (SEC-9) and the error body on refusals
//! made before a request reaches the router (SEC-16).
//!
//! - Request headers must arrive within `header_read_timeout`; the same timer closes a
//!   keep-alive connection left idle that long between requests.
//! - A request body that sends nothing for `body_idle_timeout` fails the request (its handler
//!   sees a read error, answers, and the connection closes).
//! - On shutdown no new connection is accepted, requests in flight get `shutdown_grace` to
//!   finish, and then the server returns whatever is still open.
//! - HTTP parse errors answered by the HTTP library itself (400 malformed, 414 URI too long,
//!   431 headers too large) carry the Contentstack error body like every other refusal.
//! - Handlers see the client's socket address as `ConnectInfo<SocketAddr>`.

use crate::tls::TlsConfig;
use crate::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection limits.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// The longest wait for a request's headers (and for the next request on an idle
    /// keep-alive connection).
    pub header_read_timeout: Duration,
    /// The longest pause in a request body.
    pub body_idle_timeout: Duration,
    /// How long requests in flight may run on after shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for ConnLimits {
    fn default() -> ConnLimits {
        ConnLimits {
            header_read_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` completes, then waits
/// at most `limits.shutdown_grace` for the connections still open.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<TlsConfig>,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off, as axum::serve does.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let service = tower::ServiceBuilder::new()
            .layer(RequestBodyTimeoutLayer::new(limits.body_idle_timeout))
            .map_request(move |mut req: axum::http::Request<_>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            })
            .service(router.clone().into_service())
            .map_response(|r| r.map(axum::body::Body::new));
        let service = TowerToHyperService::new(service);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
        tokio::spawn(async move {
            let result = match acceptor {
                None => {
                    let io = TokioIo::new(ErrorBodyIo::new(tcp));
                    watcher.watch(builder.serve_connection(io, service)).await
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    let io = TokioIo::new(ErrorBodyIo::new(stream));
                    watcher.watch(builder.serve_connection(io, service)).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?limits.shutdown_grace,
            "connections still open after the shutdown grace period; closing them"
        );
    }
    Ok(())
}

/// A connection's stream that gives the HTTP library's own error answers (a head with
/// `content-length: 0`, for requests it could not parse) the Contentstack error body.
///
/// The router never answers 400, 414 or 431 without a body, so a response head of one of
/// those statuses with `content-length: 0` can only be such an automatic answer; it is
/// replaced, whole, by the same status with a JSON body and `connection: close` (the library
/// closes the connection after it in any case).
struct ErrorBodyIo<S> {
    inner: S,
    /// The replacement being written: its bytes, how many are out, and how many bytes of the
    /// library's own head to report written once it is all out.
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<S> ErrorBodyIo<S> {
    fn new(inner: S) -> ErrorBodyIo<S> {
        ErrorBodyIo {
            inner,
            pending: None,
        }
    }
}

/// The replacement for an automatic error answer, when `head` is one.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    let (status, reason, message) = if head.starts_with(b"HTTP/1.1 400 ") {
        (400, "Bad Request", "The request is not valid HTTP.")
    } else if head.starts_with(b"HTTP/1.1 414 ") {
        (
            414,
            "URI Too Long",
            "The request URL is longer than this server accepts (64 KiB).",
        )
    } else if head.starts_with(b"HTTP/1.1 431 ") {
        (
            431,
            "Request Header Fields Too Large",
            "The request headers are larger than this server accepts.",
        )
    } else {
        return None;
    };
    let lower = head.to_ascii_lowercase();
    let empty = lower.windows(21).any(|w| w == b"\r\ncontent-length: 0\r\n");
    if !empty || !lower.ends_with(b"\r\n\r\n") {
        return None;
    }
    let body = serde_json::json!({
        "error_message": message,
        "error_code": status,
        "errors": {},
    })
    .to_string();
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncWrite + Unpin> ErrorBodyIo<S> {
    /// Writes out a pending replacement; ready with the length to report once it is all out.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<Option<usize>>> {
        let Some((bytes, written, claimed)) = self.pending.as_mut() else {
            return Poll::Ready(Ok(None));
        };
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let claimed = *claimed;
        self.pending = None;
        Poll::Ready(Ok(Some(claimed)))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ErrorBodyIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ErrorBodyIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            if let Some(bytes) = replacement(buf) {
                this.pending = Some((bytes, 0, buf.len()));
            }
        }
        if let Some(n) = ready!(this.poll_pending(cx))? {
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        // An automatic answer is a head alone: one slice.
        let first = bufs.iter().find(|b| !b.is_empty());
        if this.pending.is_none() {
            if let Some(first) = first {
                if let Some(bytes) = replacement(first) {
                    this.pending = Some((bytes, 0, first.len()));
                }
            }
        }
        if let Some(n) = ready!(this.poll_pending(cx))? {
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::replacement;

    #[test]
    fn automatic_error_heads_get_a_body() {
        let head = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(replacement(head).expect("replaced")).unwrap();
        assert!(out.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{out}");
        let body = out.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error_code"], 414);
        assert!(out.contains(&format!("content-length: {}\r\n", body.len())));
    }

    #[test]
    fn other_heads_are_left_alone() {
        // The router's own refusals carry a body, and successes are never touched.
        for head in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 80\r\n\r\n"[..],
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            &b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n{\"a\":1}"[..],
        ] {
            assert!(replacement(head).is_none());
        }
    }
}
