//! The accept loop of srrd's listeners (HTTPS API, metrics): at most a
//! fixed number of connections at once; one more is closed at once, so a
//! flood of connections costs a log line each, never memory or tasks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

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
