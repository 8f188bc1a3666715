//! The group commands: create, add, remove, rename, admin, leave, show, list.

use anyhow::{Context as _, Result};
use clap::Subcommand;
use missiva_core::account::Account;
use missiva_core::contacts::ContactError;
use missiva_core::groups::GroupInfo;
use missiva_core::ids::{ChatId, ContactId};

use crate::messaging::{deliver, print_json};

/// How long a group command waits for the relay to take what it sends (a new group's first
/// snapshot needs a session with every member).
const GROUP_SYNC: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Subcommand)]
pub(crate) enum GroupCommand {
    /// Create a group with you as its admin and send it to its members.
    Create {
        /// The group's name.
        name: String,
        /// The members' handles, comma-separated (added as contacts first if needed).
        #[arg(long, value_delimiter = ',', required = true)]
        members: Vec<String>,
        /// Print the group as JSON (its `id` is what the other commands take).
        #[arg(long)]
        json: bool,
    },
    /// Add members (admins only).
    Add {
        /// The group's id (or its chat's id).
        group: String,
        /// The handles to add.
        #[arg(required = true)]
        handles: Vec<String>,
    },
    /// Remove a member (admins only); everyone's keys are replaced.
    Remove {
        /// The group's id (or its chat's id).
        group: String,
        /// The member's handle.
        handle: String,
    },
    /// Rename the group (admins only).
    Rename {
        /// The group's id (or its chat's id).
        group: String,
        /// The new name.
        name: String,
    },
    /// Make a member an admin, or with --revoke no longer one (admins only).
    Admin {
        /// The group's id (or its chat's id).
        group: String,
        /// The member's handle.
        handle: String,
        /// Take the admin rights away.
        #[arg(long)]
        revoke: bool,
    },
    /// Set the group's picture (PNG, JPEG or WebP, at most 64 KiB), or remove it (admins only).
    Avatar {
        /// The group's id (or its chat's id).
        group: String,
        /// The picture.
        #[arg(required_unless_present = "clear")]
        file: Option<std::path::PathBuf>,
        /// Remove the picture.
        #[arg(long, conflicts_with = "file")]
        clear: bool,
    },
    /// Leave the group.
    Leave {
        /// The group's id (or its chat's id).
        group: String,
    },
    /// Show a group and its members.
    Show {
        /// The group's id (or its chat's id).
        group: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the groups.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn run(account: &Account, cmd: GroupCommand) -> Result<()> {
    match cmd {
        GroupCommand::Create {
            name,
            members,
            json,
        } => {
            let mut ids = Vec::new();
            for handle in members.iter().filter(|h| !h.trim().is_empty()) {
                ids.push(contact(account, handle, true).await?);
            }
            let info = account.create_group(&name, ids).await?;
            deliver(account, GROUP_SYNC).await?;
            print(&info, json)
        }
        GroupCommand::Add { group, handles } => {
            let chat = group_chat(account, &group).await?;
            let mut ids = Vec::new();
            for handle in &handles {
                ids.push(contact(account, handle, true).await?);
            }
            let info = account.add_group_members(chat, ids).await?;
            deliver(account, GROUP_SYNC).await?;
            print(&info, false)
        }
        GroupCommand::Remove { group, handle } => {
            let chat = group_chat(account, &group).await?;
            let member = contact(account, &handle, false).await?;
            let info = account.remove_group_member(chat, member).await?;
            deliver(account, GROUP_SYNC).await?;
            print(&info, false)
        }
        GroupCommand::Rename { group, name } => {
            let chat = group_chat(account, &group).await?;
            let info = account.rename_group(chat, &name).await?;
            deliver(account, GROUP_SYNC).await?;
            print(&info, false)
        }
        GroupCommand::Admin {
            group,
            handle,
            revoke,
        } => {
            let chat = group_chat(account, &group).await?;
            let member = contact(account, &handle, false).await?;
            let info = account.set_group_admin(chat, member, !revoke).await?;
            deliver(account, GROUP_SYNC).await?;
            print(&info, false)
        }
        GroupCommand::Avatar { group, file, .. } => {
            let chat = group_chat(account, &group).await?;
            let picture = match file {
                Some(path) => Some(
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
                ),
                None => None,
            };
            let info = account.set_group_avatar(chat, picture).await?;
            deliver(account, GROUP_SYNC).await?;
            print(&info, false)
        }
        GroupCommand::Leave { group } => {
            let chat = group_chat(account, &group).await?;
            let info = account.leave_group(chat).await?;
            deliver(account, GROUP_SYNC).await?;
            print(&info, false)
        }
        GroupCommand::Show { group, json } => {
            let chat = group_chat(account, &group).await?;
            print(&account.group(chat).await?, json)
        }
        GroupCommand::List { json } => {
            let list = account.groups().await?;
            if json {
                return print_json(&list);
            }
            for g in &list {
                let left = if g.member { "" } else { " (left)" };
                println!("{}  {}  {} members{left}", g.id, g.name, g.members.len());
            }
            Ok(())
        }
    }
}

/// The chat of a group given by its id (32 hex characters) or its chat's id.
pub(crate) async fn group_chat(account: &Account, group: &str) -> Result<ChatId> {
    if let Ok(id) = group.parse::<i64>() {
        return Ok(account.group(ChatId(id)).await?.chat);
    }
    Ok(account.group_by_id(group).await?.chat)
}

/// The contact `handle`, added first when `add` and not known yet.
async fn contact(account: &Account, handle: &str, add: bool) -> Result<ContactId> {
    match account.contact_by_handle(handle).await {
        Ok(c) => Ok(c.id),
        Err(ContactError::NotFound { .. }) if add => Ok(account
            .add_contact(handle)
            .await
            .with_context(|| format!("adding {handle} as a contact"))?
            .id),
        Err(e) => Err(e.into()),
    }
}

fn print(info: &GroupInfo, json: bool) -> Result<()> {
    if json {
        return print_json(info);
    }
    println!("{}  {}", info.id, info.name);
    for m in &info.members {
        let role = if m.admin { " (admin)" } else { "" };
        let me = if m.me { " (you)" } else { "" };
        println!("  @{}{role}{me}", m.handle);
    }
    if !info.member {
        println!("  you are no longer a member");
    }
    Ok(())
}
