//! Connections a server keeps only while they are used. A connection that sends
//! nothing within `first_byte` of being accepted (bare TCP, no HTTP/2 preface, no
//! request line) is closed without reaching the HTTP stack, and a connection that
//! moves no byte either way for `idle` (a half-sent request, a peer that stopped
//! reading) is closed by its IO failing. Live gRPC peers never go idle: the server
//! pings them every 30 s, well inside any sensible `idle`.
use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use futures::Stream;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::mpsc,
    time::{Instant, Sleep},
};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Connections accepted but not yet handed to the server, at most.
const BACKLOG: usize = 128;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub first_byte: Duration,
    pub idle: Duration,
}

/// The connections of a listener that sent their first byte in time, each closed
/// when idle, until `shutdown`.
pub struct Gate {
    accepted: mpsc::Receiver<(Guarded, SocketAddr)>,
    local_addr: SocketAddr,
}

impl Gate {
    pub fn new(listener: TcpListener, limits: Limits, shutdown: CancellationToken) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (tx, accepted) = mpsc::channel(BACKLOG);
        tokio::spawn(accept(listener, limits, shutdown, tx));
        Ok(Self { accepted, local_addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next connection; None once the gate has closed.
    pub async fn next(&mut self) -> Option<(Guarded, SocketAddr)> {
        self.accepted.recv().await
    }

    /// The connections as tonic's `serve_with_incoming` takes them.
    pub fn into_stream(self) -> impl Stream<Item = io::Result<Guarded>> {
        futures::stream::unfold(self, |mut gate| async move { gate.next().await.map(|(io, _)| (Ok(io), gate)) })
    }
}

async fn accept(
    listener: TcpListener,
    limits: Limits,
    shutdown: CancellationToken,
    tx: mpsc::Sender<(Guarded, SocketAddr)>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut first = [0_u8; 1];
                    match tokio::time::timeout(limits.first_byte, stream.peek(&mut first)).await {
                        Ok(Ok(n)) if n > 0 => {
                            let _ = stream.set_nodelay(true);
                            let _ = tx.send((Guarded::new(stream, limits.idle), peer)).await;
                        }
                        Ok(_) => {} // closed or failed before a byte
                        Err(_) => tracing::debug!(%peer, "connection sent nothing in time; closed"),
                    }
                });
            }
            // Out of file descriptors and the like: pause rather than spin.
            Err(err) => {
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A TCP stream that fails once no byte has moved either way for `idle`.
pub struct Guarded {
    io: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl Guarded {
    fn new(io: TcpStream, idle: Duration) -> Self {
        Self { io, idle, deadline: Box::pin(tokio::time::sleep(idle)) }
    }

    fn moved(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    /// A write's outcome: bytes written keep the connection alive.
    fn after_write(&mut self, cx: &mut Context<'_>, written: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    self.moved();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.idle_out(cx),
        }
    }

    /// Pending IO: an error once the deadline has passed (which also registers the
    /// waker, so a silent peer is noticed without any byte arriving).
    fn idle_out<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.idle_out(cx),
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, data);
        self.after_write(cx, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.after_write(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl Connected for Guarded {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.io.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn gate(limits: Limits) -> (Gate, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let gate = Gate::new(listener, limits, CancellationToken::new()).expect("gate");
        let addr = gate.local_addr();
        (gate, addr)
    }

    #[tokio::test]
    async fn a_silent_connection_is_closed_and_never_served() {
        let limits = Limits { first_byte: Duration::from_millis(200), idle: Duration::from_secs(60) };
        let (mut gate, addr) = gate(limits).await;
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        let mut byte = [0_u8; 1];
        let closed = tokio::time::timeout(Duration::from_secs(2), silent.read(&mut byte)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "closed by the server: {closed:?}");
        let served = tokio::time::timeout(Duration::from_millis(100), gate.next()).await;
        assert!(served.is_err(), "a connection that never spoke reached the server");
    }

    #[tokio::test]
    async fn a_connection_that_stops_mid_request_is_closed_when_idle() {
        let limits = Limits { first_byte: Duration::from_secs(5), idle: Duration::from_millis(300) };
        let (mut gate, addr) = gate(limits).await;
        let mut client = TcpStream::connect(addr).await.expect("connect");
        client.write_all(b"GET / HTTP/1.1\r\nHost:").await.expect("half a request");
        let (mut served, _) = gate.next().await.expect("served after its first byte");
        let mut buf = [0_u8; 64];
        assert_eq!(served.read(&mut buf).await.expect("the half request"), 21);
        let started = std::time::Instant::now();
        let idle = served.read(&mut buf).await.expect_err("no more bytes: idle");
        assert_eq!(idle.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
    }
}
