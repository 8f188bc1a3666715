//! `missiva-cli`: the headless Missiva client. Its interface is stable: tests and scripts use it.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use missiva_core::account::AccountInfo;
use missiva_core::accounts::{AccountSetup, Accounts, OpenOptions};
use missiva_core::ids::AccountId;
use missiva_core::keystore::KeystoreKind;
use missiva_core::secret::Passcode;

mod groups;
mod import;
mod messaging;
mod polls;

/// Missiva from the command line: the same data folder and accounts as the app.
#[derive(Debug, Parser)]
#[command(name = "missiva-cli", version, about)]
struct Cli {
    /// The data folder (default: the platform data folder).
    #[arg(long, global = true, env = "MISSIVA_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where new accounts keep their database key: "os" (system keychain) or "file".
    #[arg(long, global = true, env = "MISSIVA_KEYSTORE", default_value = "os")]
    keystore: KeystoreKind,
    /// The app passcode, if the data folder has one (read from the environment only).
    #[arg(long, env = "MISSIVA_PASSCODE", hide = true, hide_env_values = true)]
    passcode: Option<String>,
    /// The account to use, by name or id (default: the only one, or the selected one).
    #[arg(long, global = true, env = "MISSIVA_ACCOUNT", value_name = "NAME|ID")]
    account: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, list, rename, remove and select accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Set or clear the app passcode that wraps every account's key.
    #[command(subcommand)]
    Passcode(PasscodeCommand),
    /// Add a contact.
    #[command(subcommand)]
    Contact(messaging::ContactCommand),
    /// List the contacts.
    Contacts {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Send a message; returns once the relay has it (or says it stays pending).
    Send(messaging::SendArgs),
    /// List the chats, the most recent first.
    Chats {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show the messages of the chat with a contact, oldest first.
    Messages(messaging::MessagesArgs),
    /// Connect once: send what is pending, receive until the relay is drained, then exit.
    Sync {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stay connected (every account) and print every event until interrupted.
    Listen {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Import a WhatsApp chat export (.txt or .zip), or with --dry-run only describe it.
    Import(import::ImportArgs),
    /// Create polls, vote, retract, close, and show the results.
    #[command(subcommand)]
    Poll(polls::PollCommand),
    /// Create groups, add and remove members, rename, leave, show.
    #[command(subcommand)]
    Group(groups::GroupCommand),
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account with its own encrypted database (and, with a relay and a handle,
    /// register the handle there).
    Create {
        /// The account's display name.
        #[arg(value_name = "NAME", required_unless_present = "name_flag")]
        name: Option<String>,
        /// The account's display name (same as NAME).
        #[arg(long = "name", value_name = "NAME", conflicts_with = "name")]
        name_flag: Option<String>,
        /// The relay address (ws:// or wss://).
        #[arg(long)]
        relay: Option<String>,
        /// The handle to register on the relay.
        #[arg(long, requires = "relay")]
        handle: Option<String>,
        /// Print the new account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the accounts.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Rename an account.
    Rename {
        /// The account's id.
        id: AccountId,
        /// The new name.
        name: String,
        /// Print the renamed account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an account and delete its data from this computer.
    Remove {
        /// The account's id.
        id: AccountId,
    },
    /// Make an account the selected one.
    Select {
        /// The account's id.
        id: AccountId,
    },
}

#[derive(Debug, Subcommand)]
enum PasscodeCommand {
    /// Set or change the passcode; the new one is read from MISSIVA_NEW_PASSCODE or stdin.
    Set,
    /// Remove the passcode.
    Clear,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MISSIVA_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("missiva-cli: error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("missiva-cli: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    // A dry run reads only the file: no data folder, no account.
    if let Command::Import(args) = &cli.command
        && args.dry_run
    {
        return import::dry_run(args);
    }
    let dir = match cli.data_dir {
        Some(d) => d,
        None => Accounts::default_dir()?,
    };
    let options = OpenOptions {
        keystore: cli.keystore,
        passcode: cli.passcode.map(Passcode::new),
        ..OpenOptions::default()
    };
    let mut accounts = Accounts::open(&dir, options)?;
    let chosen = cli.account.as_deref();
    match cli.command {
        Command::Account(cmd) => account(&mut accounts, cmd).await,
        Command::Passcode(PasscodeCommand::Set) => {
            let new = read_new_passcode()?;
            accounts.set_passcode(Some(&new))?;
            eprintln!("passcode set");
            Ok(())
        }
        Command::Passcode(PasscodeCommand::Clear) => {
            accounts.set_passcode(None)?;
            eprintln!("passcode removed");
            Ok(())
        }
        Command::Contact(cmd) => {
            let account = messaging::choose(&mut accounts, chosen)?;
            messaging::contact(&account, cmd).await
        }
        Command::Contacts { json } => {
            let account = messaging::choose(&mut accounts, chosen)?;
            messaging::contacts(&account, json).await
        }
        Command::Send(args) => {
            let account = messaging::choose(&mut accounts, chosen)?;
            messaging::send(&account, args).await
        }
        Command::Chats { json } => {
            let account = messaging::choose(&mut accounts, chosen)?;
            messaging::chats(&account, json).await
        }
        Command::Messages(args) => {
            let account = messaging::choose(&mut accounts, chosen)?;
            messaging::messages(&account, args).await
        }
        Command::Sync { timeout, json } => {
            let account = messaging::choose(&mut accounts, chosen)?;
            messaging::sync(&account, timeout, json).await
        }
        Command::Listen { json } => messaging::listen(&mut accounts, json).await,
        Command::Import(args) => {
            let account = messaging::choose(&mut accounts, chosen)?;
            import::run(&account, args).await
        }
        Command::Poll(cmd) => {
            let account = messaging::choose(&mut accounts, chosen)?;
            polls::run(&account, cmd).await
        }
        Command::Group(cmd) => {
            let account = messaging::choose(&mut accounts, chosen)?;
            groups::run(&account, cmd).await
        }
    }
}

async fn account(accounts: &mut Accounts, cmd: AccountCommand) -> Result<()> {
    match cmd {
        AccountCommand::Create {
            name,
            name_flag,
            relay,
            handle,
            json,
        } => {
            let setup = AccountSetup {
                name: name.or(name_flag).unwrap_or_default(),
                relay,
                handle,
            };
            let info = accounts.create(setup).await?;
            print_one(&info, json)
        }
        AccountCommand::List { json } => {
            let list = accounts.list();
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                eprintln!("no accounts; create one with: missiva-cli account create NAME");
            } else {
                for info in &list {
                    println!("{}", line(info));
                }
            }
            Ok(())
        }
        AccountCommand::Rename { id, name, json } => {
            let info = accounts.rename(id, &name)?;
            print_one(&info, json)
        }
        AccountCommand::Remove { id } => {
            let name = accounts.info_of(id)?.name;
            accounts.remove(id)?;
            eprintln!("removed account {id} ({name})");
            Ok(())
        }
        AccountCommand::Select { id } => {
            accounts.select(id)?;
            Ok(())
        }
    }
}

fn print_one(info: &AccountInfo, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(info)?);
    } else {
        println!("{}", line(info));
    }
    Ok(())
}

fn line(info: &AccountInfo) -> String {
    let mut s = format!(
        "{} {:>3}  {}",
        if info.selected { "*" } else { " " },
        info.id,
        info.name
    );
    if let Some(handle) = &info.handle {
        s.push_str(&format!("  @{handle}"));
    }
    if let Some(relay) = &info.relay {
        s.push_str(&format!("  relay {relay}"));
    }
    if info.keystore == KeystoreKind::File {
        s.push_str("  [file keystore]");
    }
    s
}

fn read_new_passcode() -> Result<Passcode> {
    if let Ok(p) = std::env::var("MISSIVA_NEW_PASSCODE") {
        return Ok(Passcode::new(p));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("new passcode: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the new passcode from stdin")?;
    Ok(Passcode::new(line.trim_end_matches(['\r', '\n'])))
}
