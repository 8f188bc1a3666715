use std::collections::BTreeSet;

use missiva_proto::relay::{self, ErrorCode, client_frame::Body as C, server_frame::Body as S};
use missiva_relay::Limits;

use crate::support::*;

fn upload(signed_id: Option<u32>, one_time: std::ops::Range<u32>) -> C {
    C::UploadPrekeys(relay::UploadPrekeys {
        signed_prekey: signed_id.map(|id| relay::SignedPrekey {
            id,
            public_key: vec![id as u8; 32],
            signature: vec![9; 64],
        }),
        one_time_prekeys: one_time
            .map(|id| relay::OneTimePrekey {
                id,
                public_key: vec![(id % 251) as u8; 32],
            })
            .collect(),
    })
}

fn fetch(identity: &[u8]) -> C {
    C::FetchBundle(relay::FetchBundle {
        identity: identity.to_vec(),
    })
}

fn bundle(frame: relay::ServerFrame) -> relay::Bundle {
    match frame.body {
        Some(S::Bundle(b)) => b,
        other => panic!("expected a bundle, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bundle_carries_the_signed_prekey_and_one_one_time_prekey() {
    let relay = TestRelay::with_limits(limits()).await;
    let (mut alice, _) = relay.login().await;
    let (mut bob, _) = relay.login().await;
    assert_ok(&alice.request(upload(Some(1), 100..102)).await);
    let first = bundle(bob.request(fetch(&alice.identity)).await);
    assert_eq!(first.identity, alice.identity);
    let signed = first.signed_prekey.unwrap();
    assert_eq!(
        (signed.id, signed.public_key, signed.signature),
        (1, vec![1; 32], vec![9; 64])
    );
    assert_eq!(first.one_time_prekey.unwrap().id, 100);
    assert_eq!(
        bundle(bob.request(fetch(&alice.identity)).await)
            .one_time_prekey
            .unwrap()
            .id,
        101
    );
    assert_eq!(
        bundle(bob.request(fetch(&alice.identity)).await).one_time_prekey,
        None
    );
    // A new signed prekey replaces the old one.
    assert_ok(&alice.request(upload(Some(2), 0..0)).await);
    let third = bundle(bob.request(fetch(&alice.identity)).await);
    assert_eq!(third.signed_prekey.unwrap().id, 2);
    // The owner's count when it reconnects.
    let key = alice.key().to_bytes();
    drop(alice);
    let (_alice, ok) = relay
        .login_as(missiva_crypto::identity::IdentityKeyPair::from_bytes(&*key).unwrap())
        .await;
    assert_eq!(ok.one_time_prekeys, 0);
}

#[tokio::test]
async fn an_identity_without_a_signed_prekey_has_no_bundle() {
    let relay = TestRelay::with_limits(limits()).await;
    let (mut alice, _) = relay.login().await;
    let (mut bob, _) = relay.login().await;
    assert_eq!(
        error_code(&bob.request(fetch(&alice.identity)).await),
        ErrorCode::NotFound
    );
    assert_ok(&alice.request(upload(None, 0..5)).await);
    assert_eq!(
        error_code(&bob.request(fetch(&alice.identity)).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        error_code(&bob.request(fetch(&[1; 63])).await),
        ErrorCode::BadRequest
    );
}

#[tokio::test]
async fn malformed_prekeys_are_bad_requests_and_store_nothing() {
    let relay = TestRelay::with_limits(limits()).await;
    let (mut alice, _) = relay.login().await;
    let mut bad = upload(Some(1), 0..3);
    if let C::UploadPrekeys(u) = &mut bad {
        u.one_time_prekeys[2].public_key.pop();
    }
    assert_eq!(error_code(&alice.request(bad).await), ErrorCode::BadRequest);
    let (mut bob, _) = relay.login().await;
    assert_eq!(
        error_code(&bob.request(fetch(&alice.identity)).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        error_code(&alice.request(upload(None, 0..0)).await),
        ErrorCode::BadRequest,
        "an empty upload"
    );
}

#[tokio::test]
async fn the_relay_holds_a_limited_number_of_one_time_prekeys() {
    let relay = TestRelay::with_limits(Limits {
        max_one_time_prekeys: 10,
        ..limits()
    })
    .await;
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.request(upload(Some(1), 0..8)).await);
    assert_eq!(
        error_code(&alice.request(upload(None, 8..12)).await),
        ErrorCode::BadRequest
    );
    // Known ids are ignored, so re-uploading them does not count twice.
    assert_ok(&alice.request(upload(None, 0..10)).await);
}

#[tokio::test]
async fn concurrent_fetches_hand_out_each_one_time_prekey_once() {
    let relay = TestRelay::with_limits(limits()).await;
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.request(upload(Some(1), 0..20)).await);
    let owner = alice.identity.clone();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (mut client, _) = relay.login().await;
        let owner = owner.clone();
        tasks.push(tokio::spawn(async move {
            // Pipelined: all five requests in flight at once.
            let mut ids = Vec::new();
            for _ in 0..5 {
                ids.push(client.start(fetch(&owner)).await);
            }
            let mut got = Vec::new();
            for id in ids {
                got.push(
                    bundle(client.reply_to(id).await)
                        .one_time_prekey
                        .map(|k| k.id),
                );
            }
            got
        }));
    }
    let mut handed_out = Vec::new();
    let mut without = 0;
    for task in tasks {
        for key in task.await.unwrap() {
            match key {
                Some(id) => handed_out.push(id),
                None => without += 1,
            }
        }
    }
    let distinct: BTreeSet<u32> = handed_out.iter().copied().collect();
    assert_eq!(handed_out.len(), 20, "every key handed out");
    assert_eq!(distinct.len(), 20, "none twice");
    assert_eq!(without, 10);
}

#[tokio::test]
async fn the_owner_hears_when_its_prekeys_run_low() {
    let relay = TestRelay::with_limits(limits()).await;
    let (mut alice, ok) = relay.login().await;
    assert_eq!(ok.one_time_prekeys, 0);
    assert!(matches!(
        alice.push().await,
        S::PrekeysLow(relay::PrekeysLow { remaining: 0 })
    ));
    assert!(matches!(alice.push().await, S::Drained(_)));
    assert_ok(&alice.request(upload(Some(1), 0..11)).await);
    let (mut bob, _) = relay.login().await;
    bundle(bob.request(fetch(&alice.identity)).await);
    alice
        .assert_quiet(std::time::Duration::from_millis(200))
        .await;
    bundle(bob.request(fetch(&alice.identity)).await);
    assert!(matches!(
        alice.push().await,
        S::PrekeysLow(relay::PrekeysLow { remaining: 9 })
    ));
}

#[tokio::test]
async fn bundle_fetches_are_rate_limited() {
    let relay = TestRelay::with_limits(Limits {
        bundle_fetches_per_minute: 3,
        ..limits()
    })
    .await;
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.request(upload(Some(1), 0..10)).await);
    let (mut bob, _) = relay.login().await;
    for _ in 0..3 {
        bundle(bob.request(fetch(&alice.identity)).await);
    }
    assert_eq!(
        error_code(&bob.request(fetch(&alice.identity)).await),
        ErrorCode::RateLimited
    );
}
