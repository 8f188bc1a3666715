//! The relay server: binds, serves `/v1` (WebSocket), `/health` and `/metrics`, sweeps expired
//! envelopes, and shuts down gracefully.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::connection::{self, Shared};
use crate::hub::Hub;
use crate::storage::{SqliteStorage, StorageError};

/// Bytes past `max_frame_bytes` the WebSocket layer still reads, so that a moderately oversized
/// frame gets `Error{FRAME_TOO_LARGE}` and the connection survives; beyond, it is closed (1009).
const OVERSIZE_SLACK: usize = 64 * 1024;

/// Now, in Unix milliseconds.
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Why the relay could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Binding or serving the socket failed.
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    /// The database could not be opened or closed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The database could not be opened (the opening task failed).
    #[error("cannot open the database: {0}")]
    Open(String),
}

/// A bound relay, ready to [`serve`](Relay::serve).
pub struct Relay {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Relay {
    /// Opens the database (migrating it) and binds the listening socket.
    pub async fn bind(config: Config) -> Result<Relay, RelayError> {
        let hub = Arc::new(Hub::default());
        let db = config.db.clone();
        let listener_hub = hub.clone();
        let storage = tokio::task::spawn_blocking(move || SqliteStorage::open(&db, listener_hub))
            .await
            .map_err(|e| RelayError::Open(e.to_string()))??;
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(Arc::new(storage), hub, config.limits));
        Ok(Relay {
            listener,
            local_addr,
            shared,
        })
    }

    /// The address the relay listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes; then stops accepting, closes every WebSocket (1001),
    /// waits for their tasks, and lets the database writer finish its commits.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RelayError> {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        let app = App {
            shared: self.shared.clone(),
            shutdown: token.clone(),
            tracker: tracker.clone(),
        };
        tracker.spawn(sweep_expired(self.shared.clone(), token.clone()));
        let router = Router::new()
            .route("/v1", get(upgrade))
            .route("/health", get(|| async { "ok" }))
            .route("/metrics", get(metrics))
            .with_state(app);
        tracing::info!(addr = %self.local_addr, "relay listening");
        let stop = token.clone();
        // Replies and pushes are small frames: Nagle would hold them back for the peer's ACK.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
            stop.cancel();
        })
        .await;
        token.cancel();
        tracker.close();
        tracker.wait().await;
        let closed = self.shared.storage.close().await;
        tracing::info!("relay stopped");
        served?;
        closed?;
        Ok(())
    }
}

async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(app): State<App>,
) -> Response {
    let limits = &app.shared.limits;
    let hard_limit = limits.max_frame_bytes.saturating_add(OVERSIZE_SLACK);
    // Held by the connection task, so that shutdown waits for it.
    let running = app.tracker.token();
    let shared = app.shared.clone();
    let shutdown = app.shutdown.clone();
    ws.read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| async move {
            let _running = running;
            if shutdown.is_cancelled() {
                return;
            }
            connection::serve(socket, shared, peer.ip(), shutdown).await;
        })
}

async fn metrics(State(app): State<App>) -> impl IntoResponse {
    let body = app.shared.metrics.render(app.shared.storage.queued_total());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

async fn sweep_expired(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(shared.limits.expiry_sweep());
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        let ttl = i64::try_from(shared.limits.envelope_ttl().as_millis()).unwrap_or(i64::MAX);
        match shared.storage.expire(unix_ms().saturating_sub(ttl)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired envelopes deleted"),
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed"),
        }
    }
}
