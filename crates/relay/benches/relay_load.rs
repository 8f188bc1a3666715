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
//! Run: `cargo bench -p missiva-relay --bench relay_load` (env: CONNECTIONS, MESSAGES, WINDOW,
//! PACED_RATE, PACED_SECS, CONTENT_BYTES).
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
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as Ws;

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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let relay = runtime.block_on(bench_relay(params))?;
    let mqtt = if which("mosquitto").is_some() {
        Some(runtime.block_on(bench_mosquitto(params))?)
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
        "| server | messages/s | p50 / p99 saturated (ms) | p50 / p99 at {} msg/s (ms) | idle memory per connection |",
        p.paced_rate
    );
    println!("|---|---|---|---|---|");
    let row = |name: &str, f: &Figures| {
        println!(
            "| {name} | {:.0} | {:.2} / {:.2} | {:.2} / {:.2} | {:.1} KiB |",
            f.messages_per_sec,
            f.saturated.p50_ms,
            f.saturated.p99_ms,
            f.paced.p50_ms,
            f.paced.p99_ms,
            f.idle_bytes_per_connection / 1024.0
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
    let (sockets, saturated, elapsed) = relay_phase(sockets, &identities, load).await?;
    let total = p.connections * p.messages;
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
    })
}

// ---------------------------------------------------------------------------------------------
// mosquitto (reference)

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn start_mosquitto(dir: &std::path::Path) -> Result<(Killed, u16)> {
    let port = free_port()?;
    let config = dir.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             max_queued_messages 100000\nmax_inflight_messages 0\nlog_type error\n"
        ),
    )?;
    let child = Command::new(which("mosquitto").context("mosquitto")?)
        .arg("-c")
        .arg(&config)
        .stdout(Stdio::null())
        .spawn()
        .context("starting mosquitto")?;
    let server = Killed(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            bail!("mosquitto did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((server, port))
}

#[derive(Clone, Copy)]
enum Phase {
    Wait,
    Run(u32, Load, Instant),
}

/// One MQTT client: connects, subscribes to its own topic, then runs phases on command and reports
/// (latencies) on `done`.
async fn mqtt_client(
    port: u16,
    me: usize,
    n: usize,
    ready: mpsc::Sender<()>,
    mut phases: watch::Receiver<Phase>,
    done: mpsc::Sender<Vec<u64>>,
) -> Result<()> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut options = MqttOptions::new(format!("c{me}"), "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(120));
    options.set_inflight(1000);
    let (client, mut events) = AsyncClient::new(options, 4096);
    let topic = format!("m/{}", (me + 1) % n);
    let mut subscribed = false;
    let mut current: Option<(u32, Load, Instant)> = None;
    let mut finished_generation = 0u32;
    let (mut sent, mut oked, mut received) = (0usize, 0usize, 0usize);
    let (mut target, mut received_base) = (0usize, 0usize);
    let mut latencies = Vec::new();
    let mut pace: Option<tokio::time::Interval> = None;
    loop {
        let mut tick = false;
        tokio::select! {
            event = events.poll() => match event? {
                Event::Incoming(Packet::ConnAck(_)) => client.try_subscribe(format!("m/{me}"), QoS::AtLeastOnce)?,
                Event::Incoming(Packet::SubAck(_)) if !subscribed => {
                    subscribed = true;
                    ready.send(()).await?;
                }
                Event::Incoming(Packet::Publish(publish)) => {
                    // The sender may have seen the phase start before this client did.
                    if let Phase::Run(_, _, epoch) = *phases.borrow() {
                        latencies.push(latency_of(epoch, &publish.payload));
                    }
                    received += 1;
                }
                Event::Incoming(Packet::PubAck(_)) => {
                    oked += 1;
                    if let Some((_, load, epoch)) = current
                        && load.pace.is_none()
                        && sent < load.count
                    {
                        client.try_publish(&topic, QoS::AtLeastOnce, false, stamped(epoch, load.content_bytes))?;
                        sent += 1;
                    }
                }
                _ => {}
            },
            changed = phases.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let phase = *phases.borrow_and_update();
                if let Phase::Run(generation, load, epoch) = phase {
                    current = Some((generation, load, epoch));
                    // Counts carry over: deliveries of this phase may have come before the
                    // phase change reached this client.
                    target += load.count;
                    sent = 0;
                    oked = oked.saturating_sub(target - load.count);
                    received_base = target - load.count;
                    pace = load.pace.map(|p| {
                        let mut i = tokio::time::interval_at(
                            tokio::time::Instant::now() + p.mul_f64((me % 997) as f64 / 997.0),
                            p,
                        );
                        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        i
                    });
                    if load.pace.is_none() {
                        while sent < load.count.min(load.window) {
                            client.try_publish(&topic, QoS::AtLeastOnce, false, stamped(epoch, load.content_bytes))?;
                            sent += 1;
                        }
                    }
                }
            }
            _ = async { pace.as_mut().unwrap().tick().await }, if pace.is_some() && current.is_some_and(|c| sent < c.1.count) => {
                tick = true;
            }
        }
        if tick && let Some((_, load, epoch)) = current {
            client.try_publish(
                &topic,
                QoS::AtLeastOnce,
                false,
                stamped(epoch, load.content_bytes),
            )?;
            sent += 1;
        }
        if let Some((generation, load, _)) = current
            && generation != finished_generation
            && oked >= load.count
            && received - received_base >= load.count
        {
            finished_generation = generation;
            pace = None;
            done.send(std::mem::take(&mut latencies)).await?;
        }
    }
}

