//! [`Body`]: shared or owned, it reads, compares and prints as its text.

use std::sync::Arc;

use super::Body;

#[test]
fn a_body_reads_the_same_shared_or_owned() {
    let text = Arc::new("ab\ncd\r\nef é".to_owned());
    let mut body = Body::shared(&text, 0..2);
    assert!(body.is_shared());
    assert_eq!(body, "ab");
    assert_eq!(body, Body::from("ab"));
    assert_eq!(format!("{body:?}"), format!("{:?}", "ab"));
    assert_eq!(body.to_string(), "ab");

    // The next line, after a bare `\n`, is taken in place.
    assert!(body.extend_over(&text, 3, 5));
    assert!(body.is_shared());
    assert_eq!(body, "ab\ncd");
    // After `\r\n` it is not (the joined body has `\n` alone), nor from another text, nor a
    // line that does not start right after the body.
    assert!(!body.extend_over(&text, 7, 9));
    let copy = Arc::new(text.as_str().to_owned());
    assert!(!Body::shared(&copy, 0..2).extend_over(&text, 3, 5));
    assert!(!Body::shared(&text, 0..2).extend_over(&text, 4, 5));
    // Nor to the middle of a character.
    let accent = Arc::new("ab\né".to_owned());
    assert!(!Body::shared(&accent, 0..2).extend_over(&accent, 3, 4));
    assert!(Body::shared(&accent, 0..2).extend_over(&accent, 3, 5));

    body.push_line("ef");
    assert!(!body.is_shared());
    assert_eq!(body, "ab\ncd\nef");
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        serde_json::to_string("ab\ncd\nef").unwrap()
    );

    let mut cut = Body::shared(&text, 0..12);
    assert_eq!(cut, "ab\ncd\r\nef é");
    cut.truncate(5);
    assert!(cut.is_shared());
    assert_eq!(cut, "ab\ncd");
    assert_eq!(cut.clone().into_string(), "ab\ncd");

    // A range off the text, or inside a character, gives an empty body.
    assert_eq!(Body::shared(&text, 3..50), "");
    assert_eq!(Body::shared(&text, 11..12), "");
    assert_eq!(Body::default(), "");
}

/// An entry is moved from a parsing worker to the consumer for every message: the rare kinds
/// with many fields are boxed to keep it small.
#[test]
fn an_entry_stays_small() {
    let size = size_of::<super::Entry>();
    println!("an entry is {size} bytes");
    assert!(size <= 128, "an entry is {size} bytes");
}
