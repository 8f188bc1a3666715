//! Helpers for the end-to-end tests: free ports and child processes that die with the test.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A TCP port on loopback that nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something accepts connections on `port`, or fails after `timeout`.
pub fn wait_for_port(port: u16, timeout: Duration) -> Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("nothing listened on port {port} within {timeout:?}")
}

/// A child process killed when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The built desktop app: `MISSIVA_APP_BIN`, else `missiva` beside this test's target folder.
pub fn app_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("MISSIVA_APP_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let debug_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("cannot find the target folder")?;
    Ok(debug_dir.join("missiva"))
}

/// Where tests put screenshots: `ARTIFACTS`, else `artifacts/` at the repository root.
pub fn artifacts_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("ARTIFACTS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../artifacts"),
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A running `tauri-driver` whose app instances see `envs`.
pub struct TauriDriver {
    /// The WebDriver endpoint.
    pub url: String,
    _child: ChildGuard,
}

impl TauriDriver {
    /// Starts `tauri-driver` (which starts `WebKitWebDriver`) on free ports.
    pub fn start(envs: &[(&str, &std::ffi::OsStr)]) -> Result<Self> {
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            bail!("no display: run this test under xvfb-run (make test-app does)");
        }
        let port = free_port()?;
        let native_port = free_port()?;
        let mut cmd = Command::new("tauri-driver");
        cmd.args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .context("start tauri-driver (cargo install tauri-driver; make deps does)")?;
        let guard = ChildGuard(child);
        wait_for_port(port, Duration::from_secs(20))?;
        Ok(TauriDriver {
            url: format!("http://127.0.0.1:{port}"),
            _child: guard,
        })
    }
}
