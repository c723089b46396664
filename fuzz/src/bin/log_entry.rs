//! afl entry point of the `log_entry` target (see `fuzz/README.md`).

fn main() {
    afl::fuzz!(|data: &[u8]| fuzz::log_entry(data));
}
