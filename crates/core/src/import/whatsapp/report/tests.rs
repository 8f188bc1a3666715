use std::collections::BTreeSet;

use time::macros::datetime;

use super::*;
use crate::import::whatsapp::ImportError;
use crate::import::whatsapp::model::{MediaKind, SystemEvent};

struct Files(BTreeSet<&'static str>);

impl MediaFiles for Files {
    fn has_media(&self, name: &str) -> bool {
        self.0.contains(name)
    }
    fn read_media(&self, _: &str) -> Result<Option<Vec<u8>>, ImportError> {
        Ok(None)
    }
}

fn detection(basis: DateOrderBasis, inconsistent: bool) -> Detection {
    Detection {
        family: Family::IosLegacy,
        date_order: DateOrder::MonthDayYear,
        date_order_basis: basis,
        date_order_inconsistent: inconsistent,
        hour12: true,
        crlf_records: false,
        header_lines: 0,
    }
}

fn entry(line: u64, t: PrimitiveDateTime, author: Option<&str>, kind: EntryKind) -> Parsed {
    Parsed::Entry(Entry {
        line,
        timestamp: t,
        author: author.map(Into::into),
        body: format!("line {line}").into(),
        kind,
        attachment: None,
        edited: false,
    })
}

fn media(line: u64, attachment: Option<&str>, omitted: bool) -> Parsed {
    let Parsed::Entry(mut e) = entry(
        line,
        datetime!(2020-01-01 10:00),
        Some("Bea"),
        EntryKind::Media {
            media: MediaKind::Image,
            omitted,
        },
    ) else {
        unreachable!()
    };
    e.attachment = attachment.map(str::to_owned);
    Parsed::Entry(e)
}

#[test]
fn counts_messages_events_media_participants_and_range() {
    let files = Files(["IMG-1.jpg"].into_iter().collect());
    let detected = detection(DateOrderBasis::FieldAbove12, false);
    let mut b = ReportBuilder::new(&files);
    let added = EntryKind::System {
        event: SystemEvent::Added,
    };
    b.add(&entry(1, datetime!(2020-03-05 08:00), None, added.clone()));
    b.add(&entry(
        2,
        datetime!(2020-03-05 09:00),
        Some("Zoe"),
        EntryKind::Text,
    ));
    // iOS attributes some events to an author: still an event, and the author still took part.
    b.add(&entry(3, datetime!(2020-03-05 09:30), Some("Adam"), added));
    // ...but the encryption notice is attributed to the group's name, not a person.
    b.add(&entry(
        4,
        datetime!(2020-03-05 08:00),
        Some("Trip"),
        EntryKind::System {
            event: SystemEvent::Encryption,
        },
    ));
    // Out of order: the earliest timestamp is not the first line.
    b.add(&entry(
        4,
        datetime!(2019-12-31 23:59),
        Some("Zoe"),
        EntryKind::Deleted,
    ));
    b.add(&media(5, Some("IMG-1.jpg"), false));
    b.add(&media(6, Some("IMG-2.jpg"), false));
    b.add(&media(7, None, true));
    let r = b.finish(&detected);
    assert_eq!((r.messages, r.system, r.other), (5, 3, 0));
    assert_eq!((r.media, r.media_found, r.media_missing), (3, 1, 2));
    assert_eq!(r.participants, vec!["Adam", "Bea", "Zoe"]);
    assert_eq!(r.first, Some(datetime!(2019-12-31 23:59)));
    assert_eq!(r.last, Some(datetime!(2020-03-05 09:30)));
    assert_eq!(r.warnings, vec![Warning::NotChronological]);
    assert_eq!(r.entries(), 8);
    assert!(!r.date_order_guessed);
}

#[test]
fn unparsed_lines_are_listed_up_to_the_cap_and_all_counted() {
    let files = Files(BTreeSet::new());
    let detected = detection(DateOrderBasis::Default, true);
    let mut b = ReportBuilder::new(&files);
    for line in 1..=(MAX_UNPARSED_LISTED as u64 + 5) {
        b.add(&Parsed::Unparsed(Unparsed {
            line,
            text: format!("junk {line}"),
        }));
    }
    let r = b.finish(&detected);
    assert_eq!(r.unparsed_lines.len(), MAX_UNPARSED_LISTED);
    assert_eq!(r.unparsed_lines[0].line, 1);
    assert_eq!(r.unparsed_total, MAX_UNPARSED_LISTED as u64 + 5);
    assert_eq!(
        r.warnings,
        vec![
            Warning::InconsistentDateOrder,
            Warning::DateOrderGuessed,
            Warning::UnparsedLines
        ]
    );
    assert!(r.date_order_guessed);
    assert_eq!((r.first, r.messages), (None, 0));
}

#[test]
fn the_report_serializes_with_the_cli_field_names() {
    let files = Files(BTreeSet::new());
    let detected = detection(DateOrderBasis::Format, false);
    let mut b = ReportBuilder::new(&files);
    b.add(&entry(
        1,
        datetime!(2016-07-04 21:05:09),
        Some("Al"),
        EntryKind::Text,
    ));
    let json = serde_json::to_value(b.finish(&detected)).unwrap();
    assert_eq!(json["format"], "ios-legacy");
    assert_eq!(json["date_order"], "mdy");
    assert_eq!(json["first"], "2016-07-04T21:05:09");
    assert_eq!(json["last"], "2016-07-04T21:05:09");
    assert_eq!(json["messages"], 1);
    assert_eq!(json["participants"], serde_json::json!(["Al"]));
    assert_eq!(json["unparsed_lines"], serde_json::json!([]));
    assert_eq!(json["warnings"], serde_json::json!([]));
}

#[test]
fn me_is_you_or_the_participant_the_chat_title_does_not_name() {
    let p = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(guess_me(&p(&["Anna", "You"]), None), Some("You".to_owned()));
    assert_eq!(
        guess_me(&p(&["Anna", "Marco"]), Some("Anna")),
        Some("Marco".to_owned())
    );
    assert_eq!(
        guess_me(&p(&["Anna", "Marco"]), Some("Marco")),
        Some("Anna".to_owned())
    );
    assert_eq!(guess_me(&p(&["Anna", "Marco"]), Some("Family")), None);
    assert_eq!(guess_me(&p(&["Anna", "Luca", "Marco"]), Some("Anna")), None);
    assert_eq!(guess_me(&p(&["Anna", "Marco"]), None), None);
}

#[test]
fn preview_entries_carry_the_kind_as_a_name() {
    let Parsed::Entry(e) = media(3, Some("IMG-1.jpg"), false) else {
        unreachable!()
    };
    let p = PreviewEntry::from(&e);
    assert_eq!(p.kind, "media");
    assert_eq!(p.timestamp, "2020-01-01T10:00:00");
    assert_eq!(p.attachment.as_deref(), Some("IMG-1.jpg"));
}
