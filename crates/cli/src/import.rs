//! `import FILE`: a WhatsApp chat export (`.txt` or `.zip`) into a chat, or with `--dry-run`
//! only what it holds (touching no account).
//!
//! `--dry-run --json` prints one object: `format` (`android|ios|ios-legacy|web`), `date_order`
//! (`dmy|mdy|ymd`) with `date_order_basis` and `date_order_guessed`, `messages` (authored
//! messages), `system` (system events), `other`, `media`, `media_found`, `media_missing`,
//! `participants` (sorted names), `first` and `last` (RFC 3339 local time without an offset,
//! null for an export without messages), `unparsed_lines` (an array of `{line, text}`, the
//! first 100) with `unparsed_total` (all of them), `warnings`, `chat_title` and `guessed_me`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use missiva_core::account::Account;
use missiva_core::import::whatsapp::apply::{self, ImportOptions, Progress, Summary, Target};
use missiva_core::import::whatsapp::archive::Source;
use missiva_core::import::whatsapp::model::DateOrder;
use missiva_core::import::whatsapp::report::{Report, local_rfc3339};

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The export: the `.txt` WhatsApp wrote, or the `.zip` with its media.
    file: PathBuf,
    /// Only detect and count; touch no account.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The order of the date fields, when the detected one is wrong: dmy, mdy or ymd.
    #[arg(long, value_parser = parse_date_order, value_name = "dmy|mdy|ymd")]
    date_order: Option<DateOrder>,
    /// The author, as the export writes it, whose messages are this account's.
    #[arg(long, value_name = "NAME")]
    me: Option<String>,
    /// Where to import: a contact's chat (@handle) or a new chat (new).
    #[arg(long, value_name = "@handle|new", required_unless_present = "dry_run")]
    into: Option<String>,
    /// The title of a new chat (default: the chat's name from the export's file name).
    #[arg(long)]
    title: Option<String>,
    /// Print a progress line on stderr after every batch.
    #[arg(long)]
    progress: bool,
}

fn parse_date_order(s: &str) -> Result<DateOrder, String> {
    match s.to_ascii_lowercase().as_str() {
        "dmy" => Ok(DateOrder::DayMonthYear),
        "mdy" => Ok(DateOrder::MonthDayYear),
        "ymd" => Ok(DateOrder::YearMonthDay),
        other => Err(format!(
            "\"{other}\" is not a date order: use dmy, mdy or ymd"
        )),
    }
}

fn open(file: &Path) -> Result<Source> {
    Source::open(file).with_context(|| format!("{} cannot be imported", file.display()))
}

/// `import FILE --dry-run`: what the export holds, without any account.
pub(crate) fn dry_run(args: &ImportArgs) -> Result<()> {
    let source = open(&args.file)?;
    let preview = apply::preview(&source, args.date_order)
        .with_context(|| format!("{} cannot be imported", args.file.display()))?;
    if args.json {
        let mut value = serde_json::to_value(&preview.report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("chat_title".into(), preview.chat_title.clone().into());
            object.insert("guessed_me".into(), preview.guessed_me.clone().into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_report(&preview.report);
        if let Some(title) = &preview.chat_title {
            println!("chat:          {title}");
        }
        if let Some(me) = &preview.guessed_me {
            println!("probably you:  {me}");
        }
    }
    Ok(())
}

/// `import FILE --into …`: the export into `account`; Ctrl-C cancels, leaving nothing visible.
pub(crate) async fn run(account: &Account, args: ImportArgs) -> Result<()> {
    let source = open(&args.file)?;
    let into = args.into.as_deref().unwrap_or("new");
    let target = if into == "new" {
        let title = args
            .title
            .clone()
            .or_else(|| source.chat_title())
            .or_else(|| {
                args.file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "WhatsApp chat".to_owned());
        Target::NewChat { title }
    } else if into.starts_with('@') {
        let contact = account
            .contact_by_handle(into)
            .await
            .with_context(|| format!("{into} is not a contact; add it with: contact add {into}"))?;
        Target::Contact(contact.id)
    } else {
        bail!("--into takes @handle or new, not \"{into}\"");
    };
    let options = ImportOptions {
        me: args.me.clone(),
        target,
        date_order: args.date_order,
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let on_signal = Arc::clone(&cancel);
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("cancelling the import…");
            on_signal.store(true, Ordering::Relaxed);
        }
    });
    let account = account.clone();
    let show_progress = args.progress;
    let summary = tokio::task::spawn_blocking(move || -> Result<Summary> {
        let mut progress = |p: Progress| {
            if show_progress {
                eprintln!(
                    "progress: {} entries, {}/{} bytes",
                    p.entries_done, p.bytes_done, p.bytes_total
                );
            }
        };
        apply::import(&account, &source, &options, &mut progress, &cancel).map_err(|e| anyhow!(e))
    })
    .await
    .context("the import task failed")?;
    watcher.abort();
    let summary = summary.with_context(|| format!("importing {}", args.file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_report(&summary.report);
        println!(
            "imported into chat {}: {} added, {} already there, {} media stored{}",
            summary.chat,
            summary.added,
            summary.already_there,
            summary.media_stored,
            if summary.resumed {
                " (continued an interrupted import)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn print_report(r: &Report) {
    let guessed = if r.date_order_guessed {
        " (guessed: check it)"
    } else {
        ""
    };
    println!("format:        {}", r.format.as_str());
    println!("date order:    {}{guessed}", r.date_order.as_str());
    println!("messages:      {}", r.messages);
    println!("system events: {}", r.system);
    println!(
        "media:         {} ({} found, {} missing)",
        r.media, r.media_found, r.media_missing
    );
    println!("participants:  {}", r.participants.join(", "));
    if let (Some(first), Some(last)) = (r.first, r.last) {
        println!(
            "dates:         {} to {}",
            local_rfc3339(first),
            local_rfc3339(last)
        );
    }
    if r.unparsed_total > 0 {
        println!("not understood: {} lines", r.unparsed_total);
        for u in &r.unparsed_lines {
            println!("  line {}: {}", u.line, u.text);
        }
    }
    for w in &r.warnings {
        if let Ok(serde_json::Value::String(name)) = serde_json::to_value(w) {
            println!("warning:       {name}");
        }
    }
}
