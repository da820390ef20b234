//! The benchmarked service: a tiny HTTP server that answers every request
//! with its node's name. It is up within milliseconds of being started, so
//! the outage the probe measures is srrd's (or keepalived's) and routing's,
//! not a slow service start. While a "broken" flag file exists it answers
//! 503, which is how the check-failure scenario breaks the service.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Every address it answers on (a dual-stack service has two).
    pub listen: Vec<SocketAddr>,
    /// The body of every 200 answer.
    pub name: String,
    /// While this file exists the server answers 503.
    pub broken_flag: Option<PathBuf>,
    /// Written once the socket listens (the start primitive waits for it).
    pub pidfile: Option<PathBuf>,
}

/// Serves until the process is killed.
pub fn serve(config: &ServerConfig) -> std::io::Result<()> {
    let listeners = config
        .listen
        .iter()
        .map(|addr| {
            TcpListener::bind(addr)
                .map_err(|e| std::io::Error::new(e.kind(), format!("listen on {addr}: {e}")))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    if let Some(pidfile) = &config.pidfile {
        std::fs::write(pidfile, format!("{}\n", std::process::id()))?;
    }
    thread::scope(|scope| {
        for listener in &listeners {
            scope.spawn(move || accept(listener, config));
        }
    });
    Ok(())
}

fn accept(listener: &TcpListener, config: &ServerConfig) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let name = config.name.clone();
        let flag = config.broken_flag.clone();
        thread::spawn(move || answer(stream, &name, flag.as_deref()));
    }
}

fn answer(mut stream: TcpStream, name: &str, broken_flag: Option<&Path>) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = stream.set_nodelay(true);
    // Read the request header (it is tiny; anything is accepted).
    let mut request = Vec::with_capacity(128);
    let mut chunk = [0u8; 256];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 4096 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    }
    let (status, body) = if broken_flag.is_some_and(Path::exists) {
        ("503 Service Unavailable", "broken\n".to_string())
    } else {
        ("200 OK", format!("{name}\n"))
    };
    let reply = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes());
}
