//! Child processes with a log file: spawning with stdout and stderr appended to the log,
//! harness lines in the log, the log's tail, signals (through `libc`, not the `kill`
//! program) and bounded waits for an exit.
//! Does not own: what the process is (see [`crate::node`], [`crate::nats`]).

use anyhow::{bail, Context, Result};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The signals the harnesses send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Kill,
    Stop,
    Cont,
}

impl Signal {
    fn raw(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
            Signal::Stop => libc::SIGSTOP,
            Signal::Cont => libc::SIGCONT,
        }
    }
}

/// Sends `sig` to process `pid`.
pub fn signal(pid: u32, sig: Signal) -> Result<()> {
    let pid = libc::pid_t::try_from(pid).with_context(|| format!("pid {pid} out of range"))?;
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, sig.raw()) };
    if rc != 0 {
        bail!(
            "kill({pid}, {sig:?}) failed: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Appends `----- <label>: <what> -----` to the log at `log`.
pub fn note(log: &Path, label: &str, what: &str) {
    if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(log) {
        let _ = writeln!(f, "----- {label}: {what} -----");
    }
}

/// The last `n` lines of the file at `path` (empty if unreadable).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Spawns `cmd` with stdin closed and stdout + stderr appended to `log`, after a
/// `spawn …` note in it.
pub fn spawn_logged(mut cmd: Command, log: &Path, label: &str) -> Result<Child> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("open {}", log.display()))?;
    let err = out.try_clone().context("clone log handle")?;
    note(log, label, &format!("spawn {cmd:?}"));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .with_context(|| format!("spawn {:?}", cmd.get_program()))
}

/// Prints the last `n` lines of `what`'s log at `log` to stderr (captured by the test
/// harness, shown on failure).
pub fn print_log_tail(what: &str, log: &Path, n: usize) {
    eprintln!(
        "===== {what} log tail ({}) =====\n{}\n===== end of {what} log =====",
        log.display(),
        log_tail(log, n)
    );
}

/// The end of a harness process's handle, after the process was killed: when the thread
/// panics (a failing test) the log tail is printed; the temp dir, if any, goes to
/// [`keep_or_remove`].
pub fn dropped(
    what: &str,
    log: &Path,
    tail_lines: usize,
    dir: Option<tempfile::TempDir>,
    keep: bool,
) {
    if std::thread::panicking() {
        print_log_tail(what, log, tail_lines);
    }
    if let Some(dir) = dir {
        keep_or_remove(dir, keep, what);
    }
}

/// What becomes of a harness process's temp dir when its handle drops: kept (and its
/// path printed) if `keep` or `CHAT_TESTS_KEEP=1`, else removed, which a failing test is
/// told about.
pub fn keep_or_remove(dir: tempfile::TempDir, keep: bool, what: &str) {
    if keep || std::env::var("CHAT_TESTS_KEEP").is_ok_and(|v| v == "1") {
        let kept = dir.keep();
        eprintln!("kept {what} dir {}", kept.display());
    } else if std::thread::panicking() {
        eprintln!(
            "{what} dir {} is removed; set CHAT_TESTS_KEEP=1 to keep it",
            dir.path().display()
        );
    }
}

/// SIGKILL (std's `Child::kill`) and reap.
pub fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits up to `timeout` for `child` to exit; `true` if it did.
pub async fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(crate::POLL).await;
    }
}

/// SIGTERM, up to `timeout` for the exit, then SIGKILL. `true` if it exited on its own.
pub async fn terminate(child: &mut Child, timeout: Duration) -> bool {
    let _ = signal(child.id(), Signal::Term);
    let clean = wait_exit(child, timeout).await;
    if !clean {
        kill_and_reap(child);
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_cont_term_reach_the_child() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        signal(child.id(), Signal::Stop).unwrap();
        signal(child.id(), Signal::Cont).unwrap();
        assert!(terminate(&mut child, Duration::from_secs(5)).await);
    }
}
