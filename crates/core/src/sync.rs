//! Talking to the relay: one task per account keeps a connection open (reconnecting with capped
//! exponential backoff and jitter), flushes the outbox, stores what arrives and acknowledges it
//! only once it is on disk. [`Account::sync_once`] does the same once, for the CLI.

use std::time::Duration;

use missiva_proto::relay::{self, client_frame, server_frame};
use rand::RngExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use ts_rs::TS;

use crate::account::Account;
use crate::events::EventKind;
use crate::identity::{self, IdentityError};
use crate::ids::ContactId;
use crate::store::StoreError;

mod connection;
mod driver;
mod inbox;
pub(crate) mod outbox;

pub use connection::ConnectionError;
pub(crate) use connection::RelayConnection;
use driver::Driver;

/// The first reconnection delay.
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// The longest reconnection delay.
const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// How often an idle connection is pinged.
const KEEPALIVE: Duration = Duration::from_secs(30);
/// A connection silent for this long is considered dead.
const DEAD_AFTER: Duration = Duration::from_secs(75);
/// How long a request through the sync task may wait for its reply.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Fewer one-time prekeys than this on the relay and we upload more.
const PREKEYS_LOW: u32 = 10;
/// How often a long-lived connection checks whether the signed prekey is due for rotation.
const ROTATION_CHECK: Duration = Duration::from_secs(6 * 3600);

/// Whether an account's sync task is talking to its relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ConnectionState {
    /// Connecting or authenticating.
    Connecting,
    /// Connected and authenticated.
    Online,
    /// Not connected; retrying later.
    Offline,
    /// The account has no relay, or its sync is not started.
    NotConfigured,
}

/// Errors of the network side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The account has no relay.
    #[error("this account has no relay configured")]
    NotConfigured,
    /// The relay could not be reached.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The account's sync task is not connected right now.
    #[error("not connected to the relay; try again when online")]
    Offline,
    /// The relay answered with an error.
    #[error("the relay refused: {message} ({code})")]
    Relay {
        /// The relay's error code (`HANDLE_TAKEN`, `NOT_FOUND`, …).
        code: String,
        /// Its explanation.
        message: String,
    },
    /// The relay answered with a frame that is not the expected reply.
    #[error("unexpected reply from the relay")]
    UnexpectedReply,
    /// The sync task of this account is running: use it rather than a second connection.
    #[error("this account is already syncing")]
    AlreadyRunning,
    /// Not finished in time.
    #[error("the relay did not answer in time")]
    Timeout,
    /// A failure injected by a test.
    #[error("injected failure")]
    InjectedFault,
    /// The account's keys.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SyncError {
    fn from(e: rusqlite::Error) -> Self {
        SyncError::Store(e.into())
    }
}

impl SyncError {
    /// The error a relay `Error` frame stands for.
    pub(crate) fn relay(e: &relay::Error) -> Self {
        let code = relay::ErrorCode::try_from(e.code)
            .map(|c| c.as_str_name().to_owned())
            .unwrap_or_else(|_| e.code.to_string());
        SyncError::Relay {
            code,
            message: e.message.clone(),
        }
    }

    /// Whether this is the relay error `code`.
    pub fn is_relay_code(&self, code: relay::ErrorCode) -> bool {
        matches!(self, SyncError::Relay { code: c, .. } if c == code.as_str_name())
    }
}

/// What one [`Account::sync_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSummary {
    /// Messages received and stored.
    pub received: u32,
    /// Envelopes the relay accepted from us (messages and receipts).
    pub sent: u32,
    /// Outgoing messages still waiting for the relay.
    pub pending: u32,
    /// Whether the time ran out before the account was idle.
    pub timed_out: bool,
}

/// Where a test makes the next incoming envelope fail, as a crash there would.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    /// After decrypting, before the transaction commits: the connection drops, nothing stored.
    BeforeCommit,
    /// After the commit, before the ack: the connection drops, the relay redelivers.
    BeforeAck,
    /// After the ack, before the sender's claimed handle is looked up (a no-op for an envelope
    /// without one): the connection drops as if the relay became unreachable.
    BeforeLookup,
    /// On the send side, not the next incoming envelope: when the relay has stored one of
    /// several envelopes in flight, before it is marked sent, the connection drops with the
    /// others unanswered.
    AfterSendOk,
}

