//! afl entry point of the `rest_query` target (see `fuzz/README.md`).

fn main() {
    afl::fuzz!(|data: &[u8]| fuzz::rest_query(data));
}
