//! The reference: Debian's mosquitto (MQTT, QoS 1) driven by rumqttc clients in the same
//! harness (ring, window, paced phase) as the relay.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::sync::{mpsc, watch};

use crate::{
    CpuMark, Figures, Killed, Load, Params, latency_of, percentiles, rss_bytes, stamped, which,
};

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

pub(crate) async fn bench(p: Params) -> Result<Figures> {
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
    let cpu = CpuMark::now(pid)?;
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
    let (server_cpu_us, generator_cpu_us) = cpu.per_message(pid, total)?;
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
        server_cpu_us,
        generator_cpu_us,
    })
}