pub(crate) enum Command {
    /// The outbox has new rows.
    Kick,
    /// A request to the relay over the sync connection.
    Request {
        body: client_frame::Body,
        reply: oneshot::Sender<Result<server_frame::Body, SyncError>>,
    },
    /// Tell `contact` we are (not) typing; dropped when offline.
    Typing { contact: ContactId, typing: bool },
    /// Fail the next envelope (or, for [`FailPoint::AfterSendOk`], send) at this point.
    Fault(FailPoint),
}

/// The handle an [`Account`] keeps on its running sync task.
#[derive(Debug, Clone)]
pub(crate) struct SyncLink {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<ConnectionState>,
}

impl SyncLink {
    pub(crate) fn is_alive(&self) -> bool {
        !self.commands.is_closed()
    }
}

/// A running sync task, stopped when dropped.
#[derive(Debug)]
pub(crate) struct SyncTask {
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for SyncTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Starts `account`'s sync task on `runtime`.
pub(crate) fn spawn(account: &Account, runtime: &tokio::runtime::Handle) -> SyncTask {
    let (tx, rx) = mpsc::channel(64);
    let (state_tx, state_rx) = watch::channel(ConnectionState::Connecting);
    account.set_sync_link(Some(SyncLink {
        commands: tx,
        state: state_rx,
    }));
    let handle = runtime.spawn(run(account.clone(), rx, state_tx));
    SyncTask { handle }
}

fn set_state(account: &Account, tx: &watch::Sender<ConnectionState>, state: ConnectionState) {
    if *tx.borrow() != state {
        tx.send_replace(state);
        account.emit(EventKind::ConnectionChanged { state });
    }
}

/// `attempt`'s delay: BASE·2^attempt capped at CAP, then a random point in its upper half.
fn backoff(attempt: u32) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(BACKOFF_CAP);
    let half = full / 2;
    half + half.mul_f64(rand::rng().random::<f64>())
}

async fn run(
    account: Account,
    mut rx: mpsc::Receiver<Command>,
    state: watch::Sender<ConnectionState>,
) {
    let identity = match account.relay() {
        None => None,
        Some(_) => match account
            .db(|s| s.read_with::<_, IdentityError>(identity::load))
            .await
        {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(account = %account.id(), error = %e, "sync not started");
                None
            }
        },
    };
    let (Some(relay), Some(identity)) = (account.relay().map(str::to_owned), identity) else {
        set_state(&account, &state, ConnectionState::NotConfigured);
        while let Some(cmd) = rx.recv().await {
            if let Command::Request { reply, .. } = cmd {
                let _ = reply.send(Err(SyncError::NotConfigured));
            }
        }
        return;
    };
    let mut attempt = 0u32;
    loop {
        set_state(&account, &state, ConnectionState::Connecting);
        match RelayConnection::connect(&relay, &identity).await {
            Ok(conn) => {
                attempt = 0;
                set_state(&account, &state, ConnectionState::Online);
                let mut driver = Driver::new(&account, conn, false);
                match driver.run(&mut rx).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::info!(account = %account.id(), error = %e, "connection lost");
                    }
                }
            }
            Err(e) => tracing::debug!(account = %account.id(), error = %e, "cannot connect"),
        }
        set_state(&account, &state, ConnectionState::Offline);
        let sleep = tokio::time::sleep(backoff(attempt));
        attempt = attempt.saturating_add(1);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(Command::Request { reply, .. }) => {
                        let _ = reply.send(Err(SyncError::Offline));
                    }
                    // Something to send: try again now rather than at the end of the backoff.
                    Some(Command::Kick) => break,
                    Some(Command::Typing { .. } | Command::Fault(_)) => {}
                },
            }
        }
    }
}

impl Account {
    /// The connection state of this account's sync task.
    pub fn connection_state(&self) -> ConnectionState {
        match (self.sync_link(), self.relay()) {
            (Some(link), _) => *link.state.borrow(),
            (None, Some(_)) => ConnectionState::Offline,
            (None, None) => ConnectionState::NotConfigured,
        }
    }

