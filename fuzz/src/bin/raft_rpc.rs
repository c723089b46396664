//! afl entry point of the `raft_rpc` target (see `fuzz/README.md`).

fn main() {
    afl::fuzz!(|data: &[u8]| fuzz::raft_rpc(data));
}
