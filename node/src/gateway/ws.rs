//! The protocol-neutral socket pump under every face's WebSocket endpoint. It registers the
//! connection in the [`Registry`](super::sessions::Registry), runs a writer task that drains the
//! connection's bounded queue (pongs on their own small queue), closes the socket with a code and
//! a reason when asked (overflow, disconnect, kick, shutdown, idle timeout), and hands every text
//! frame to the face's handler. It knows no protocol: what a frame means, how a reply is
//! correlated and how a connection authenticates belong to the face (`faces::gs2::ws` for GS2).

use std::future::Future;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};

use super::sessions::{Outgoing, CLOSE_NORMAL};
use super::Gateway;

/// A connection that sends nothing (not even a ping) for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Largest accepted frame; a face's upgrade handler sets it on the socket.
pub const MAX_FRAME: usize = 6 * 1024 * 1024;

/// Serves one upgraded socket until it closes. `on_text(connection id, frame)` runs on its own
/// task for each text frame; the reply it returns, if any, is queued on the connection (with
/// the registry's overflow policy).
pub async fn pump<F, Fut>(gateway: &Gateway, socket: WebSocket, on_text: F)
where
    F: Fn(String, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<String>> + Send + 'static,
{
    pump_greeting(gateway, socket, |_| None, on_text).await
}

/// Like [`pump`], with a first frame: `greeting(connection id)` is queued before any other
/// (a face whose handshake is a server frame naming the connection, as Stream's is).
pub async fn pump_greeting<G, F, Fut>(gateway: &Gateway, socket: WebSocket, greeting: G, on_text: F)
where
    G: FnOnce(&str) -> Option<String>,
    F: Fn(String, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<String>> + Send + 'static,
{
    let registry = gateway.registry.clone();
    let handle = registry.open(gateway.ws_send_queue);
    let id = handle.id.clone();
    if let Some(first) = greeting(&id) {
        registry.send_to_conn(&id, first);
    }
    let (mut sink, mut stream) = socket.split();
    let close = handle.close.clone();
    let mut rx = handle.rx;
    let mut ctl_rx = handle.ctl_rx;
    let writer = tokio::spawn(async move {
        // One close future for the connection's life, not one per frame (profiled: per-frame
        // waits cost a mutex and a waker registration each).
        let closed = close.wait();
        tokio::pin!(closed);
        loop {
            let out = tokio::select! {
                biased;
                (code, reason) = &mut closed => {
                    send_close(&mut sink, code, reason).await;
                    return;
                }
                Some(out) = ctl_rx.recv() => out,
                out = rx.recv() => match out {
                    Some(out) => out,
                    None => return,
                },
            };
            let msg = match out {
                Outgoing::Text(t) => Message::Text(t.into()),
                Outgoing::Pong(p) => Message::Pong(p.into()),
            };
            // A peer that stops reading blocks the send: the close signal must still win.
            tokio::select! {
                biased;
                (code, reason) = &mut closed => {
                    send_close(&mut sink, code, reason).await;
                    return;
                }
                sent = sink.send(msg) => {
                    if sent.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let on_text = std::sync::Arc::new(on_text);
    let close = handle.close.clone();
    let closed = close.wait();
    tokio::pin!(closed);
    loop {
        let next = tokio::select! {
            _ = &mut closed => break,
            next = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => next,
        };
        let msg = match next {
            Err(_) => {
                handle.close.close(CLOSE_NORMAL, "idle timeout");
                break;
            }
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(m))) => m,
        };
        match msg {
            Message::Text(text) => {
                let reply = on_text(id.clone(), text.as_str().to_owned());
                let registry = registry.clone();
                let id = id.clone();
                tokio::spawn(async move {
                    if let Some(reply) = reply.await {
                        registry.send_to_conn(&id, reply);
                    }
                });
            }
            Message::Ping(p) => registry.pong(&id, p.to_vec()),
            Message::Close(_) => break,
            Message::Binary(_) | Message::Pong(_) => {}
        }
    }
    registry.remove(&id);
    handle.close.close(CLOSE_NORMAL, "bye");
    let _ = handle.ctl;
    let _ = writer.await;
}

/// Sends a close frame, giving up after a moment if the peer does not read.
async fn send_close<S>(sink: &mut S, code: u16, reason: String)
where
    S: futures::Sink<Message> + Unpin,
{
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(Duration::from_secs(2), sink.send(frame)).await;
}
