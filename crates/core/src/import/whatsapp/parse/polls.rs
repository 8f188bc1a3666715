//! Polls (`whatsapp-format.md` §4.3): mobile `POLL:` / `OPTION: text (N votes)` lines and the
//! WhatsApp Web `Poll: QUESTION` with `    - option` lines.

use super::super::model::{EntryKind, Poll, PollOption};
use super::body::Classified;

/// `OPTION: text (N votes)`.
fn poll_option(line: &str) -> PollOption {
    let text = line.trim();
    if let Some(open) = text.rfind(" (") {
        let inside = text.get(open + 2..).unwrap_or_default();
        if let Some(inside) = inside.strip_suffix(')') {
            let mut parts = inside.splitn(2, ' ');
            let count = parts.next().and_then(|n| n.parse::<u32>().ok());
            let word = parts.next().unwrap_or_default();
            if let Some(votes) = count
                .filter(|_| word.eq_ignore_ascii_case("vote") || word.eq_ignore_ascii_case("votes"))
            {
                return PollOption {
                    text: text.get(..open).unwrap_or_default().to_owned(),
                    votes: Some(votes),
                };
            }
        }
    }
    PollOption {
        text: text.to_owned(),
        votes: None,
    }
}

pub(super) fn mobile_poll(rest: Option<&str>) -> Classified {
    let mut question: Vec<&str> = Vec::new();
    let mut options = Vec::new();
    for line in rest.unwrap_or_default().split('\n') {
        let line = line.trim_end_matches('\r');
        if let Some(option) = line.trim_start().strip_prefix("OPTION:") {
            options.push(poll_option(option));
        } else if options.is_empty() && !(question.is_empty() && line.trim().is_empty()) {
            question.push(line);
        }
    }
    let question = question.join("\n").trim().to_owned();
    poll(question, options)
}

pub(super) fn web_poll(question: &str, rest: Option<&str>) -> Classified {
    let mut options = Vec::new();
    let mut extra: Vec<&str> = Vec::new();
    for line in rest.unwrap_or_default().split('\n') {
        match line.trim_start().strip_prefix("- ") {
            Some(option) if line.starts_with(' ') => options.push(PollOption {
                text: option.trim().to_owned(),
                votes: None,
            }),
            _ if options.is_empty() => extra.push(line),
            _ => {}
        }
    }
    let mut question = question.trim().to_owned();
    for line in extra {
        question.push('\n');
        question.push_str(line);
    }
    let question = question.trim_end().to_owned();
    poll(question, options)
}

/// A poll entry: its text is the question.
fn poll(question: String, options: Vec<PollOption>) -> Classified {
    Classified {
        kind: EntryKind::Poll(Box::new(Poll {
            question: question.clone(),
            options,
        })),
        body: question.into(),
        attachment: None,
        edited: false,
    }
}
