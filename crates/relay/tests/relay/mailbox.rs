use std::time::Duration;

use missiva_crypto::identity::IdentityKeyPair;
use missiva_proto::relay::{ErrorCode, server_frame::Body as S};
use missiva_relay::Limits;

use crate::support::*;

/// A stable identity that can log in again.
struct Account(zeroize_bytes::Secret);

mod zeroize_bytes {
    pub struct Secret(pub Vec<u8>);
}

impl Account {
    fn new() -> Self {
        let key = IdentityKeyPair::generate(&mut rand::rng());
        Account(zeroize_bytes::Secret(key.to_bytes().to_vec()))
    }

    fn key(&self) -> IdentityKeyPair {
        IdentityKeyPair::from_bytes(&self.0.0).unwrap()
    }

    fn identity(&self) -> Vec<u8> {
        self.key().public().to_bytes().to_vec()
    }
}

/// Logs in and reads the pushes that follow AuthOk up to Drained (skipping PrekeysLow),
/// returning the delivered envelopes.
async fn login_and_drain(
    relay: &TestRelay,
    account: &Account,
) -> (Client, u32, Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>) {
    let (mut client, ok) = relay.login_as(account.key()).await;
    let mut delivered = Vec::new();
    loop {
        match client.push().await {
            S::Deliver(d) => {
                let e = d.envelope.unwrap();
                delivered.push((e.sender, e.id, e.content));
            }
            S::Drained(_) => break,
            S::PrekeysLow(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    (client, ok.queued, delivered)
}

#[tokio::test]
async fn a_send_reaches_a_connected_recipient_and_an_ack_deletes_it() {
    let relay = TestRelay::start().await;
    let bob = Account::new();
    let (mut bob_conn, _, _) = login_and_drain(&relay, &bob).await;
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.send_to(&bob.identity(), id(1), b"sealed").await);
    let envelope = bob_conn.delivered().await;
    assert_eq!(envelope.id, id(1).to_vec());
    assert_eq!(envelope.sender, alice.identity);
    assert_eq!(envelope.content, b"sealed");
    assert!(envelope.received_at_ms > 1_700_000_000_000);
    bob_conn.ack(&alice.identity, &id(1)).await;
    drop(bob_conn);
    let (_bob_conn, queued, delivered) = login_and_drain(&relay, &bob).await;
    assert_eq!(queued, 0);
    assert!(delivered.is_empty(), "acked envelopes are gone");
}

#[tokio::test]
async fn unacked_envelopes_are_delivered_again_oldest_first_then_drained() {
    let relay = TestRelay::start().await;
    let bob = Account::new();
    let (mut alice, _) = relay.login().await;
    for n in 1..=3 {
        assert_ok(&alice.send_to(&bob.identity(), id(n), &[n]).await);
    }
    let (first, queued, delivered) = login_and_drain(&relay, &bob).await;
    assert_eq!(queued, 3);
    let contents: Vec<_> = delivered.iter().map(|d| d.2.clone()).collect();
    assert_eq!(contents, vec![vec![1], vec![2], vec![3]]);
    drop(first);
    let (mut second, queued, delivered) = login_and_drain(&relay, &bob).await;
    assert_eq!(queued, 3, "nothing was acked");
    assert_eq!(delivered.len(), 3);
    second.ack(&alice.identity, &id(2)).await;
    drop(second);
    let (_third, queued, delivered) = login_and_drain(&relay, &bob).await;
    assert_eq!(queued, 2);
    let ids: Vec<_> = delivered.iter().map(|d| d.1.clone()).collect();
    assert_eq!(ids, vec![id(1).to_vec(), id(3).to_vec()]);
}

#[tokio::test]
async fn a_retried_send_is_ok_and_stored_once() {
    let relay = TestRelay::start().await;
    let bob = Account::new();
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.send_to(&bob.identity(), id(7), b"one").await);
    assert_ok(&alice.send_to(&bob.identity(), id(7), b"one").await);
    let (_bob, queued, delivered) = login_and_drain(&relay, &bob).await;
    assert_eq!(queued, 1);
    assert_eq!(delivered.len(), 1);
    // The same id from another sender is another envelope.
    let (mut carol, _) = relay.login().await;
    assert_ok(&carol.send_to(&bob.identity(), id(7), b"two").await);
    assert!(
        relay
            .metrics()
            .await
            .contains("missiva_relay_envelopes_stored_total 2\n")
    );
}

#[tokio::test]
async fn every_connection_of_the_recipient_gets_the_push() {
    let relay = TestRelay::start().await;
    let bob = Account::new();
    let (mut laptop, _, _) = login_and_drain(&relay, &bob).await;
    let (mut desktop, _, _) = login_and_drain(&relay, &bob).await;
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.send_to(&bob.identity(), id(1), b"x").await);
    assert_eq!(laptop.delivered().await.id, id(1).to_vec());
    assert_eq!(desktop.delivered().await.id, id(1).to_vec());
}

