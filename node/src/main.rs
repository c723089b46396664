use node::config::{Args, Config, ConfigAction, Subcommand};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: allocation and free were a fifth of a loaded node's CPU
/// (many small, short-lived buffers across threads); see benches/README.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = Args::parse_process();
    match args.command {
        Some(Subcommand::Admin(admin)) => return node::admin_cli::main(admin),
        Some(Subcommand::Config {
            action: ConfigAction::Print(node),
        }) => return node::config::print_main(&node),
        None => {}
    }
    let config = match Config::load(&args.node) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chat-node: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(quiet_raft(&config.log_level)))
        .unwrap_or_else(|_| EnvFilter::new(quiet_raft("info")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
    for warning in &config.warnings {
        warning.log();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chat-node: cannot start runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(node::server::run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "fatal");
            eprintln!("chat-node: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// openraft logs every election and membership step at INFO; unless the filter names openraft
/// (`--log-level info,openraft=info`, or `RUST_LOG`), it is held at `warn`.
fn quiet_raft(filter: &str) -> String {
    if filter.contains("openraft") {
        filter.to_string()
    } else {
        format!("{filter},openraft=warn")
    }
}
