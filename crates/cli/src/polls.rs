//! The poll commands: create, vote, retract, close, show.

use std::time::Duration;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use missiva_core::account::Account;
use missiva_core::ids::MessageId;
use missiva_core::messages::PollView;
use missiva_core::polls::PollSetup;
use serde::Serialize;

use crate::messaging::{chat_arg, deliver, print_json};

/// How long a poll command waits for the relay to take what it sends.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Subcommand)]
pub(crate) enum PollCommand {
    /// Create a poll in a chat and send it.
    Create(CreateArgs),
    /// Vote (or change your vote): one --option, or several in a multiple-choice poll.
    Vote {
        /// The poll's id (as `poll create --json` prints it).
        poll: MessageId,
        /// An option's index, from 0.
        #[arg(long = "option", required = true)]
        options: Vec<u32>,
    },
    /// Take your vote back.
    Retract {
        /// The poll's id.
        poll: MessageId,
    },
    /// Close a poll you created: no more votes.
    Close {
        /// The poll's id.
        poll: MessageId,
    },
    /// Show a poll and its results.
    Show {
        /// The poll's id.
        poll: MessageId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The chat: a contact's @handle or a chat id.
    #[arg(long)]
    chat: String,
    /// The question.
    #[arg(long)]
    question: String,
    /// An option (2 to 12, in order).
    #[arg(long = "option", required = true)]
    options: Vec<String>,
    /// Several options may be chosen.
    #[arg(long)]
    multiple: bool,
    /// Votes go only to you, the creator; the others see counts.
    #[arg(long)]
    anonymous: bool,
    /// Quiz mode: the index (from 0) of the correct option.
    #[arg(long, value_name = "INDEX")]
    quiz: Option<u32>,
    /// Quiz mode: shown to a voter after they answer.
    #[arg(long, requires = "quiz")]
    explanation: Option<String>,
    /// Closes by itself at this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    closes_at: Option<String>,
    /// Results are hidden until the poll closes.
    #[arg(long)]
    hide_results: bool,
    /// Votes are final: no changing, no retracting.
    #[arg(long = "final")]
    no_revote: bool,
    /// Print the new poll's id as JSON.
    #[arg(long)]
    json: bool,
}

/// A poll as `poll show --json` prints it (a stable, snake_case script interface).
#[derive(Debug, Serialize)]
struct PollOut {
    id: String,
    chat: i64,
    question: String,
    options: Vec<OptionOut>,
    closed: bool,
    multiple: bool,
    anonymous: bool,
    quiz: bool,
    correct: Option<u32>,
    explanation: Option<String>,
    mine: bool,
    own_choice: Vec<u32>,
    voters: Option<u32>,
}

#[derive(Debug, Serialize)]
struct OptionOut {
    text: String,
    votes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    voters: Option<Vec<String>>,
}

pub(crate) async fn run(account: &Account, cmd: PollCommand) -> Result<()> {
    match cmd {
        PollCommand::Create(args) => create(account, args).await,
        PollCommand::Vote { poll, options } => {
            account.vote(poll, options).await?;
            deliver(account, SYNC_TIMEOUT).await
        }
        PollCommand::Retract { poll } => {
            account.retract_vote(poll).await?;
            deliver(account, SYNC_TIMEOUT).await
        }
        PollCommand::Close { poll } => {
            account.close_poll(poll).await?;
            deliver(account, SYNC_TIMEOUT).await
        }
        PollCommand::Show { poll, json } => show(account, poll, json).await,
    }
}

async fn create(account: &Account, args: CreateArgs) -> Result<()> {
    let chat = chat_arg(account, &args.chat).await?;
    let setup = PollSetup {
        question: args.question,
        options: args.options,
        multiple: args.multiple,
        anonymous: args.anonymous,
        quiz_correct: args.quiz,
        explanation: args.explanation.unwrap_or_default(),
        closes_at: args.closes_at,
        hide_results: args.hide_results,
        no_revote: args.no_revote,
    };
    let poll = account.create_poll(chat, setup).await?;
    deliver(account, SYNC_TIMEOUT).await?;
    if args.json {
        print_json(&serde_json::json!({ "id": poll.id.to_string(), "chat": chat.0 }))
    } else {
        println!("{}", poll.id);
        Ok(())
    }
}

async fn show(account: &Account, id: MessageId, json: bool) -> Result<()> {
    let message = account.poll(id).await?;
    let Some(PollView {
        question,
        options,
        closed,
        live,
    }) = message.poll
    else {
        bail!("message {id} is not a poll");
    };
    let live = live.unwrap_or_default();
    let out = PollOut {
        id: id.to_string(),
        chat: message.chat.0,
        question,
        options: options
            .into_iter()
            .map(|o| OptionOut {
                text: o.text,
                votes: o.votes,
                voters: o.voters,
            })
            .collect(),
        closed,
        multiple: live.multiple,
        anonymous: live.anonymous,
        quiz: live.quiz,
        correct: live.correct,
        explanation: live.explanation,
        mine: live.mine,
        own_choice: live.own_choice,
        voters: live.voters,
    };
    if json {
        return print_json(&out);
    }
    let state = if out.closed { "closed" } else { "open" };
    println!("{} ({state})", out.question);
    for (i, o) in out.options.iter().enumerate() {
        let votes = o.votes.map_or("?".to_owned(), |v| v.to_string());
        let mark = if out
            .own_choice
            .contains(&u32::try_from(i).unwrap_or(u32::MAX))
        {
            "*"
        } else {
            " "
        };
        let correct = if out.correct == Some(u32::try_from(i).unwrap_or(u32::MAX)) {
            " (correct)"
        } else {
            ""
        };
        let who = o
            .voters
            .as_ref()
            .map(|v| {
                format!(
                    "  {}",
                    v.iter()
                        .map(|h| format!("@{h}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            })
            .unwrap_or_default();
        println!("{mark} {i}. {}{correct}: {votes}{who}", o.text);
    }
    Ok(())
}
