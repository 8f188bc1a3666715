//! Load benchmark of the relay against Debian's mosquitto (MQTT, QoS 1) as a reference, measured
//! in the same run. Starts each server as its own process (so its RSS can be read from /proc),
//! opens CONNECTIONS clients on loopback, and measures:
//! - idle memory per connection: server RSS with the clients connected and idle, minus before,
//!   divided by the number of clients;
//! - throughput: every client sends MESSAGES messages to the next client (a ring), keeping
//!   WINDOW sends unacknowledged; a message counts once its recipient received it, and the run
//!   ends when every send got its Ok/PUBACK and every delivery was acknowledged;
//! - send-to-deliver latency (p50/p99) under that saturating load, and at a paced load of
//!   PACED_RATE messages/s spread over all clients.
//!
//! It also reports the CPU time (user + system) the server and the load generator spent per message
//! in the saturated phase: on a shared machine that is steadier than wall-clock throughput.
//!
//! Run: `cargo bench -p missiva-relay --bench relay_load` (env: CONNECTIONS, MESSAGES, WINDOW,
//! PACED_RATE, PACED_SECS, CONTENT_BYTES, GENERATOR_THREADS (default 1); REFERENCE=0 skips
//! mosquitto).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{FutureExt, SinkExt, StreamExt};
use missiva_crypto::identity::IdentityKeyPair;
use missiva_proto::relay::{self, client_frame::Body as C, server_frame::Body as S};
use missiva_proto::{AUTH_LABEL, Message, client_frame, decode_server_frame};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as Ws;

#[path = "relay_load/mosquitto.rs"]
mod mosquitto;

#[derive(Clone, Copy, Debug)]
struct Params {
    connections: usize,
    messages: usize,
    window: usize,
    paced_rate: usize,
    paced_secs: u64,
    content_bytes: usize,
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Params {
    fn from_env() -> Self {
        Params {
            connections: env_or("CONNECTIONS", 1000),
            messages: env_or("MESSAGES", 100),
            window: env_or("WINDOW", 16),
            paced_rate: env_or("PACED_RATE", 5000),
            paced_secs: env_or("PACED_SECS", 4) as u64,
            content_bytes: env_or("CONTENT_BYTES", 256).max(16),
        }
    }
}

#[derive(Default, Debug)]
struct Figures {
    idle_bytes_per_connection: f64,
    messages_per_sec: f64,
    saturated: Latency,
    paced: Latency,
    paced_delivered: usize,
    /// CPU microseconds per message in the saturated phase: the server's and the generator's.
    server_cpu_us: f64,
    generator_cpu_us: f64,
}

#[derive(Default, Debug, Clone, Copy)]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
}

fn percentiles(mut ns: Vec<u64>) -> Latency {
    if ns.is_empty() {
        return Latency::default();
    }
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1e6;
    Latency {
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// CPU time (user + system) a process has used so far, from `/proc/PID/stat`.
fn cpu_time(pid: &str) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which is in parentheses and may hold spaces): state is the
    // first, utime the 12th and stime the 13th.
    let rest = stat.rsplit_once(')').context("bad stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // CLK_TCK is 100 on Linux for every architecture the relay targets.
    Ok(Duration::from_millis(ticks * 10))
}

/// CPU time per thread name of a process (`/proc/PID/task/*/stat`).
fn cpu_by_thread(pid: u32) -> Result<std::collections::BTreeMap<String, Duration>> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let task = task?.file_name();
        let task = task.to_string_lossy();
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/task/{task}/stat")) else {
            continue;
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, r)| r.rsplit_once(')'))
            .map_or("?", |(n, _)| n)
            .to_owned();
        *by_name.entry(name).or_default() += cpu_time(&format!("{pid}/task/{task}"))?;
    }
    Ok(by_name)
}

/// CPU time of a server process and of this process (the load generator) over a phase.
#[derive(Clone, Copy)]
struct CpuMark {
    server: Duration,
    generator: Duration,
}

impl CpuMark {
    fn now(server_pid: u32) -> Result<Self> {
        Ok(CpuMark {
            server: cpu_time(&server_pid.to_string())?,
            generator: cpu_time("self")?,
        })
    }

