//! A new account's setup: validated, given its keys and, with a relay and a handle, registered
//! there before anything is written locally.

use missiva_proto::relay::{self, client_frame, server_frame};

use super::{AccountsError, validate_name, validate_relay};
use crate::identity::{self, AccountKeys};
use crate::sync::{RelayConnection, SyncError};

/// What a new account is made of. With both `relay` and `handle`, creating it registers the
/// handle and uploads its prekeys first.
#[derive(Debug, Clone, Default)]
pub struct AccountSetup {
    /// The account's display name.
    pub name: String,
    /// The relay address (ws:// or wss://).
    pub relay: Option<String>,
    /// The handle to register on the relay (with or without '@').
    pub handle: Option<String>,
}

/// A new account's keys, already registered on its relay when it has a handle: what
/// [`Accounts::create_prepared`] stores. Holds secrets; `Debug` shows none.
#[derive(Debug)]
pub struct PreparedAccount {
    pub(super) name: String,
    pub(super) relay: Option<String>,
    pub(super) handle: Option<String>,
    pub(super) keys: AccountKeys,
    pub(super) uploaded: bool,
}

impl AccountSetup {
    /// A local account without a relay.
    pub fn local(name: &str) -> Self {
        AccountSetup {
            name: name.to_owned(),
            relay: None,
            handle: None,
        }
    }

    /// Validates the setup and generates the keys, without the network.
    pub(super) fn prepare_offline(self) -> Result<PreparedAccount, AccountsError> {
        let name = validate_name(&self.name)?;
        let relay = self.relay.as_deref().map(validate_relay).transpose()?;
        let handle = self
            .handle
            .as_deref()
            .map(|h| {
                let n = identity::normalise_handle(h);
                if identity::is_valid_handle(&n) {
                    Ok(n)
                } else {
                    Err(AccountsError::InvalidHandle {
                        handle: h.to_owned(),
                    })
                }
            })
            .transpose()?;
        if handle.is_some() && relay.is_none() {
            return Err(AccountsError::HandleWithoutRelay);
        }
        Ok(PreparedAccount {
            name,
            relay,
            handle,
            keys: AccountKeys::generate(),
            uploaded: false,
        })
    }

    /// The network half of creating an account: validates, generates the keys and, with a
    /// relay and a handle, uploads the prekeys and registers the handle. Nothing is written
    /// locally, so a taken handle leaves nothing behind. Needs no `&mut Accounts`: callers
    /// holding the accounts behind a lock call this first, then
    /// [`Accounts::create_prepared`].
    pub async fn prepare(self) -> Result<PreparedAccount, AccountsError> {
        let mut prepared = self.prepare_offline()?;
        if let (Some(relay), Some(handle)) = (&prepared.relay, &prepared.handle) {
            register(relay, handle, &prepared.keys).await?;
            prepared.uploaded = true;
        }
        Ok(prepared)
    }
}

/// Uploads the new account's prekeys, then claims its handle.
async fn register(relay: &str, handle: &str, keys: &AccountKeys) -> Result<(), AccountsError> {
    let failed = |e: SyncError| AccountsError::Registration(e);
    let mut conn = RelayConnection::connect(relay, &keys.identity)
        .await
        .map_err(|e| failed(e.into()))?;
    let requests = [
        client_frame::Body::UploadPrekeys(keys.upload()),
        client_frame::Body::RegisterHandle(relay::RegisterHandle {
            handle: handle.to_owned(),
        }),
    ];
    for body in requests {
        match conn.request(body).await.map_err(|e| failed(e.into()))? {
            server_frame::Body::Ok(_) => {}
            server_frame::Body::Error(e) if e.code == relay::ErrorCode::HandleTaken as i32 => {
                return Err(AccountsError::HandleTaken {
                    handle: handle.to_owned(),
                });
            }
            server_frame::Body::Error(e) if e.code == relay::ErrorCode::HandleInvalid as i32 => {
                return Err(AccountsError::InvalidHandle {
                    handle: handle.to_owned(),
                });
            }
            server_frame::Body::Error(e) => return Err(failed(SyncError::relay(&e))),
            _ => return Err(failed(SyncError::UnexpectedReply)),
        }
    }
    conn.close().await;
    tracing::info!(public = ?keys.public(), "handle registered");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prepared_account_prints_no_secret() {
        let prepared = AccountSetup::local("Work").prepare_offline().unwrap();
        let secret = hex::encode(prepared.keys.identity.to_bytes().as_slice());
        let shown = format!("{prepared:?} {prepared:#?}");
        assert!(!shown.contains(&secret[..16]), "{shown}");
        assert!(!shown.contains(&secret[64..80]), "{shown}");
    }

    #[test]
    fn a_handle_needs_a_relay_and_must_be_valid() {
        let setup = |relay: Option<&str>, handle: &str| AccountSetup {
            name: "A".to_owned(),
            relay: relay.map(str::to_owned),
            handle: Some(handle.to_owned()),
        };
        assert!(matches!(
            setup(None, "anna").prepare_offline(),
            Err(AccountsError::HandleWithoutRelay)
        ));
        assert!(matches!(
            setup(Some("ws://x"), "a-b").prepare_offline(),
            Err(AccountsError::InvalidHandle { .. })
        ));
        let ok = setup(Some("ws://x"), "@Anna").prepare_offline().unwrap();
        assert_eq!(ok.handle.as_deref(), Some("anna"));
    }
}
