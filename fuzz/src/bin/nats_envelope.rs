//! afl entry point of the `nats_envelope` target (see `fuzz/README.md`).

fn main() {
    afl::fuzz!(|data: &[u8]| fuzz::nats_envelope(data));
}
