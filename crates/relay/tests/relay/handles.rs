use missiva_proto::relay::{self, ErrorCode, client_frame::Body as C, server_frame::Body as S};
use missiva_relay::Limits;

use crate::support::*;

fn register(handle: &str) -> C {
    C::RegisterHandle(relay::RegisterHandle {
        handle: handle.into(),
    })
}

fn lookup(handle: &str) -> C {
    C::LookupHandle(relay::LookupHandle {
        handle: handle.into(),
    })
}

#[tokio::test]
async fn a_registered_handle_is_found_normalised() {
    let relay = TestRelay::with_limits(limits()).await;
    let (mut alice, _) = relay.login().await;
    let (mut bob, _) = relay.login().await;
    assert_ok(&alice.request(register("@Alice.W")).await);
    let found = bob.request(lookup("@ALICE.w")).await;
    let Some(S::HandleFound(found)) = found.body else {
        panic!("{found:?}")
    };
    assert_eq!(found.handle, "alice.w");
    assert_eq!(found.identity, alice.identity);
    // Registering the handle you own again is Ok.
    assert_ok(&alice.request(register("alice.w")).await);
}

#[tokio::test]
async fn a_taken_handle_is_refused_and_an_unknown_one_not_found() {
    let relay = TestRelay::with_limits(limits()).await;
    let (mut alice, _) = relay.login().await;
    let (mut bob, _) = relay.login().await;
    assert_ok(&alice.request(register("alice")).await);
    assert_eq!(
        error_code(&bob.request(register("@ALICE")).await),
        ErrorCode::HandleTaken
    );
    assert_eq!(
        error_code(&bob.request(lookup("nobody")).await),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn a_new_handle_replaces_the_old_one() {
    let relay = TestRelay::with_limits(limits()).await;
    let (mut alice, _) = relay.login().await;
    let (mut bob, _) = relay.login().await;
    assert_ok(&alice.request(register("alice")).await);
    assert_ok(&alice.request(register("alice2")).await);
    assert_eq!(
        error_code(&bob.request(lookup("alice")).await),
        ErrorCode::NotFound
    );
    assert_ok(&bob.request(register("alice")).await);
}

#[tokio::test]
async fn invalid_handles_are_refused() {
    let relay = TestRelay::with_limits(limits()).await;
    let (mut alice, _) = relay.login().await;
    for bad in ["ab", "has space", "ali-ce", "@", &"x".repeat(33)] {
        assert_eq!(
            error_code(&alice.request(register(bad)).await),
            ErrorCode::HandleInvalid
        );
        assert_eq!(
            error_code(&alice.request(lookup(bad)).await),
            ErrorCode::HandleInvalid
        );
    }
}

#[tokio::test]
async fn registrations_are_rate_limited_per_identity_and_per_address() {
    let relay = TestRelay::with_limits(Limits {
        handle_registrations_per_minute: 2,
        handle_registrations_per_minute_per_ip: 3,
        ..limits()
    })
    .await;
    let (mut alice, _) = relay.login().await;
    assert_ok(&alice.request(register("alice1")).await);
    assert_ok(&alice.request(register("alice2")).await);
    assert_eq!(
        error_code(&alice.request(register("alice3")).await),
        ErrorCode::RateLimited
    );
    // Another identity from the same address has one registration left.
    let (mut bob, _) = relay.login().await;
    assert_ok(&bob.request(register("bob1")).await);
    assert_eq!(
        error_code(&bob.request(register("bob2")).await),
        ErrorCode::RateLimited
    );
}
