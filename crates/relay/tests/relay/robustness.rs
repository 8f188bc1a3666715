use std::time::Duration;

use missiva_proto::relay::{self, ErrorCode, client_frame::Body as C, server_frame::Body as S};
use missiva_proto::{Message, client_frame};
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::support::*;

async fn assert_alive(client: &mut Client) {
    let pong = client.request(C::Ping(relay::Ping {})).await;
    assert!(matches!(pong.body, Some(S::Pong(_))), "{pong:?}");
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_stays_usable() {
    let relay = TestRelay::start().await;
    let (mut client, _) = relay.login().await;
    client.drain().await;
    let mut wrong_version = client_frame(5, C::Ping(relay::Ping {}));
    wrong_version.version = 2;
    let no_body = relay::ClientFrame {
        version: 1,
        request_id: 6,
        body: None,
    };
    // Field 99: a body kind this relay does not know.
    let mut unknown = relay::ClientFrame {
        version: 1,
        request_id: 7,
        body: None,
    }
    .encode_to_vec();
    unknown.extend_from_slice(&[0x9a, 0x06, 0x01, 0x00]);
    let cases: Vec<(Vec<u8>, ErrorCode, u64)> = vec![
        (vec![0xff, 0xff, 0xff, 0xff], ErrorCode::BadFrame, 0),
        (b"\x0a\xff\x01garbage".to_vec(), ErrorCode::BadFrame, 0),
        (
            wrong_version.encode_to_vec(),
            ErrorCode::UnsupportedVersion,
            0,
        ),
        (no_body.encode_to_vec(), ErrorCode::UnknownFrame, 6),
        (unknown, ErrorCode::UnknownFrame, 7),
        (
            client_frame(0, C::Ping(relay::Ping {})).encode_to_vec(),
            ErrorCode::BadRequest,
            0,
        ),
        (
            client_frame(9, send(&[1; 64], id(1), b"", false)).encode_to_vec(),
            ErrorCode::BadRequest,
            9,
        ),
    ];
    for (bytes, code, request_id) in cases {
        client.send_bytes(bytes).await;
        let reply = client.next().await.unwrap();
        assert_eq!(reply.request_id, request_id);
        assert_eq!(error_code(&reply), code);
        assert_alive(&mut client).await;
    }
    client.send_ws(Ws::Text("hello".into())).await;
    assert_eq!(
        error_code(&client.next().await.unwrap()),
        ErrorCode::BadFrame
    );
    assert_alive(&mut client).await;
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains("missiva_relay_frames_rejected_total{reason=\"BAD_FRAME\"} 3\n"),
        "{metrics}"
    );
    assert!(metrics.contains("missiva_relay_frames_rejected_total{reason=\"UNKNOWN_FRAME\"} 2\n"));
}

#[tokio::test]
async fn a_frame_just_over_the_limit_is_refused_and_the_connection_survives() {
    let relay = TestRelay::start().await;
    let (mut client, _) = relay.login().await;
    client.drain().await;
    let limit = client.max_frame_bytes as usize;
    let frame = client_frame(3, send(&[1; 64], id(1), &vec![0u8; limit], false)).encode_to_vec();
    assert!(frame.len() > limit);
    client.send_bytes(frame).await;
    let reply = client.next().await.unwrap();
    assert_eq!(error_code(&reply), ErrorCode::FrameTooLarge);
    assert_alive(&mut client).await;
    // Just under the limit is fine.
    let content = vec![0u8; limit - 200];
    assert_ok(&client.send_to(&[1; 64], id(2), &content).await);
}

#[tokio::test]
async fn a_huge_frame_is_refused_with_1009_and_the_relay_keeps_serving() {
    let relay = TestRelay::start().await;
    let (mut client, _) = relay.login().await;
    client.drain().await;
    // The relay may close while the frame is still being written.
    let _ = client.try_send_bytes(vec![0u8; 4 * 1024 * 1024]).await;
    let frame = client.next().await;
    if let Some(frame) = frame {
        assert_eq!(error_code(&frame), ErrorCode::FrameTooLarge);
        // 1009, unless the socket was reset while the client was still writing.
        let code = client.close_code().await;
        assert!(matches!(code, None | Some(1009)), "{code:?}");
    }
    let (mut other, _) = relay.login().await;
    assert_alive(&mut other).await;
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let relay = TestRelay::start().await;
    assert_eq!(http_get(relay.addr, "/health").await, "ok");
    let (_client, _) = relay.login().await;
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains("missiva_relay_connections 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("missiva_relay_authenticated_connections 1\n"));
    assert!(metrics.contains("# TYPE missiva_relay_envelopes_delivered_total counter"));
}

#[tokio::test]
async fn shutdown_closes_every_websocket_with_going_away() {
    let relay = TestRelay::start().await;
    let (mut a, _) = relay.login().await;
    let mut b = relay.connect().await;
    let stopping = tokio::spawn(relay.stop());
    assert_eq!(a.close_code().await, Some(1001));
    assert_eq!(b.close_code().await, Some(1001));
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .unwrap()
        .unwrap();
}
