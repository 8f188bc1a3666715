//! The messaging commands: contacts, send, chats, messages, sync, listen.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use missiva_core::account::Account;
use missiva_core::accounts::Accounts;
use missiva_core::contacts::{ContactError, ContactInfo};
use missiva_core::ids::{AccountId, ChatId};
use missiva_core::messages::{MessageState, MessageView};
use missiva_core::sync::SyncError;
use serde::Serialize;

/// How long `send` waits for the relay.
const SEND_TIMEOUT_SECS: u64 = 30;

#[derive(Debug, Subcommand)]
pub(crate) enum ContactCommand {
    /// Look a handle up on the relay, verify their keys and start a session.
    Add {
        /// Their handle (@name or name).
        handle: String,
        /// Print the contact as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The recipient's handle (added as a contact first if needed), or a group's id.
    handle: String,
    /// The text.
    text: String,
    /// Print the message as JSON.
    #[arg(long)]
    json: bool,
    /// How long to wait for the relay, in seconds.
    #[arg(long, default_value_t = SEND_TIMEOUT_SECS)]
    timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct MessagesArgs {
    /// The contact's @handle, or a chat's id (as `chats` and `import` print it).
    chat: String,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// At most this many, the newest.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// A message as the CLI prints it (a stable, snake_case script interface).
#[derive(Debug, Serialize)]
struct MessageOut {
    id: String,
    chat: i64,
    sender: Option<String>,
    outgoing: bool,
    kind: String,
    text: String,
    sent_at: String,
    received_at: String,
    state: MessageState,
    imported: bool,
    /// The author's name as an imported history writes it.
    author: Option<String>,
    /// The names of its attached files.
    attachments: Vec<String>,
}

impl From<MessageView> for MessageOut {
    fn from(m: MessageView) -> Self {
        MessageOut {
            id: m.id.to_string(),
            chat: m.chat.0,
            sender: m.sender,
            outgoing: m.outgoing,
            kind: m.kind,
            text: m.text,
            sent_at: m.sent_at,
            received_at: m.received_at,
            state: m.state,
            imported: m.imported,
            author: m.author,
            attachments: m.attachments.into_iter().map(|a| a.name).collect(),
        }
    }
}

/// The account `--account` names (by name or id), else the only one, else the selected one.
pub(crate) fn choose(accounts: &mut Accounts, chosen: Option<&str>) -> Result<Account> {
    let list = accounts.list();
    let id = match chosen {
        Some(want) => {
            let by_id = want.parse::<AccountId>().ok();
            let matches: Vec<_> = list
                .iter()
                .filter(|a| Some(a.id) == by_id || a.name == want)
                .collect();
            match matches.as_slice() {
                [one] => one.id,
                [] => bail!("there is no account \"{want}\""),
                _ => bail!("several accounts are called \"{want}\"; use its id"),
            }
        }
        None => match (list.as_slice(), accounts.selected()) {
            ([one], _) => one.id,
            ([], _) => bail!("no accounts; create one with: missiva-cli account create NAME"),
            (_, Some(selected)) => selected,
            (_, None) => bail!("several accounts and none selected: pass --account NAME"),
        },
    };
    Ok(accounts.account(id)?)
}

pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn contact_line(c: &ContactInfo) -> String {
    let mut s = format!("@{}  {}", c.handle, c.safety_number);
    if c.identity_changed {
        s.push_str("  [identity changed]");
    }
    s
}

pub(crate) async fn contact(account: &Account, cmd: ContactCommand) -> Result<()> {
    match cmd {
        ContactCommand::Add { handle, json } => {
            let contact = account.add_contact(&handle).await?;
            if json {
                print_json(&contact)
            } else {
                println!("{}", contact_line(&contact));
                Ok(())
            }
        }
    }
}

pub(crate) async fn contacts(account: &Account, json: bool) -> Result<()> {
    let list = account.contacts().await?;
    if json {
        return print_json(&list);
    }
    for c in &list {
        println!("{}", contact_line(c));
    }
    Ok(())
}

/// A group's id: 32 hex characters (a handle has at most 32, but a leading '@' or a letter
/// past 'f' tells them apart; an all-hex handle of 32 characters is taken as a group id).
pub(crate) fn is_group_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) async fn send(account: &Account, args: SendArgs) -> Result<()> {
    let chat = if is_group_id(&args.handle) {
        account.group_by_id(&args.handle).await?.chat
    } else {
        let contact = match account.contact_by_handle(&args.handle).await {
            Ok(c) => c,
            Err(ContactError::NotFound { .. }) => account
                .add_contact(&args.handle)
                .await
                .with_context(|| format!("adding {} as a contact", args.handle))?,
            Err(e) => return Err(e.into()),
        };
        account.chat_for_contact(contact.id).await?
    };
    let message = account.send(chat, &args.text).await?;
    let delivered = account.sync_once(Duration::from_secs(args.timeout)).await;
    let message = account.message(message.id).await?;
    match delivered {
        Ok(_) if message.state != MessageState::Pending => {}
        Ok(_) => eprintln!(
            "the relay did not take the message in time: it stays pending and the next send or \
             sync delivers it"
        ),
        Err(e @ (SyncError::Connection(_) | SyncError::Timeout)) => {
            eprintln!("{e}: the message stays pending and the next send or sync delivers it")
        }
        Err(e) => return Err(e.into()),
    }
    if args.json {
        print_json(&MessageOut::from(message))
    } else {
        println!("{}", message.id);
        Ok(())
    }
}

pub(crate) async fn chats(account: &Account, json: bool) -> Result<()> {
    let list = account.chats().await?;
    if json {
        return print_json(&list);
    }
    for c in &list {
        let last = c.last_message.as_ref().map_or("", |m| m.text.as_str());
        let unread = if c.unread > 0 {
            format!(" ({} unread)", c.unread)
        } else {
            String::new()
        };
        println!("{:>4}  {}{}  {}", c.id, c.title, unread, last);
    }
    Ok(())
}

/// A chat named by its id or by the @handle of the contact it is with.
pub(crate) async fn chat_arg(account: &Account, chat: &str) -> Result<ChatId> {
    Ok(match chat.parse::<i64>() {
        Ok(id) => ChatId(id),
        Err(_) if is_group_id(chat) => account.group_by_id(chat).await?.chat,
        Err(_) => {
            let contact = account.contact_by_handle(chat).await?;
            account.chat_for_contact(contact.id).await?
        }
    })
}

pub(crate) async fn messages(account: &Account, args: MessagesArgs) -> Result<()> {
    let chat = chat_arg(account, &args.chat).await?;
    let page = account.messages(chat, None, args.limit).await?;
    if args.json {
        let out: Vec<MessageOut> = page.into_iter().map(MessageOut::from).collect();
        return print_json(&out);
    }
    for m in page {
        let who = match (&m.sender, &m.author, m.kind.as_str()) {
            (_, _, "system") => "--".to_owned(),
            (Some(h), _, _) => format!("@{h}"),
            (None, Some(author), _) => author.clone(),
            (None, None, _) => "me".to_owned(),
        };
        let files: Vec<String> = m
            .attachments
            .iter()
            .map(|a| format!(" <{}>", a.name))
            .collect();
        let state = if m.imported {
            "imported"
        } else {
            m.state.as_str()
        };
        println!(
            "{}  {}: {}{}  [{state}]",
            m.sent_at,
            who,
            m.text,
            files.concat()
        );
    }
    Ok(())
}

pub(crate) async fn sync(account: &Account, timeout: u64, json: bool) -> Result<()> {
    let summary = account.sync_once(Duration::from_secs(timeout)).await?;
    if json {
        return print_json(&summary);
    }
    println!(
        "received {}, sent {}, pending {}{}",
        summary.received,
        summary.sent,
        summary.pending,
        if summary.timed_out {
            " (timed out)"
        } else {
            ""
        }
    );
    Ok(())
}

pub(crate) async fn listen(accounts: &mut Accounts, json: bool) -> Result<()> {
    let mut events = accounts.events().subscribe();
    accounts.start_sync()?;
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { return Ok(()) };
                if json {
                    println!("{}", serde_json::to_string(&event)?);
                } else {
                    let account = event.account.map_or("-".to_owned(), |a| a.to_string());
                    println!("{account} {:?}", event.kind);
                }
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Sends what a command queued, waiting at most `timeout`; what the relay cannot take now stays
/// queued for the next command or sync (said on stderr).
pub(crate) async fn deliver(account: &Account, timeout: Duration) -> Result<()> {
    match account.sync_once(timeout).await {
        Ok(_) => Ok(()),
        Err(e @ (SyncError::Connection(_) | SyncError::Timeout)) => {
            eprintln!("{e}: it stays queued and the next command or sync sends it");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
