//! A fault-injecting TCP proxy for the reliability suite, put between the worker and one store.
//! Its mode changes at any time and applies to new and open connections alike.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bytes pass unchanged.
    Pass,
    /// Every chunk is held this long before it is passed on.
    Latency(Duration),
    /// Every connection is reset (RST), open ones at once and new ones on arrival.
    Reset,
    /// Nothing passes and nothing is answered: bytes wait until the mode changes, the way a
    /// partition that heals looks to TCP.
    BlackHole,
}

pub struct FaultProxy {
    address: SocketAddr,
    mode: watch::Sender<Mode>,
    accepting: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on a free port of 127.0.0.1 to `target`, passing bytes until told otherwise.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (mode, watching) = watch::channel(Mode::Pass);
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(connection(client, target, watching.clone()));
            }
        });
        Self { address, mode, accepting }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Closes a socket with RST rather than FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Waits while the mode is `BlackHole`; the mode after.
async fn past_black_hole(mode: &mut watch::Receiver<Mode>) -> Mode {
    let now = mode.wait_for(|m| *m != Mode::BlackHole).await.map(|m| *m);
    now.unwrap_or(Mode::Reset)
}

async fn connection(client: TcpStream, target: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let current = *mode.borrow_and_update();
    let current = if current == Mode::BlackHole { past_black_hole(&mut mode).await } else { current };
    if current == Mode::Reset {
        return reset(client);
    }
    let Ok(upstream) = TcpStream::connect(target).await else { return reset(client) };
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    let ends = tokio::join!(pump(client_read, upstream_write, mode.clone()), pump(upstream_read, client_write, mode));
    let (Some((client_read, upstream_write)), Some((upstream_read, client_write))) = ends else { return };
    // A reset: both sockets close with RST.
    if let (Ok(client), Ok(upstream)) = (client_read.reunite(client_write), upstream_read.reunite(upstream_write)) {
        reset(client);
        reset(upstream);
    }
}

/// Copies one direction under the proxy's mode. `None` when the connection closed normally;
/// the halves back when it is to be reset.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) -> Option<(OwnedReadHalf, OwnedWriteHalf)> {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            changed = mode.changed() => {
                if changed.is_err() || *mode.borrow() == Mode::Reset {
                    return Some((from, to));
                }
                continue;
            }
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return None;
            }
            Ok(n) => n,
        };
        let now = *mode.borrow_and_update();
        match if now == Mode::BlackHole { past_black_hole(&mut mode).await } else { now } {
            Mode::Reset => return Some((from, to)),
            Mode::Latency(delay) => tokio::time::sleep(delay).await,
            Mode::Pass | Mode::BlackHole => {}
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return None;
        }
    }
}
