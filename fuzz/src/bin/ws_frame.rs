//! afl entry point of the `ws_frame` target (see `fuzz/README.md`).

fn main() {
    afl::fuzz!(|data: &[u8]| fuzz::ws_frame(data));
}
