use std::time::Duration;

use missiva_crypto::identity::IdentityKeyPair;
use missiva_proto::relay::{self, ErrorCode, client_frame::Body as C, server_frame::Body as S};

use crate::support::*;

#[tokio::test]
async fn a_signed_challenge_authenticates_and_reports_the_mailbox() {
    let relay = TestRelay::start().await;
    let mut client = relay.connect().await;
    assert_eq!(client.max_frame_bytes, 256 * 1024);
    let ok = client
        .auth(IdentityKeyPair::generate(&mut rand::rng()))
        .await;
    assert_eq!((ok.queued, ok.one_time_prekeys), (0, 0));
    // No prekeys at all is "low"; an empty mailbox is drained at once.
    assert!(matches!(
        client.push().await,
        S::PrekeysLow(relay::PrekeysLow { remaining: 0 })
    ));
    assert!(matches!(client.push().await, S::Drained(_)));
    assert_ok(&client.send_to(&client.identity.clone(), id(1), b"hi").await);
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_the_connection_closed() {
    let relay = TestRelay::start().await;
    let mut client = relay.connect().await;
    let key = IdentityKeyPair::generate(&mut rand::rng());
    let mut signature = Client::signature(&key, &client.nonce);
    signature[0] ^= 0x40;
    let reply = client
        .request(C::Auth(relay::Auth {
            identity: key.public().to_bytes().to_vec(),
            signature,
        }))
        .await;
    assert_eq!(error_code(&reply), ErrorCode::AuthFailed);
    assert_eq!(client.close_code().await, Some(1008));
}

#[tokio::test]
async fn a_signature_for_another_connections_nonce_is_refused() {
    let relay = TestRelay::start().await;
    let key = IdentityKeyPair::generate(&mut rand::rng());
    let first = relay.connect().await;
    let stolen = Client::signature(&key, &first.nonce);
    let mut second = relay.connect().await;
    assert_ne!(
        first.nonce, second.nonce,
        "a new nonce for every connection"
    );
    let reply = second
        .request(C::Auth(relay::Auth {
            identity: key.public().to_bytes().to_vec(),
            signature: stolen,
        }))
        .await;
    assert_eq!(error_code(&reply), ErrorCode::AuthFailed);
}

#[tokio::test]
async fn a_malformed_identity_fails_authentication() {
    let relay = TestRelay::start().await;
    let mut client = relay.connect().await;
    let reply = client
        .request(C::Auth(relay::Auth {
            identity: vec![7; 63],
            signature: vec![0; 64],
        }))
        .await;
    assert_eq!(error_code(&reply), ErrorCode::AuthFailed);
}

#[tokio::test]
async fn nothing_but_auth_and_ping_is_served_before_authentication() {
    let relay = TestRelay::start().await;
    let mut client = relay.connect().await;
    let someone = vec![1u8; 64];
    let requests = vec![
        C::RegisterHandle(relay::RegisterHandle {
            handle: "alice".into(),
        }),
        C::LookupHandle(relay::LookupHandle {
            handle: "alice".into(),
        }),
        C::UploadPrekeys(relay::UploadPrekeys {
            signed_prekey: None,
            one_time_prekeys: vec![relay::OneTimePrekey {
                id: 1,
                public_key: vec![1; 32],
            }],
        }),
        C::FetchBundle(relay::FetchBundle {
            identity: someone.clone(),
        }),
        send(&someone, id(1), b"x", false),
        send(&someone, id(1), b"x", true),
        C::Ack(relay::Ack {
            envelopes: vec![relay::AckedEnvelope {
                sender: someone.clone(),
                id: vec![1; 16],
            }],
        }),
    ];
    for request in requests {
        let reply = client.request(request).await;
        assert_eq!(error_code(&reply), ErrorCode::Unauthenticated);
    }
    let pong = client.request(C::Ping(relay::Ping {})).await;
    assert!(matches!(pong.body, Some(S::Pong(_))));
    // Still usable: authenticate now.
    client
        .auth(IdentityKeyPair::generate(&mut rand::rng()))
        .await;
}

#[tokio::test]
async fn an_identity_gets_a_limited_number_of_connections() {
    let relay = TestRelay::with_limits(missiva_relay::Limits {
        max_connections_per_identity: 2,
        ..limits()
    })
    .await;
    let key = IdentityKeyPair::generate(&mut rand::rng());
    let secret = key.to_bytes();
    let (_a, _) = relay
        .login_as(IdentityKeyPair::from_bytes(&*secret).unwrap())
        .await;
    let (b, _) = relay
        .login_as(IdentityKeyPair::from_bytes(&*secret).unwrap())
        .await;
    let mut third = relay.connect().await;
    let reply = third
        .request(C::Auth(relay::Auth {
            identity: key.public().to_bytes().to_vec(),
            signature: Client::signature(&key, &third.nonce),
        }))
        .await;
    assert_eq!(error_code(&reply), ErrorCode::TooManyConnections);
    drop(b);
    // The slot frees when a connection ends.
    let mut ok = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut again = relay.connect().await;
        let reply = again
            .request(C::Auth(relay::Auth {
                identity: key.public().to_bytes().to_vec(),
                signature: Client::signature(&key, &again.nonce),
            }))
            .await;
        if matches!(reply.body, Some(S::AuthOk(_))) {
            ok = true;
            break;
        }
    }
    assert!(ok, "a closed connection frees its slot");
}

#[tokio::test]
async fn an_unauthenticated_connection_times_out() {
    let relay = TestRelay::with_limits(missiva_relay::Limits {
        auth_timeout_secs: 1,
        ..limits()
    })
    .await;
    let mut client = relay.connect().await;
    assert_eq!(client.close_code().await, Some(1008));
}
