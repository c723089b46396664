//! Services on the peer port besides Raft's own: a layer above raft (the gateway) registers a
//! handler through [`super::cluster::Cluster::serve_gateway`], and raft carries its requests and
//! answers as opaque msgpack documents ([`super::rpc::RpcBody::Gateway`]). Raft thus never
//! imports the layers that use its port.

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The answer of a [`PeerService`], boxed so that the trait stays object-safe.
pub type ServiceFuture<'a> = Pin<Box<dyn Future<Output = rmpv::Value> + Send + 'a>>;

/// Answers one kind of call from peers.
pub trait PeerService: Send + Sync + 'static {
    fn call(&self, request: rmpv::Value) -> ServiceFuture<'_>;
}

/// A message as the document carried on the wire: the bytes `rmp_serde::to_vec_named` writes,
/// the same as when the message was a field of the frame itself.
pub fn to_document<T: Serialize>(message: &T) -> rmpv::Value {
    let bytes = rmp_serde::to_vec_named(message).expect("peer messages always encode");
    rmpv::decode::read_value(&mut bytes.as_slice()).expect("msgpack just written reads back")
}

/// The message a document holds, or why it holds none.
pub fn from_document<T: DeserializeOwned>(
    document: &rmpv::Value,
) -> Result<T, rmp_serde::decode::Error> {
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, document).expect("writing to memory cannot fail");
    rmp_serde::from_slice(&bytes)
}