#[tokio::test]
async fn ephemeral_sends_reach_connected_recipients_and_are_never_stored() {
    let relay = TestRelay::start().await;
    let bob = Account::new();
    let (mut alice, _) = relay.login().await;
    // Offline: Ok, but nothing waits for bob.
    assert_ok(
        &alice
            .request(send(&bob.identity(), id(1), b"typing", true))
            .await,
    );
    let (mut bob_conn, queued, delivered) = login_and_drain(&relay, &bob).await;
    assert_eq!(queued, 0);
    assert!(delivered.is_empty());
    // Online: pushed.
    assert_ok(
        &alice
            .request(send(&bob.identity(), id(2), b"typing", true))
            .await,
    );
    let envelope = bob_conn.delivered().await;
    assert_eq!(
        (envelope.id, envelope.content),
        (id(2).to_vec(), b"typing".to_vec())
    );
    drop(bob_conn);
    let (_bob, queued, _) = login_and_drain(&relay, &bob).await;
    assert_eq!(queued, 0);
    assert!(
        relay
            .metrics()
            .await
            .contains("missiva_relay_queued_envelopes 0\n")
    );
}

#[tokio::test]
async fn a_full_mailbox_refuses_new_envelopes_but_not_retries() {
    let relay = TestRelay::with_limits(Limits {
        max_queue_per_recipient: 3,
        ..limits()
    })
    .await;
    let bob = Account::new();
    let (mut alice, _) = relay.login().await;
    for n in 1..=3 {
        assert_ok(&alice.send_to(&bob.identity(), id(n), b"x").await);
    }
    assert_eq!(
        error_code(&alice.send_to(&bob.identity(), id(4), b"x").await),
        ErrorCode::QueueFull
    );
    assert_ok(&alice.send_to(&bob.identity(), id(3), b"x").await);
    // Another recipient is unaffected.
    assert_ok(&alice.send_to(&[5; 64], id(4), b"x").await);
    // An ack makes room.
    let (mut bob_conn, _, _) = login_and_drain(&relay, &bob).await;
    bob_conn.ack(&alice.identity, &id(1)).await;
    assert_ok(&alice.send_to(&bob.identity(), id(4), b"x").await);
}

