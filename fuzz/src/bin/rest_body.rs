//! afl entry point of the `rest_body` target (see `fuzz/README.md`).

fn main() {
    afl::fuzz!(|data: &[u8]| fuzz::rest_body(data));
}
