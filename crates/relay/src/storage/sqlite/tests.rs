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
    assert_eq!(version, 2);
}

#[tokio::test]
async fn a_schema_1_database_keeps_its_envelopes_and_sequence_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        Migrations::new(vec![M::up(include_str!("../migrations/001_initial.sql"))])
            .to_latest(&mut conn)
            .unwrap();
        let mut insert = conn
            .prepare(
                "INSERT INTO envelopes (seq, recipient, sender, id, content, received_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1000)",
            )
            .unwrap();
        for (seq, to, from, id) in [
            (3i64, 1u8, 2u8, 1u8),
            (5, 1, 3, 1),
            (7, 2, 1, 9),
            (9, 1, 2, 2),
        ] {
            insert
                .execute(rusqlite::params![
                    seq,
                    identity(to).as_bytes().as_slice(),
                    identity(from).as_bytes().as_slice(),
                    [id; 16].as_slice(),
                    format!("sealed {seq}").as_bytes(),
                ])
                .unwrap();
        }
        // The newest envelope was acked: its seq must still never come back.
        conn.execute("DELETE FROM envelopes WHERE seq = 9", [])
            .unwrap();
    }
    let (recorder, storage) = {
        let recorder = Arc::new(Recorder::default());
        (
            recorder.clone(),
            SqliteStorage::open(&path, recorder).unwrap(),
        )
    };
    assert_eq!(storage.queued_total(), 3);
    let mailbox = storage.pending(identity(1), Seq(0), 10, 0).await.unwrap();
    let seen: Vec<_> = mailbox
        .iter()
        .map(|e| (e.seq.0, e.sender, e.content.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (3, identity(2), Bytes::from_static(b"sealed 3")),
            (5, identity(3), Bytes::from_static(b"sealed 5")),
        ]
    );
    assert_eq!(
        storage.store_envelope(envelope(1, 3, 1), 10).await.unwrap(),
        StoreOutcome::Duplicate,
        "the uniqueness of (recipient, sender, id) survived"
    );
    let acked = storage.ack(
        identity(2),
        vec![(identity(1), EnvelopeId::from_slice(&[9; 16]).unwrap())],
    );
    assert_eq!(acked.await.unwrap(), 1);
    assert_eq!(
        storage.store_envelope(envelope(4, 1, 1), 10).await.unwrap(),
        StoreOutcome::Stored
    );
    let seqs = recorder.0.lock().unwrap().clone();
    assert!(
        seqs.len() == 1 && seqs[0] > 9,
        "seq 9 was used before: {seqs:?}"
    );
    storage.close().await.unwrap();
}

#[tokio::test]
async fn identities_unknown_to_the_store_have_empty_mailboxes() {
    let (_dir, storage, _) = open();
    storage.store_envelope(envelope(1, 2, 1), 10).await.unwrap();
    assert!(
        storage
            .pending(identity(9), Seq(0), 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let state = storage.mailbox_state(identity(9), 0).await.unwrap();
    assert_eq!((state.queued, state.last), (0, Seq(0)));
    let acked = storage.ack(
        identity(9),
        vec![(identity(2), EnvelopeId::from_slice(&[1; 16]).unwrap())],
    );
    assert_eq!(acked.await.unwrap(), 0);
    let acked = storage.ack(
        identity(1),
        vec![(identity(9), EnvelopeId::from_slice(&[1; 16]).unwrap())],
    );
    assert_eq!(acked.await.unwrap(), 0);
    assert_eq!(storage.queued_total(), 1);
    storage.close().await.unwrap();
}

#[tokio::test]
async fn an_idle_writer_checkpoints_a_long_wal_into_the_database_file() {
    let (dir, storage, _) = open();
    let db = dir.path().join("r.db");
    let before = std::fs::metadata(&db).unwrap().len();
    // Each envelope fills about a page, and each is its own commit with nothing queued after it.
    for n in 0..1_200u32 {
        let mut e = envelope(1, 2, 0);
        e.id = EnvelopeId::from_slice(&[n.to_le_bytes(), [0; 4], [0; 4], [0; 4]].concat()).unwrap();
        e.content = Bytes::from(vec![0x5a; 3_000]);
        assert_eq!(
            storage.store_envelope(e, 10_000).await.unwrap(),
            StoreOutcome::Stored
        );
    }
    let after = std::fs::metadata(&db).unwrap().len();
    assert!(
        after > before + 3_000_000,
        "the WAL's pages reached the database file: {before} -> {after} bytes"
    );
    storage.close().await.unwrap();
}

#[tokio::test]
async fn the_expiry_sweep_forgets_identities_without_envelopes() {
    let (dir, storage, _) = open();
    storage.store_envelope(envelope(1, 2, 1), 10).await.unwrap();
    storage.store_envelope(envelope(3, 4, 1), 10).await.unwrap();
    let acked = storage.ack(
        identity(3),
        vec![(identity(4), EnvelopeId::from_slice(&[1; 16]).unwrap())],
    );
    assert_eq!(acked.await.unwrap(), 1);
    assert_eq!(storage.expire(0).await.unwrap(), 0);
    // The ids of 3 and 4 are gone; 1 and 2 still have an envelope, and new ones work.
    storage.store_envelope(envelope(3, 1, 2), 10).await.unwrap();
    let mailbox = storage.pending(identity(1), Seq(0), 10, 0).await.unwrap();
    assert_eq!(mailbox.len(), 1);
    assert_eq!(mailbox[0].sender, identity(2));
    let mailbox = storage.pending(identity(3), Seq(0), 10, 0).await.unwrap();
    assert_eq!(mailbox.len(), 1);
    assert_eq!(mailbox[0].sender, identity(1));
    storage.close().await.unwrap();
    let conn = Connection::open(dir.path().join("r.db")).unwrap();
    let count: i64 = conn
        .query_row("SELECT COUNT(*) FROM identities", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 3, "identities 1, 2 and 3; 4 was forgotten");
}
