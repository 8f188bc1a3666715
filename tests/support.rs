//! Helpers for the end-to-end tests: free ports and child processes that die with the test.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};

pub mod window;

/// Two distinct TCP ports on loopback that nothing listens on right now. Both are held until
/// both are chosen: binding port 0 twice in a row, releasing the first before asking again,
/// can return the same port.
pub fn two_free_ports() -> Result<(u16, u16)> {
    let first = TcpListener::bind("127.0.0.1:0")?;
    let second = TcpListener::bind("127.0.0.1:0")?;
    Ok((first.local_addr()?.port(), second.local_addr()?.port()))
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
    Ok(profile_dir()?.join("missiva"))
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
        // WebDriver clients need a rustls provider; with both ring and aws-lc-rs in the
        // build none is chosen by default (an error here means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            bail!("no display: run this test under xvfb-run (make test-app does)");
        }
        // tauri-driver listens on one, WebKitWebDriver on the other: the same port twice makes
        // the first session fail ("webdriver server did not respond", seen once in CI).
        let (port, native_port) = two_free_ports()?;
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
        // tauri-driver starts WebKitWebDriver at once but does not wait for it: a session asked
        // for before it listens fails ("webdriver server did not respond", seen in CI).
        wait_for_port(native_port, Duration::from_secs(20))?;
        Ok(TauriDriver {
            url: format!("http://127.0.0.1:{port}"),
            _child: guard,
        })
    }
}

/// The target profile folder this test runs from (`target/<profile>`).
fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test>-<hash> -> target/<profile>
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_owned)
        .context("cannot find the target folder")
}

/// The relay binary: `MISSIVA_RELAY_BIN`, else `missiva-relay` beside this test's target folder,
/// built first when missing or older than its sources.
pub fn relay_binary() -> Result<PathBuf> {
    fresh_workspace_binary("MISSIVA_RELAY_BIN", "missiva-relay")
}

/// The CLI binary: `MISSIVA_CLI_BIN`, else `missiva-cli` beside this test's target folder, built
/// first when missing or older than its sources.
pub fn cli_binary() -> Result<PathBuf> {
    fresh_workspace_binary("MISSIVA_CLI_BIN", "missiva-cli")
}

/// `env` when set; else `name` in this test's profile folder, after a `cargo build` of the relay
/// and the CLI when it is missing or stale (`cargo test -p missiva-tests` does not build other
/// packages' binaries; `cargo test --workspace` does, and then nothing is rebuilt here).
fn fresh_workspace_binary(env: &str, name: &str) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(PathBuf::from(p));
    }
    static BUILT: Mutex<bool> = Mutex::new(false);
    let profile = profile_dir()?;
    let bin = profile.join(name);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !*built && is_stale(&bin) {
        build_relay_and_cli(&profile)?;
        *built = true;
    }
    if !bin.is_file() {
        bail!("{} is missing", bin.display());
    }
    Ok(bin)
}

/// Missing, or older than a source file of the crates it is built from.
fn is_stale(bin: &Path) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return true;
    };
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut dirs: Vec<PathBuf> = ["relay", "core", "cli", "proto", "crypto"]
        .iter()
        .map(|c| workspace_root().join("crates").join(c))
        .collect();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != "fuzz" && name != "tests" && name != "benches" {
                    dirs.push(path);
                }
            } else if let Ok(t) = entry.metadata().and_then(|m| m.modified()) {
                newest = newest.max(t);
            }
        }
    }
    newest > built
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default()
}

fn build_relay_and_cli(profile: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = profile.parent().context("cannot find the target folder")?;
    let mut cmd = Command::new(cargo);
    // The variables cargo set for this test would count as changed build-script inputs and
    // rebuild dependencies for nothing.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR")
            || key == "OUT_DIR"
        {
            cmd.env_remove(&*key);
        }
    }
    cmd.current_dir(workspace_root())
        .args(["build", "-p", "missiva-relay", "-p", "missiva-cli"])
        .arg("--target-dir")
        .arg(target_dir);
    if profile.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().context("run cargo build")?;
    if !status.success() {
        bail!("cargo build of the relay and the CLI failed");
    }
    Ok(())
}

/// Reads one line of a child's stdout, failing after `timeout` (the reader thread is left to
/// finish with the child).
fn first_line(stdout: std::process::ChildStdout, timeout: Duration) -> Result<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
        // Keep draining so that the child never blocks on a full pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    match rx.recv_timeout(timeout) {
        Ok(line) => Ok(line?.trim_end().to_owned()),
        Err(_) => bail!("no output within {timeout:?}"),
    }
}

/// A real `missiva-relay` on a loopback port with its database (and its log, `relay.log`) in a
/// folder of its own. It can be killed and restarted on the same port and database.
pub struct RelayProcess {
    /// The URL clients are configured with: `ws://127.0.0.1:PORT`.
    pub url: String,
    port: u16,
    child: Option<ChildGuard>,
    dir: tempfile::TempDir,
}