    /// CPU microseconds per message since `self`: (server, generator).
    fn per_message(self, server_pid: u32, messages: usize) -> Result<(f64, f64)> {
        let end = CpuMark::now(server_pid)?;
        let us = |d: Duration| d.as_secs_f64() * 1e6 / messages as f64;
        Ok((
            us(end.server.saturating_sub(self.server)),
            us(end.generator.saturating_sub(self.generator)),
        ))
    }
}

fn rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no VmRSS")?
        .parse()?;
    Ok(kib * 1024)
}

/// The content: the send time (ns since `epoch`) then padding.
fn stamped(epoch: Instant, len: usize) -> Vec<u8> {
    let mut content = vec![0x5a; len];
    let now = epoch.elapsed().as_nanos() as u64;
    content[..8].copy_from_slice(&now.to_le_bytes());
    content
}

fn latency_of(epoch: Instant, content: &[u8]) -> u64 {
    let sent = u64::from_le_bytes(content[..8].try_into().unwrap());
    (epoch.elapsed().as_nanos() as u64).saturating_sub(sent)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() -> Result<()> {
    let params = Params::from_env();
    // By default one thread for all the clients: the generator shares the two cores with the
    // server, and a single-threaded runtime spends nothing on cross-thread wake-ups or work
    // stealing. GENERATOR_THREADS=N runs them on N threads instead.
    let runtime = match env_or("GENERATOR_THREADS", 1) {
        0 | 1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
    };
    let relay = runtime.block_on(bench_relay(params))?;
    let reference = std::env::var("REFERENCE").map_or(true, |v| v != "0");
    let mqtt = if !reference {
        None
    } else if which("mosquitto").is_some() {
        Some(runtime.block_on(mosquitto::bench(params))?)
    } else {
        eprintln!("mosquitto not found (apt-get install -y mosquitto): no reference figures");
        None
    };
    print_table(&params, &relay, mqtt.as_ref());
    Ok(())
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn print_table(p: &Params, relay: &Figures, mqtt: Option<&Figures>) {
    println!();
    println!(
        "relay load: {} connections, {} messages each ({} total, {} B content), window {}, paced {} msg/s",
        p.connections,
        p.messages,
        p.connections * p.messages,
        p.content_bytes,
        p.window,
        p.paced_rate
    );
    println!(
        "| server | messages/s | p50 / p99 saturated (ms) | p50 / p99 at {} msg/s (ms) | idle memory per connection | CPU µs/msg server / generator |",
        p.paced_rate
    );
    println!("|---|---|---|---|---|---|");
    let row = |name: &str, f: &Figures| {
        println!(
            "| {name} | {:.0} | {:.2} / {:.2} | {:.2} / {:.2} | {:.1} KiB | {:.1} / {:.1} |",
            f.messages_per_sec,
            f.saturated.p50_ms,
            f.saturated.p99_ms,
            f.paced.p50_ms,
            f.paced.p99_ms,
            f.idle_bytes_per_connection / 1024.0,
            f.server_cpu_us,
            f.generator_cpu_us
        );
    };
    row("missiva-relay (SQLite, fsync'd group commit)", relay);
    eprintln!("relay: {} paced deliveries measured", relay.paced_delivered);
    if let Some(m) = mqtt {
        row("mosquitto 2 QoS 1 (in memory, no fsync)", m);
        eprintln!("mosquitto: {} paced deliveries measured", m.paced_delivered);
    }
    println!(
        "goals: >= 100000 messages/s, p99 < 5 ms, <= 16 KiB per idle connection; relay: {}, {}, {}",
        verdict(relay.messages_per_sec >= 100_000.0),
        verdict(relay.paced.p99_ms < 5.0),
        verdict(relay.idle_bytes_per_connection <= 16.0 * 1024.0)
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

// ---------------------------------------------------------------------------------------------
// missiva-relay

type Socket = WebSocketStream<TcpStream>;

fn start_relay(dir: &std::path::Path) -> Result<(Killed, SocketAddr)> {
    let config = dir.join("relay.toml");
    std::fs::write(
        &config,
        "max_queue_per_recipient = 1000000\nmax_requests_in_flight = 1024\n",
    )?;
    let mut child = Command::new(env!("CARGO_BIN_EXE_missiva-relay"))
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(dir.join("relay.db"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting missiva-relay")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on ws://")
        .with_context(|| format!("unexpected first line {line:?}"))?
        .parse()?;
    Ok((Killed(child), addr))
}

async fn relay_connect(addr: SocketAddr, key: &IdentityKeyPair) -> Result<Socket> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/v1"), tcp).await?;
    let nonce = match next_frame(&mut ws).await?.body {
        Some(S::Challenge(c)) => c.nonce,
        other => bail!("expected a challenge, got {other:?}"),
    };
    let mut message = AUTH_LABEL.to_vec();
    message.extend_from_slice(&nonce);
    let auth = C::Auth(relay::Auth {
        identity: key.public().to_bytes().to_vec(),
        signature: key.sign(&message).to_vec(),
    });
    ws.send(Ws::Binary(client_frame(1, auth).encode_to_vec().into()))
        .await?;
    loop {
        match next_frame(&mut ws).await?.body {
            Some(S::Drained(_)) => return Ok(ws),
            Some(S::AuthOk(_) | S::PrekeysLow(_)) => {}
            other => bail!("unexpected {other:?} after auth"),
        }
    }
}

async fn next_frame(ws: &mut Socket) -> Result<relay::ServerFrame> {
    loop {
        match ws.next().await.context("closed")?? {
            Ws::Binary(bytes) => return Ok(decode_server_frame(&bytes, 1 << 20)?),
            Ws::Close(_) => bail!("closed"),
            _ => {}
        }
    }
}

const ACK_IDS: u64 = 1 << 40;

/// What one client does in a phase.
#[derive(Clone, Copy)]
struct Load {
    count: usize,
    window: usize,
    pace: Option<Duration>,
    content_bytes: usize,
}

/// Sends `load.count` envelopes to `to` and receives as many, acknowledging each burst of
/// deliveries in one Ack. Returns the socket and the latencies of what it received.
async fn relay_drive(
    ws: Socket,
    me: u32,
    to: Arc<Vec<u8>>,
    load: Load,
    epoch: Instant,
) -> Result<(Socket, Vec<u64>)> {
    let (mut sink, mut stream) = ws.split();
    let mut latencies = Vec::with_capacity(load.count);
    let (mut sent, mut oked, mut received, mut acks_open) = (0usize, 0usize, 0usize, 0usize);
    let mut next_ack_id = ACK_IDS;
    let mut pace = load.pace.map(|p| {
        let mut i = tokio::time::interval_at(
            tokio::time::Instant::now() + p.mul_f64(f64::from(me % 997) / 997.0),
            p,
        );
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    let send = |n: usize| {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&me.to_le_bytes());
        id[4..12].copy_from_slice(&(n as u64).to_le_bytes());
        let body = C::Send(relay::Send {
            recipient: to.to_vec(),
            envelope_id: id.to_vec(),
            content: stamped(epoch, load.content_bytes),
            ephemeral: false,
        });
        Ws::Binary(client_frame(n as u64 + 1, body).encode_to_vec().into())
    };
    if pace.is_none() {
        while sent < load.count.min(load.window) {
            sink.feed(send(sent)).await?;
            sent += 1;
        }
        sink.flush().await?;
    }
    while oked < load.count || received < load.count || acks_open > 0 {
        let mut incoming = Vec::new();
        let mut tick = false;
        tokio::select! {
            message = stream.next() => incoming.push(message.context("closed")??),
            _ = async { pace.as_mut().unwrap().tick().await }, if pace.is_some() && sent < load.count => {
                tick = true;
            }
        }
        while let Some(Some(message)) = stream.next().now_or_never() {
            incoming.push(message?);
            if incoming.len() >= 256 {
                break;
            }
        }
        let mut acks = Vec::new();
        let mut more = usize::from(tick);
        for message in incoming {
            let Ws::Binary(bytes) = message else { continue };
            let frame = decode_server_frame(&bytes, 1 << 20)?;
            match frame.body {
                Some(S::Ok(_)) if frame.request_id >= ACK_IDS => acks_open -= 1,
                Some(S::Ok(_)) => {
                    oked += 1;
                    if pace.is_none() && sent + more < load.count {
                        more += 1;
                    }
                }
                Some(S::Deliver(d)) => {
                    let e = d.envelope.context("empty deliver")?;
                    latencies.push(latency_of(epoch, &e.content));
                    received += 1;
                    acks.push(relay::AckedEnvelope {
                        sender: e.sender,
                        id: e.id,
                    });
                }
                other => bail!("unexpected {other:?}"),
            }
        }
        if !acks.is_empty() {
            let ack = C::Ack(relay::Ack { envelopes: acks });
            sink.feed(Ws::Binary(
                client_frame(next_ack_id, ack).encode_to_vec().into(),
            ))
            .await?;
            next_ack_id += 1;
            acks_open += 1;
        }
        for _ in 0..more {
            sink.feed(send(sent)).await?;
            sent += 1;
        }
        sink.flush().await?;
    }
    Ok((sink.reunite(stream)?, latencies))
}

async fn relay_phase(
    sockets: Vec<Socket>,
    identities: &[Arc<Vec<u8>>],
    load: Load,
) -> Result<(Vec<Socket>, Vec<u64>, Duration)> {
    let epoch = Instant::now();
    let n = sockets.len();
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, ws)| {
            let to = identities[(i + 1) % n].clone();
            tokio::spawn(relay_drive(ws, i as u32, to, load, epoch))
        })
        .collect();
    let mut sockets = Vec::with_capacity(n);
    let mut latencies = Vec::new();
    for task in tasks {
        let (ws, l) = task.await??;
        sockets.push(ws);
        latencies.extend(l);
    }
    Ok((sockets, latencies, epoch.elapsed()))
}

async fn bench_relay(p: Params) -> Result<Figures> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let (server, addr) = start_relay(dir.path())?;
    let pid = server.0.id();
    let keys: Vec<_> = (0..p.connections)
        .map(|_| IdentityKeyPair::generate(&mut rand::rng()))
        .collect();
    let identities: Vec<_> = keys
        .iter()
        .map(|k| Arc::new(k.public().to_bytes().to_vec()))
        .collect();
    // Warm up the runtime, the allocator and SQLite's cache with a few connections first.
    let warm: Vec<_> =
        futures_util::future::try_join_all(keys.iter().take(8).map(|k| relay_connect(addr, k)))
            .await?;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_bytes(pid)?;
    let mut sockets = Vec::with_capacity(p.connections);
    for chunk in keys.chunks(100) {
        sockets.extend(
            futures_util::future::try_join_all(chunk.iter().map(|k| relay_connect(addr, k)))
                .await?,
        );
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = rss_bytes(pid)?;
    let idle = (after.saturating_sub(before)) as f64 / p.connections as f64;
    eprintln!(
        "relay: RSS {} KiB before, {} KiB with {} idle connections",
        before / 1024,
        after / 1024,
        p.connections
    );

    let load = Load {
        count: p.messages,
        window: p.window,
        pace: None,
        content_bytes: p.content_bytes,
    };
    let cpu = CpuMark::now(pid)?;
    let threads = cpu_by_thread(pid)?;
    let (sockets, saturated, elapsed) = relay_phase(sockets, &identities, load).await?;
    let total = p.connections * p.messages;
    let (server_cpu_us, generator_cpu_us) = cpu.per_message(pid, total)?;
    for (name, after) in cpu_by_thread(pid)? {
        let spent = after.saturating_sub(threads.get(&name).copied().unwrap_or_default());
        eprintln!(
            "relay: thread {name}: {:.1} CPU µs/msg",
            spent.as_secs_f64() * 1e6 / total as f64
        );
    }
    eprintln!("relay: {total} messages in {:.2} s", elapsed.as_secs_f64());

    let per_conn_interval = Duration::from_secs_f64(p.connections as f64 / p.paced_rate as f64);
    let paced_count = ((p.paced_secs as f64) / per_conn_interval.as_secs_f64()).max(1.0) as usize;
    let load = Load {
        count: paced_count,
        window: 1,
        pace: Some(per_conn_interval),
        content_bytes: p.content_bytes,
    };
    let (sockets, paced, _) = relay_phase(sockets, &identities, load).await?;
    eprintln!("relay: RSS {} KiB after the load", rss_bytes(pid)? / 1024);
    drop(sockets);
    drop(server);
    Ok(Figures {
        idle_bytes_per_connection: idle,
        messages_per_sec: total as f64 / elapsed.as_secs_f64(),
        saturated: percentiles(saturated),
        paced_delivered: paced.len(),
        paced: percentiles(paced),
        server_cpu_us,
        generator_cpu_us,
    })
}
