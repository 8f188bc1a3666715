//! The `missiva-relay` binary: the address line, /health, and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

#[tokio::test]
async fn the_binary_prints_its_address_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        "max_queue_per_recipient = 50\nmax_frame_bytes = 65536\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_missiva-relay"))
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let addr = line
        .strip_prefix("listening on ws://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("first line: {line:?}"));
    let port: u16 = addr.parse().unwrap();
    assert_ne!(port, 0);
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    assert_eq!(http_get(addr, "/health").await, "ok");

    let mut client = Client::connect(addr).await;
    assert_eq!(client.max_frame_bytes, 65536, "the config file was read");
    client
        .auth(missiva_crypto::identity::IdentityKeyPair::generate(
            &mut rand::rng(),
        ))
        .await;
    let secret_content = b"SECRET-CONTENT-NEVER-LOGGED";
    assert_ok(&client.send_to(&[3; 64], id(1), secret_content).await);

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(
        client.close_code().await,
        Some(1001),
        "sockets are closed on shutdown"
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(logs.contains("relay stopped"), "{logs}");
    assert!(!logs.contains("SECRET-CONTENT"), "logs never hold payloads");
    let hex_identity: String = client.identity.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        !logs.contains(&hex_identity),
        "logs hold fingerprints at most"
    );
    assert!(
        logs.contains(&hex_identity[..8]),
        "the fingerprint is logged: {logs}"
    );
}
