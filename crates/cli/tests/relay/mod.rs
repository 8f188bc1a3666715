//! A relay embedded in a CLI test, on its own runtime.
// Each test binary uses part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::runtime::Runtime;
use tokio::sync::oneshot;

/// A relay embedded in the test, on its own runtime.
pub struct Relay {
    runtime: Runtime,
    addr: SocketAddr,
    db: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    pub fn start(db: &Path, addr: SocketAddr) -> Self {
        let runtime = Runtime::new().unwrap();
        let mut relay = Relay {
            runtime,
            addr,
            db: db.to_owned(),
            stop: None,
            task: None,
        };
        relay.serve();
        relay
    }

    pub fn serve(&mut self) {
        let config = missiva_relay::Config::new(self.addr, self.db.clone());
        let relay = self
            .runtime
            .block_on(missiva_relay::Relay::bind(config))
            .unwrap();
        self.addr = relay.local_addr();
        let (tx, rx) = oneshot::channel::<()>();
        self.task = Some(self.runtime.spawn(async move {
            relay
                .serve(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        }));
        self.stop = Some(tx);
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            self.runtime.block_on(task).unwrap();
        }
    }
}
