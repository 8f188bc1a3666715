//! `missiva-relay --listen ADDR --db PATH [--config FILE]`

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use missiva_relay::{Config, Limits, Relay};
use tracing_subscriber::EnvFilter;

/// Missiva's relay: mailboxes of end-to-end encrypted envelopes, handles and prekey bundles.
#[derive(Parser, Debug)]
#[command(name = "missiva-relay", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, env = "MISSIVA_RELAY_LISTEN", default_value = "127.0.0.1:8480")]
    listen: SocketAddr,
    /// SQLite database file (created when missing).
    #[arg(long, env = "MISSIVA_RELAY_DB")]
    db: PathBuf,
    /// TOML file of limits (every key optional).
    #[arg(long, env = "MISSIVA_RELAY_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let limits = match &args.config {
        Some(path) => Limits::from_file(path)?,
        None => Limits::default(),
    };
    let config = Config {
        listen: args.listen,
        db: args.db,
        limits,
    };
    let relay = Relay::bind(config).await.context("starting the relay")?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on ws://{}", relay.local_addr())?;
        stdout.flush()?;
    }
    relay.serve(shutdown_signal()).await?;
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
