//! afl entry point of the `snapshot_chunk` target (see `fuzz/README.md`).

fn main() {
    afl::fuzz!(|data: &[u8]| fuzz::snapshot_chunk(data));
}
