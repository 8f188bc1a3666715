use std::sync::Mutex;

use bytes::Bytes;

use super::*;

#[derive(Default)]
struct Recorder(Mutex<Vec<i64>>);

impl StoredListener for Recorder {
    fn stored(&self, envelope: &Arc<StoredEnvelope>) {
        self.0.lock().unwrap().push(envelope.seq.0);
    }
}

fn identity(n: u8) -> Identity {
    Identity::from_slice(&[n; 64]).unwrap()
}

fn envelope(to: u8, from: u8, id: u8) -> NewEnvelope {
    NewEnvelope {
        recipient: identity(to),
        sender: identity(from),
        id: EnvelopeId::from_slice(&[id; 16]).unwrap(),
        content: Bytes::from_static(b"sealed"),
        received_at_ms: 1_000,
    }
}

fn open() -> (tempfile::TempDir, SqliteStorage, Arc<Recorder>) {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let storage = SqliteStorage::open(&dir.path().join("r.db"), recorder.clone()).unwrap();
    (dir, storage, recorder)
}

#[tokio::test]
async fn concurrent_sends_share_commits_and_are_announced_in_order() {
    let (_dir, storage, recorder) = open();
    let futures: Vec<_> = (0..200u8)
        .map(|n| storage.store_envelope(envelope(1, 2, n), 1000))
        .collect();
    for f in futures {
        assert_eq!(f.await.unwrap(), StoreOutcome::Stored);
    }
    let seqs = recorder.0.lock().unwrap().clone();
    assert_eq!(seqs.len(), 200);
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "announced in storage order"
    );
    assert_eq!(storage.queued_total(), 200);
    storage.close().await.unwrap();
}

#[tokio::test]
async fn duplicates_and_full_mailboxes_store_nothing() {
    let (_dir, storage, recorder) = open();
    assert_eq!(
        storage.store_envelope(envelope(1, 2, 1), 2).await.unwrap(),
        StoreOutcome::Stored
    );
    assert_eq!(
        storage.store_envelope(envelope(1, 2, 1), 2).await.unwrap(),
        StoreOutcome::Duplicate
    );
    assert_eq!(
        storage.store_envelope(envelope(1, 3, 1), 2).await.unwrap(),
        StoreOutcome::Stored
    );
    assert_eq!(
        storage.store_envelope(envelope(1, 4, 1), 2).await.unwrap(),
        StoreOutcome::QueueFull
    );
    assert_eq!(
        storage.store_envelope(envelope(1, 3, 1), 2).await.unwrap(),
        StoreOutcome::Duplicate
    );
    assert_eq!(recorder.0.lock().unwrap().len(), 2);
    let acked = storage.ack(
        identity(1),
        vec![(identity(2), EnvelopeId::from_slice(&[1; 16]).unwrap())],
    );
    assert_eq!(acked.await.unwrap(), 1);
    assert_eq!(
        storage.store_envelope(envelope(1, 4, 1), 2).await.unwrap(),
        StoreOutcome::Stored
    );
    assert_eq!(storage.queued_total(), 2);
}

#[tokio::test]
async fn pending_reads_after_a_cursor_and_skips_expired_envelopes() {
    let (_dir, storage, _) = open();
    for n in 1..=3 {
        let mut e = envelope(1, 2, n);
        e.received_at_ms = i64::from(n) * 1000;
        storage.store_envelope(e, 10).await.unwrap();
    }
    let all = storage.pending(identity(1), Seq(0), 10, 0).await.unwrap();
    assert_eq!(all.len(), 3);
    let after_first = storage
        .pending(identity(1), all[0].seq, 1, 0)
        .await
        .unwrap();
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].seq, all[1].seq);
    let fresh = storage
        .pending(identity(1), Seq(0), 10, 2500)
        .await
        .unwrap();
    assert_eq!(fresh.len(), 1);
    let state = storage.mailbox_state(identity(1), 0).await.unwrap();
    assert_eq!((state.queued, state.last), (3, all[2].seq));
    assert_eq!(storage.expire(2500).await.unwrap(), 2);
    assert_eq!(storage.queued_total(), 1);
}

#[tokio::test]
async fn sequence_numbers_are_not_reused_after_the_newest_is_deleted() {
    let (_dir, storage, recorder) = open();
    storage.store_envelope(envelope(1, 2, 1), 10).await.unwrap();
    storage
        .ack(
            identity(1),
            vec![(identity(2), EnvelopeId::from_slice(&[1; 16]).unwrap())],
        )
        .await
        .unwrap();
    storage.store_envelope(envelope(1, 2, 2), 10).await.unwrap();
    let seqs = recorder.0.lock().unwrap().clone();
    assert!(seqs[1] > seqs[0], "{seqs:?}");
}

#[tokio::test]
async fn a_closed_storage_refuses_work_and_a_reopened_one_has_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let storage = SqliteStorage::open(&path, Arc::new(Recorder::default())).unwrap();
    storage.store_envelope(envelope(1, 2, 1), 10).await.unwrap();
    storage.close().await.unwrap();
    assert!(matches!(
        storage.store_envelope(envelope(1, 2, 2), 10).await,
        Err(StorageError::Closed)
    ));
    let reopened = SqliteStorage::open(&path, Arc::new(Recorder::default())).unwrap();
    assert_eq!(reopened.queued_total(), 1);
    // The relay holds the database exclusively while it runs.
    reopened.close().await.unwrap();
    let version: i64 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
}
