//! Turning a binary WebSocket message into a checked [`Request`], or into the error reply it
//! deserves. Pure (no I/O), so it is what the fuzz target drives.

use bytes::Bytes;
use missiva_proto::relay::{ErrorCode, client_frame::Body};
use missiva_proto::{DecodeError, decode_client_frame};

use crate::handle::Handle;
use crate::identity::{EnvelopeId, Identity};
use crate::storage::{OneTimePrekey, SignedPrekey};

/// A client request whose fields have the right shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Prove an identity by signing the challenge.
    Auth {
        /// The claimed identity.
        identity: Identity,
        /// 64 bytes of Ed25519 signature.
        signature: [u8; 64],
    },
    /// Bind a handle to the authenticated identity.
    RegisterHandle(Handle),
    /// Find the identity behind a handle.
    LookupHandle(Handle),
    /// Replace the signed prekey and/or add one-time prekeys.
    UploadPrekeys {
        /// The new signed prekey, if any.
        signed: Option<SignedPrekey>,
        /// One-time prekeys to add.
        one_time: Vec<OneTimePrekey>,
    },
    /// Get an identity's prekey bundle.
    FetchBundle(Identity),
    /// Store (or, ephemeral, just push) an envelope.
    Send {
        /// Whose mailbox.
        recipient: Identity,
        /// The sender's id for it.
        id: EnvelopeId,
        /// Opaque ciphertext.
        content: Bytes,
        /// Push only, never store.
        ephemeral: bool,
    },
    /// Delete envelopes from the authenticated identity's mailbox.
    Ack(Vec<(Identity, EnvelopeId)>),
    /// Keep-alive.
    Ping,
}

impl Request {
    /// Whether the request may only be made after `AuthOk`.
    pub fn needs_auth(&self) -> bool {
        !matches!(self, Request::Auth { .. } | Request::Ping)
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Auth { .. } => "auth",
            Request::RegisterHandle(_) => "register_handle",
            Request::LookupHandle(_) => "lookup_handle",
            Request::UploadPrekeys { .. } => "upload_prekeys",
            Request::FetchBundle(_) => "fetch_bundle",
            Request::Send { .. } => "send",
            Request::Ack(_) => "ack",
            Request::Ping => "ping",
        }
    }
}

/// Why a frame gets an error reply instead of being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The request id to echo (0 when the frame could not be read).
    pub request_id: u64,
    /// The error code.
    pub code: ErrorCode,
    /// For humans and logs; never contains frame contents.
    pub message: &'static str,
}

impl Rejection {
    fn new(request_id: u64, code: ErrorCode, message: &'static str) -> Self {
        Rejection {
            request_id,
            code,
            message,
        }
    }

    /// The error frame to send.
    pub fn to_frame(&self) -> missiva_proto::relay::ServerFrame {
        missiva_proto::error_frame(self.request_id, self.code, self.message)
    }
}

/// The most envelopes one `Ack` may name.
pub const MAX_ACKS_PER_FRAME: usize = 4096;

