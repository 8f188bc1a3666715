use bytes::Bytes;
use missiva_proto::relay::{self, ClientFrame, ErrorCode, client_frame::Body};
use missiva_proto::{Message, client_frame};

use super::*;

fn parse_frame(frame: &ClientFrame) -> Result<(u64, Request), Rejection> {
    parse(&Bytes::from(frame.encode_to_vec()), 1024)
}

fn code(result: Result<(u64, Request), Rejection>) -> (u64, ErrorCode) {
    let rejection = result.unwrap_err();
    (rejection.request_id, rejection.code)
}

#[test]
fn a_well_formed_send_becomes_a_request() {
    let frame = client_frame(
        4,
        Body::Send(relay::Send {
            recipient: vec![1; 64],
            envelope_id: vec![2; 16],
            content: b"c".to_vec(),
            ephemeral: true,
        }),
    );
    let (id, request) = parse_frame(&frame).unwrap();
    assert_eq!(id, 4);
    let Request::Send {
        recipient,
        id,
        content,
        ephemeral,
    } = request
    else {
        panic!()
    };
    assert_eq!(recipient.as_bytes(), &[1; 64]);
    assert_eq!(id.as_bytes(), &[2; 16]);
    assert_eq!(&content[..], b"c");
    assert!(ephemeral);
}

#[test]
fn undecodable_wrong_version_and_oversized_bytes_have_their_own_codes() {
    assert_eq!(
        code(parse(&Bytes::from_static(&[0xff, 0xff]), 1024)),
        (0, ErrorCode::BadFrame)
    );
    let mut frame = client_frame(1, Body::Ping(relay::Ping {}));
    frame.version = 0;
    assert_eq!(
        code(parse_frame(&frame)),
        (0, ErrorCode::UnsupportedVersion)
    );
    assert_eq!(
        code(parse(&Bytes::from(vec![0u8; 1025]), 1024)),
        (0, ErrorCode::FrameTooLarge)
    );
    let empty = ClientFrame {
        version: 1,
        request_id: 3,
        body: None,
    };
    assert_eq!(code(parse_frame(&empty)), (3, ErrorCode::UnknownFrame));
}

#[test]
fn wrong_field_lengths_are_bad_requests_echoing_the_id() {
    let cases = [
        Body::Send(relay::Send {
            recipient: vec![1; 63],
            envelope_id: vec![2; 16],
            content: vec![1],
            ephemeral: false,
        }),
        Body::Send(relay::Send {
            recipient: vec![1; 64],
            envelope_id: vec![2; 17],
            content: vec![1],
            ephemeral: false,
        }),
        Body::Send(relay::Send {
            recipient: vec![1; 64],
            envelope_id: vec![2; 16],
            content: vec![],
            ephemeral: false,
        }),
        Body::FetchBundle(relay::FetchBundle { identity: vec![] }),
        Body::Ack(relay::Ack { envelopes: vec![] }),
        Body::Ack(relay::Ack {
            envelopes: vec![relay::AckedEnvelope {
                sender: vec![1; 64],
                id: vec![1; 3],
            }],
        }),
        Body::UploadPrekeys(relay::UploadPrekeys {
            signed_prekey: None,
            one_time_prekeys: vec![],
        }),
        Body::UploadPrekeys(relay::UploadPrekeys {
            signed_prekey: Some(relay::SignedPrekey {
                id: 1,
                public_key: vec![1; 32],
                signature: vec![1; 63],
            }),
            one_time_prekeys: vec![],
        }),
    ];
    for body in cases {
        assert_eq!(
            code(parse_frame(&client_frame(8, body))),
            (8, ErrorCode::BadRequest)
        );
    }
}

#[test]
fn bad_auth_fields_fail_authentication_and_bad_handles_are_invalid() {
    let auth = Body::Auth(relay::Auth {
        identity: vec![1; 64],
        signature: vec![1; 12],
    });
    assert_eq!(
        code(parse_frame(&client_frame(2, auth))),
        (2, ErrorCode::AuthFailed)
    );
    let register = Body::RegisterHandle(relay::RegisterHandle {
        handle: "a!".into(),
    });
    assert_eq!(
        code(parse_frame(&client_frame(2, register))),
        (2, ErrorCode::HandleInvalid)
    );
}

#[test]
fn only_auth_and_ping_are_allowed_before_authentication() {
    let ping = parse_frame(&client_frame(1, Body::Ping(relay::Ping {})))
        .unwrap()
        .1;
    assert!(!ping.needs_auth());
    let lookup = Body::LookupHandle(relay::LookupHandle {
        handle: "bob".into(),
    });
    assert!(
        parse_frame(&client_frame(1, lookup))
            .unwrap()
            .1
            .needs_auth()
    );
}
