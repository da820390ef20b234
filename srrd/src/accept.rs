//! The accept loop of srrd's listeners (HTTPS API, metrics): at most a
//! fixed number of connections at once; one more is closed at once, so a
//! flood of connections costs a log line each, never memory or tasks.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tracing::warn;

/// After a failed accept (e.g. out of file descriptors), so the loop does
/// not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Accepts on `listener` forever, serving each connection with `serve` in
/// a task of its own while fewer than `limit` are open. `what` names the
/// listener in logs. Returns when `serve` returns `None` (shutting down).
pub async fn bounded<F, Fut>(listener: TcpListener, limit: usize, what: &'static str, mut serve: F)
where
    F: FnMut(TcpStream, SocketAddr) -> Option<Fut>,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limit));
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(listener = what, error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            warn!(listener = what, %peer, limit, "connection limit reached; closing");
            continue;
        };
        let Some(connection) = serve(tcp, peer) else {
            return;
        };
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            connection.await;
            drop(slot);
        }));
    }
}

/// A stream whose writes fail once the peer has taken no byte for `stall`:
/// a client that stops reading (a stuck event stream, a slow-read attack)
/// loses its connection instead of holding a slot for ever. Reads pass
/// through; their bounds are the HTTP server's.
pub struct WriteStall<T> {
    inner: T,
    stall: Duration,
    blocked: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteStall<T> {
    pub fn new(inner: T, stall: Duration) -> Self {
        WriteStall {
            inner,
            stall,
            blocked: None,
        }
    }

    /// `progress` is the inner stream's answer: ready resets the clock;
    /// pending starts it, or fails once `stall` has passed.
    fn guard<R>(
        &mut self,
        cx: &mut Context<'_>,
        progress: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if progress.is_ready() {
            self.blocked = None;
            return progress;
        }
        let stall = self.stall;
        let timer = self
            .blocked
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer read nothing for {stall:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteStall<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteStall<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let progress = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.guard(cx, progress)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let progress = Pin::new(&mut this.inner).poll_flush(cx);
        this.guard(cx, progress)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let progress = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.guard(cx, progress)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::WriteStall;

    #[tokio::test]
    async fn writes_to_a_peer_that_reads_nothing_fail_after_the_stall() {
        // `_far` stays open and never reads.
        let (near, _far) = tokio::io::duplex(64);
        let mut guarded = WriteStall::new(near, Duration::from_millis(100));
        let started = std::time::Instant::now();
        let err = guarded
            .write_all(&[0u8; 4096])
            .await
            .expect_err("the far end never reads");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(100));

        // A reading peer keeps the writer going however long it takes.
        let (near, mut far) = tokio::io::duplex(64);
        let mut guarded = WriteStall::new(near, Duration::from_millis(100));
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut chunk = [0u8; 16];
            while got.len() < 4096 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let n = far.read(&mut chunk).await.unwrap();
                got.extend_from_slice(&chunk[..n]);
            }
            got.len()
        });
        guarded
            .write_all(&[1u8; 4096])
            .await
            .expect("a slow reader is fine");
        assert_eq!(reader.await.unwrap(), 4096);
    }

    #[tokio::test]
    async fn a_connection_beyond_the_limit_is_closed_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(super::bounded(listener, 1, "test", |tcp, _| {
            // Holds the connection open until the test ends.
            Some(async move {
                let _held = tcp;
                tokio::time::sleep(Duration::from_secs(60)).await;
            })
        }));
        let _first = TcpStream::connect(addr).await.unwrap();
        let mut second = TcpStream::connect(addr).await.unwrap();
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), second.read(&mut byte))
            .await
            .expect("closed, not held");
        assert_eq!(read.unwrap(), 0, "the second connection gets end of file");
    }
}