async fn bench_mosquitto(p: Params) -> Result<Figures> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let (server, port) = start_mosquitto(dir.path())?;
    let pid = server.0.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_bytes(pid)?;
    let (ready_tx, mut ready_rx) = mpsc::channel(p.connections);
    let (done_tx, mut done_rx) = mpsc::channel(p.connections);
    let (phase_tx, phase_rx) = watch::channel(Phase::Wait);
    let mut tasks = Vec::new();
    for chunk_start in (0..p.connections).step_by(100) {
        for me in chunk_start..(chunk_start + 100).min(p.connections) {
            let client = mqtt_client(
                port,
                me,
                p.connections,
                ready_tx.clone(),
                phase_rx.clone(),
                done_tx.clone(),
            );
            tasks.push(tokio::spawn(async move {
                if let Err(e) = client.await {
                    eprintln!("mqtt client {me}: {e:#}");
                }
            }));
        }
        for _ in chunk_start..(chunk_start + 100).min(p.connections) {
            tokio::time::timeout(Duration::from_secs(30), ready_rx.recv())
                .await
                .context("mqtt clients did not subscribe in time")?;
        }
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = rss_bytes(pid)?;
    eprintln!(
        "mosquitto: RSS {} KiB before, {} KiB with {} idle connections",
        before / 1024,
        after / 1024,
        p.connections
    );

    let run = |generation: u32, load: Load| {
        let epoch = Instant::now();
        phase_tx.send_replace(Phase::Run(generation, load, epoch));
        epoch
    };
    let load = Load {
        count: p.messages,
        window: p.window,
        pace: None,
        content_bytes: p.content_bytes,
    };
    let epoch = run(1, load);
    let mut saturated = Vec::new();
    for _ in 0..p.connections {
        saturated.extend(
            tokio::time::timeout(Duration::from_secs(300), done_rx.recv())
                .await
                .context("mqtt throughput phase timed out")?
                .context("a client failed")?,
        );
    }
    let elapsed = epoch.elapsed();
    let total = p.connections * p.messages;
    eprintln!(
        "mosquitto: {total} messages in {:.2} s",
        elapsed.as_secs_f64()
    );

    let per_conn_interval = Duration::from_secs_f64(p.connections as f64 / p.paced_rate as f64);
    let paced_count = ((p.paced_secs as f64) / per_conn_interval.as_secs_f64()).max(1.0) as usize;
    run(
        2,
        Load {
            count: paced_count,
            window: 1,
            pace: Some(per_conn_interval),
            content_bytes: p.content_bytes,
        },
    );
    let mut paced = Vec::new();
    for _ in 0..p.connections {
        paced.extend(
            tokio::time::timeout(Duration::from_secs(120), done_rx.recv())
                .await
                .context("mqtt paced phase timed out")?
                .context("a client failed")?,
        );
    }
    drop(phase_tx);
    for task in tasks {
        task.abort();
    }
    drop(server);
    Ok(Figures {
        idle_bytes_per_connection: after.saturating_sub(before) as f64 / p.connections as f64,
        messages_per_sec: total as f64 / elapsed.as_secs_f64(),
        saturated: percentiles(saturated),
        paced_delivered: paced.len(),
        paced: percentiles(paced),
    })
}