impl RelayProcess {
    /// Starts the relay on a free port and waits for its `listening on ws://…` line.
    pub fn start() -> Result<Self> {
        let mut relay = RelayProcess {
            url: String::new(),
            port: 0,
            child: None,
            dir: tempfile::tempdir()?,
        };
        relay.spawn()?;
        Ok(relay)
    }

    /// Starts the relay with `config` (TOML limits, as `--config` reads them).
    pub fn start_with_config(config: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("relay.toml"), config)?;
        let mut relay = RelayProcess {
            url: String::new(),
            port: 0,
            child: None,
            dir,
        };
        relay.spawn()?;
        Ok(relay)
    }

    /// The folder holding its database, WAL and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its SQLite database.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("relay.db")
    }

    /// SIGKILL: no shutdown, no checkpoint, connections cut.
    pub fn kill(&mut self) {
        // Dropping the guard kills and reaps the process.
        self.child = None;
    }

    /// Starts it again on the same port and database, retrying while the port is not free yet.
    pub fn restart(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("the relay is still running: kill it first");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    eprintln!("relay did not start ({e:#}); retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e.context("the relay did not restart")),
            }
        }
    }

    /// Starts the process on `self.port` (0: any) and keeps it once it listens there.
    fn spawn(&mut self) -> Result<()> {
        let bin = relay_binary()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("relay.log"))?;
        let mut command = Command::new(&bin);
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--db")
            .arg(self.db());
        let config = self.dir.path().join("relay.toml");
        if config.exists() {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let guard = ChildGuard(child);
        let line = first_line(stdout, Duration::from_secs(20))?;
        let port = line
            .strip_prefix("listening on ws://127.0.0.1:")
            .and_then(|p| p.parse::<u16>().ok())
            .with_context(|| format!("unexpected first line from the relay: {line:?}"))?;
        if self.port != 0 && port != self.port {
            bail!("the relay listens on {port}, not {}", self.port);
        }
        self.port = port;
        self.url = format!("ws://127.0.0.1:{port}");
        self.child = Some(guard);
        Ok(())
    }
}

/// `scripts/fake-notification-server.py` on the session bus: owns
/// `org.freedesktop.Notifications`, records every call, clicks on request.
pub struct NotificationServer {
    log: PathBuf,
    invoke: PathBuf,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
}

impl NotificationServer {
    /// Starts the server and waits until it owns the name (it prints `ready` then).
    pub fn start() -> Result<Self> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            bail!("no session bus: run this test under dbus-run-session (make test-app does)");
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scripts/fake-notification-server.py");
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("notifications.jsonl");
        let invoke = dir.path().join("invoke");
        let mut child = Command::new(&script)
            .arg("--log")
            .arg(&log)
            .arg("--invoke-file")
            .arg(&invoke)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| {
                format!(
                    "start {} (needs python3-dbus, python3-gi)",
                    script.display()
                )
            })?;
        let stdout = child.stdout.take().context("server stdout")?;
        let guard = ChildGuard(child);
        let line = first_line(stdout, Duration::from_secs(20))?;
        if line != "ready" {
            bail!("the notification server did not start: {line:?}");
        }
        Ok(NotificationServer {
            log,
            invoke,
            _child: guard,
            _dir: dir,
        })
    }

    /// Every call and signal so far, oldest first.
    pub fn calls(&self) -> Result<Vec<serde_json::Value>> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).context("a log line of the notification server"))
            .collect()
    }

    /// The `Notify` calls so far.
    pub fn notifications(&self) -> Result<Vec<serde_json::Value>> {
        Ok(self
            .calls()?
            .into_iter()
            .filter(|c| c["call"] == "Notify")
            .collect())
    }

    /// Waits for a `Notify` call that `matches`, or fails after `timeout`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<serde_json::Value> {
        let start = Instant::now();
        loop {
            if let Some(n) = self.notifications()?.into_iter().find(|n| matches(n)) {
                return Ok(n);
            }
            if start.elapsed() > timeout {
                bail!(
                    "no matching notification within {timeout:?}; calls: {:?}",
                    self.calls()?
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks notification `id` (`action` "default" is a click on its body).
    pub fn invoke(&self, id: u64, action: &str) -> Result<()> {
        let tmp = self.invoke.with_extension("tmp");
        std::fs::write(&tmp, format!("{action} {id}"))?;
        std::fs::rename(&tmp, &self.invoke)?;
        Ok(())
    }
}

/// Starts the built app through `driver` and returns the WebDriver session on its window.
pub async fn launch(driver: &TauriDriver) -> Result<fantoccini::Client> {
    let app = app_binary()?;
    if !app.is_file() {
        bail!(
            "build the app first (make app): {} is missing",
            app.display()
        );
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app.display().to_string() }),
    );
    caps.insert("browserName".into(), serde_json::json!("wry"));
    fantoccini::ClientBuilder::rustls()?
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .context("start a WebDriver session with the app")
}