    /// Tells the sync task that the outbox has new rows (no-op when it is not running).
    pub(crate) fn kick(&self) {
        if let Some(link) = self.sync_link() {
            let _ = link.commands.try_send(Command::Kick);
        }
    }

    /// Tells the sync task to send a typing indicator (dropped when not connected).
    pub(crate) fn send_typing(&self, contact: ContactId, typing: bool) {
        if let Some(link) = self.sync_link() {
            let _ = link.commands.try_send(Command::Typing { contact, typing });
        }
    }

    /// Makes the next incoming envelope (or outgoing burst) fail at `point`, as a crash there
    /// would. For tests.
    #[doc(hidden)]
    pub async fn inject_fault(&self, point: FailPoint) -> Result<(), SyncError> {
        let link = self.sync_link().ok_or(SyncError::Offline)?;
        link.commands
            .send(Command::Fault(point))
            .await
            .map_err(|_| SyncError::Offline)
    }

    /// Sends one request to the relay, over the sync connection when the sync task runs and
    /// over a short-lived connection otherwise.
    pub(crate) async fn request(
        &self,
        body: client_frame::Body,
    ) -> Result<server_frame::Body, SyncError> {
        if let Some(link) = self.sync_link() {
            let (tx, rx) = oneshot::channel();
            link.commands
                .send(Command::Request { body, reply: tx })
                .await
                .map_err(|_| SyncError::Offline)?;
            return tokio::time::timeout(REQUEST_TIMEOUT, rx)
                .await
                .map_err(|_| SyncError::Timeout)?
                .map_err(|_| SyncError::Offline)?;
        }
        let relay = self.relay().ok_or(SyncError::NotConfigured)?.to_owned();
        let identity = self
            .db(|s| s.read_with::<_, IdentityError>(identity::load))
            .await?;
        let mut conn = RelayConnection::connect(&relay, &identity).await?;
        let reply = tokio::time::timeout(REQUEST_TIMEOUT, conn.request(body))
            .await
            .map_err(|_| SyncError::Timeout)??;
        conn.close().await;
        match reply {
            server_frame::Body::Error(e) => Err(SyncError::relay(&e)),
            other => Ok(other),
        }
    }

    /// Connects once: sends the outbox, stores everything the relay holds until it says
    /// `Drained`, and returns when nothing is left in flight or `timeout` passed. For the CLI;
    /// an account whose sync task runs refuses with [`SyncError::AlreadyRunning`].
    pub async fn sync_once(&self, timeout: Duration) -> Result<SyncSummary, SyncError> {
        if self.sync_link().is_some() {
            return Err(SyncError::AlreadyRunning);
        }
        let relay = self.relay().ok_or(SyncError::NotConfigured)?.to_owned();
        let identity = self
            .db(|s| s.read_with::<_, IdentityError>(identity::load))
            .await?;
        let deadline = Instant::now() + timeout;
        let conn = tokio::time::timeout_at(deadline, RelayConnection::connect(&relay, &identity))
            .await
            .map_err(|_| SyncError::Timeout)??;
        let (_keep, mut rx) = mpsc::channel(1);
        let mut driver = Driver::new(self, conn, true);
        let finished = tokio::time::timeout_at(deadline, driver.run(&mut rx)).await;
        // Cut short by the timeout: the rows the relay already stored are still marked sent.
        let flushed = driver.flush_sent().await;
        driver.release_all();
        let mut summary = std::mem::take(&mut driver.summary);
        match finished {
            Ok(result) => result?,
            Err(_) => summary.timed_out = true,
        }
        flushed?;
        driver.conn.close().await;
        summary.pending = self.db(outbox::pending_messages).await?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        for attempt in 0..40 {
            let d = backoff(attempt);
            let full = BACKOFF_BASE
                .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
                .min(BACKOFF_CAP);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(30) >= BACKOFF_CAP / 2);
        let samples: std::collections::BTreeSet<_> = (0..20).map(|_| backoff(5)).collect();
        assert!(samples.len() > 1, "no jitter");
    }

    #[test]
    fn connection_state_serializes_for_the_ui() {
        assert_eq!(
            serde_json::to_string(&ConnectionState::NotConfigured).unwrap(),
            "\"notConfigured\""
        );
    }
}