/// Decodes and checks one frame of at most `limit` bytes.
pub fn parse(bytes: &Bytes, limit: usize) -> Result<(u64, Request), Rejection> {
    let frame = match decode_client_frame(bytes, limit) {
        Ok(frame) => frame,
        Err(DecodeError::TooLarge { .. }) => {
            return Err(Rejection::new(
                0,
                ErrorCode::FrameTooLarge,
                "frame too large",
            ));
        }
        Err(DecodeError::UnsupportedVersion(_)) => {
            return Err(Rejection::new(
                0,
                ErrorCode::UnsupportedVersion,
                "unsupported protocol version",
            ));
        }
        Err(_) => return Err(Rejection::new(0, ErrorCode::BadFrame, "not a frame")),
    };
    let id = frame.request_id;
    let Some(body) = frame.body else {
        return Err(Rejection::new(
            id,
            ErrorCode::UnknownFrame,
            "missing or unknown body",
        ));
    };
    if id == 0 {
        return Err(Rejection::new(
            id,
            ErrorCode::BadRequest,
            "request_id must be non-zero",
        ));
    }
    let bad = |message| Rejection::new(id, ErrorCode::BadRequest, message);
    let request = match body {
        Body::Auth(auth) => {
            let failed = || Rejection::new(id, ErrorCode::AuthFailed, "bad identity or signature");
            let identity = Identity::from_slice(&auth.identity).ok_or_else(failed)?;
            let signature = auth.signature.as_slice().try_into().map_err(|_| failed())?;
            Request::Auth {
                identity,
                signature,
            }
        }
        Body::RegisterHandle(r) => Request::RegisterHandle(parse_handle(id, &r.handle)?),
        Body::LookupHandle(l) => Request::LookupHandle(parse_handle(id, &l.handle)?),
        Body::UploadPrekeys(upload) => {
            let signed = match upload.signed_prekey {
                None => None,
                Some(s) => Some(SignedPrekey {
                    id: s.id,
                    public_key: key32(&s.public_key)
                        .ok_or_else(|| bad("public_key must be 32 bytes"))?,
                    signature: s
                        .signature
                        .as_slice()
                        .try_into()
                        .map_err(|_| bad("signature must be 64 bytes"))?,
                }),
            };
            let one_time = upload
                .one_time_prekeys
                .iter()
                .map(|k| {
                    Some(OneTimePrekey {
                        id: k.id,
                        public_key: key32(&k.public_key)?,
                    })
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("public_key must be 32 bytes"))?;
            if signed.is_none() && one_time.is_empty() {
                return Err(bad("nothing to upload"));
            }
            Request::UploadPrekeys { signed, one_time }
        }
        Body::FetchBundle(f) => Request::FetchBundle(
            Identity::from_slice(&f.identity).ok_or_else(|| bad("identity must be 64 bytes"))?,
        ),
        Body::Send(send) => {
            let recipient = Identity::from_slice(&send.recipient)
                .ok_or_else(|| bad("recipient must be 64 bytes"))?;
            let envelope_id = EnvelopeId::from_slice(&send.envelope_id)
                .ok_or_else(|| bad("envelope_id must be 16 bytes"))?;
            if send.content.is_empty() {
                return Err(bad("content must not be empty"));
            }
            Request::Send {
                recipient,
                id: envelope_id,
                content: Bytes::from(send.content),
                ephemeral: send.ephemeral,
            }
        }
        Body::Ack(ack) => {
            if ack.envelopes.is_empty() {
                return Err(bad("nothing to acknowledge"));
            }
            if ack.envelopes.len() > MAX_ACKS_PER_FRAME {
                return Err(bad("too many envelopes in one ack"));
            }
            let keys = ack
                .envelopes
                .iter()
                .map(|e| {
                    Some((
                        Identity::from_slice(&e.sender)?,
                        EnvelopeId::from_slice(&e.id)?,
                    ))
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("sender must be 64 bytes and id 16"))?;
            Request::Ack(keys)
        }
        Body::Ping(_) => Request::Ping,
    };
    Ok((id, request))
}

/// What the relay does with one binary message: [`parse`] it, then refuse anything but `Auth` and
/// `Ping` before authentication. `Err` is the error frame to send back.
pub fn admit(
    bytes: &Bytes,
    limit: usize,
    authenticated: bool,
) -> Result<(u64, Request), Rejection> {
    let (request_id, request) = parse(bytes, limit)?;
    if !authenticated && request.needs_auth() {
        return Err(Rejection::new(
            request_id,
            ErrorCode::Unauthenticated,
            "authenticate first",
        ));
    }
    Ok((request_id, request))
}

fn parse_handle(id: u64, raw: &str) -> Result<Handle, Rejection> {
    Handle::parse(raw).map_err(|_| {
        Rejection::new(
            id,
            ErrorCode::HandleInvalid,
            "a handle is 3 to 32 of a-z, 0-9, '_' and '.'",
        )
    })
}

fn key32(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests;
