//! Polls through the real `missiva-cli` binary: two data folders and a relay on 127.0.0.1:0;
//! a public poll and an anonymous quiz, votes from both, `poll show` the same on both sides.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod relay;

use common::{cli, ok, ok_json, shared, show_poll as show, sync};
use relay::Relay;
use serde_json::{Value, json};

#[test]
fn a_public_poll_and_an_anonymous_quiz_show_the_same_on_both_sides() {
    let tmp = tempfile::tempdir().unwrap();
    let (anna, bea) = (tmp.path().join("anna"), tmp.path().join("bea"));
    let mut relay = Relay::start(&tmp.path().join("relay.db"), "127.0.0.1:0".parse().unwrap());
    let url = relay.url();
    ok(
        &anna,
        &[
            "account", "create", "Anna", "--relay", &url, "--handle", "anna",
        ],
    );
    ok(
        &bea,
        &[
            "account", "create", "Bea", "--relay", &url, "--handle", "bea",
        ],
    );
    ok(&anna, &["contact", "add", "@bea"]);

    // A public multiple-choice poll.
    let created = ok_json(
        &anna,
        &[
            "poll",
            "create",
            "--chat",
            "@bea",
            "--question",
            "Which days?",
            "--option",
            "Mon",
            "--option",
            "Tue",
            "--option",
            "Wed",
            "--multiple",
            "--json",
        ],
    );
    let public = created["id"].as_str().unwrap().to_owned();
    sync(&bea);
    ok(
        &bea,
        &["poll", "vote", &public, "--option", "0", "--option", "2"],
    );
    ok(&anna, &["poll", "vote", &public, "--option", "2"]);
    sync(&anna);
    sync(&bea);
    let (a, b) = (show(&anna, &public), show(&bea, &public));
    assert_eq!(shared(&a), shared(&b));
    assert_eq!(a["options"][2]["votes"], 2);
    assert_eq!(a["options"][2]["voters"], json!(["anna", "bea"]));
    assert_eq!(b["own_choice"], json!([0, 2]));

    // Bea takes hers back; Anna closes; a late vote is refused with a clear error.
    ok(&bea, &["poll", "retract", &public]);
    sync(&anna);
    ok(&anna, &["poll", "close", &public]);
    sync(&bea);
    let (a, b) = (show(&anna, &public), show(&bea, &public));
    assert_eq!(shared(&a), shared(&b));
    assert_eq!(a["closed"], true);
    assert_eq!(a["options"][0]["votes"], 0);
    let late = cli(&bea, &["poll", "vote", &public, "--option", "1"]);
    assert!(!late.status.success());
    assert!(String::from_utf8_lossy(&late.stderr).contains("the poll is closed"));

    // An anonymous quiz: Bea's answer goes to Anna only; both see the same counts, no names.
    let quiz = ok_json(
        &anna,
        &[
            "poll",
            "create",
            "--chat",
            "@bea",
            "--question",
            "2 + 2?",
            "--option",
            "3",
            "--option",
            "4",
            "--anonymous",
            "--quiz",
            "1",
            "--explanation",
            "Basic sums.",
            "--json",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sync(&bea);
    let before = show(&bea, &quiz);
    assert_eq!(before["correct"], Value::Null, "hidden until Bea answers");
    ok(&bea, &["poll", "vote", &quiz, "--option", "0"]);
    let after = show(&bea, &quiz);
    assert_eq!(after["correct"], 1);
    assert_eq!(after["explanation"], "Basic sums.");
    ok(&anna, &["poll", "vote", &quiz, "--option", "1"]);
    sync(&anna);
    // Anna's count after Bea's vote reached her is published; Bea fetches it.
    ok(&anna, &["sync", "--timeout", "20"]);
    sync(&bea);
    let (a, b) = (show(&anna, &quiz), show(&bea, &quiz));
    assert_eq!(shared(&a), shared(&b));
    assert_eq!(
        a["options"],
        json!([{"text": "3", "votes": 1}, {"text": "4", "votes": 1}])
    );
    assert_eq!(a["anonymous"], true);

    // A bad poll is refused before anything is sent.
    let bad = cli(
        &anna,
        &[
            "poll",
            "create",
            "--chat",
            "@bea",
            "--question",
            "Q",
            "--option",
            "only one",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("2 to 12 options"));
    relay.stop();
}