#[tokio::test]
async fn the_window_holds_back_pushes_until_acks_come() {
    let relay = TestRelay::with_limits(Limits {
        delivery_window: 4,
        ..limits()
    })
    .await;
    let bob = Account::new();
    let (mut alice, _) = relay.login().await;
    for n in 1..=6 {
        assert_ok(&alice.send_to(&bob.identity(), id(n), &[n]).await);
    }
    let (mut bob_conn, ok) = relay.login_as(bob.key()).await;
    assert_eq!(ok.queued, 6);
    assert!(matches!(bob_conn.push().await, S::PrekeysLow(_)));
    for n in 1..=4 {
        assert_eq!(bob_conn.delivered().await.content, vec![n]);
    }
    bob_conn.assert_quiet(Duration::from_millis(300)).await;
    bob_conn.ack(&alice.identity, &id(1)).await;
    bob_conn.ack(&alice.identity, &id(2)).await;
    assert_eq!(bob_conn.delivered().await.content, vec![5]);
    assert_eq!(bob_conn.delivered().await.content, vec![6]);
    assert!(matches!(bob_conn.push().await, S::Drained(_)));
    // Live pushes wait for the window too.
    assert_ok(&alice.send_to(&bob.identity(), id(7), &[7]).await);
    bob_conn.assert_quiet(Duration::from_millis(300)).await;
    bob_conn.ack(&alice.identity, &id(3)).await;
    assert_eq!(bob_conn.delivered().await.content, vec![7]);
}

#[tokio::test]
async fn envelopes_expire() {
    let relay = TestRelay::with_limits(Limits {
        envelope_ttl_secs: 1,
        expiry_sweep_secs: 1,
        ..limits()
    })
    .await;
    let bob = Account::new();
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.send_to(&bob.identity(), id(1), b"x").await);
    assert!(
        relay
            .metrics()
            .await
            .contains("missiva_relay_queued_envelopes 1\n")
    );
    // Expired after 1 s and swept within the next sweep (1 s); a loaded CI machine may be
    // late, so wait for it up to 10 s rather than a fixed 2.5 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    while !relay
        .metrics()
        .await
        .contains("missiva_relay_queued_envelopes 0\n")
    {
        assert!(tokio::time::Instant::now() < deadline, "not swept in 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_bob, queued, delivered) = login_and_drain(&relay, &bob).await;
    assert_eq!(queued, 0);
    assert!(delivered.is_empty());
}

#[tokio::test]
async fn a_restarted_relay_still_holds_undelivered_envelopes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let bob = Account::new();
    let relay = TestRelay::at(&db, limits()).await;
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.send_to(&bob.identity(), id(1), b"kept").await);
    assert_ok(&alice.send_to(&bob.identity(), id(2), b"acked").await);
    let (mut bob_conn, _, _) = login_and_drain(&relay, &bob).await;
    bob_conn.ack(&alice.identity, &id(2)).await;
    drop((alice, bob_conn));
    relay.stop().await;

    let relay = TestRelay::at(&db, limits()).await;
    let (_bob, queued, delivered) = login_and_drain(&relay, &bob).await;
    assert_eq!(queued, 1);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].2, b"kept");
    relay.stop().await;
}

fn file_contains(path: &std::path::Path, needle: &[u8]) -> bool {
    let mut haystack = std::fs::read(path).unwrap();
    let wal = path.with_extension("db-wal");
    if let Ok(more) = std::fs::read(wal) {
        haystack.extend(more);
    }
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn acknowledged_envelopes_leave_no_trace_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let bob = Account::new();
    let kept = b"MARKER-KEPT-0123456789";
    let gone = b"MARKER-GONE-9876543210";
    let relay = TestRelay::at(&db, limits()).await;
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.send_to(&bob.identity(), id(1), kept).await);
    assert_ok(&alice.send_to(&bob.identity(), id(2), gone).await);
    let (mut bob_conn, _, _) = login_and_drain(&relay, &bob).await;
    bob_conn.ack(&alice.identity, &id(2)).await;
    drop((alice, bob_conn));
    // Shutdown checkpoints the WAL into the database file and removes it.
    relay.stop().await;
    assert!(
        !db.with_extension("db-wal").exists()
            || std::fs::metadata(db.with_extension("db-wal"))
                .unwrap()
                .len()
                == 0
    );
    assert!(file_contains(&db, kept), "the test can see stored content");
    assert!(
        !file_contains(&db, gone),
        "secure_delete wiped the acked envelope"
    );
}
