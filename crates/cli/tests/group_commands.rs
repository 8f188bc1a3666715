//! Groups through the real `missiva-cli` binary: three data folders and a relay on 127.0.0.1:0;
//! a group, messages, a public poll and an anonymous quiz with votes from all three, `poll show`
//! the same everywhere; then a member removed who no longer receives.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

mod common;
mod relay;

use common::{cli, ok, ok_json, shared, show_poll as show, sync};
use relay::Relay;
use serde_json::{Value, json};

/// A 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x78, 0xe0, 0xe0, 0x00,
    0x00, 0x03, 0x64, 0x01, 0x61, 0x34, 0xe9, 0x83, 0xc3, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

fn texts(dir: &Path, group: &str) -> Vec<String> {
    ok_json(dir, &["messages", group, "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn three_accounts_share_a_group_a_public_poll_and_an_anonymous_quiz() {
    let tmp = tempfile::tempdir().unwrap();
    let names = ["anna", "bea", "cleo"];
    let dirs: Vec<_> = names.iter().map(|n| tmp.path().join(n)).collect();
    let (anna, bea, cleo) = (&dirs[0], &dirs[1], &dirs[2]);
    let mut relay = Relay::start(&tmp.path().join("relay.db"), "127.0.0.1:0".parse().unwrap());
    let url = relay.url();
    for (dir, name) in dirs.iter().zip(names) {
        ok(
            dir,
            &["account", "create", name, "--relay", &url, "--handle", name],
        );
    }
    let group = ok_json(
        anna,
        &[
            "group",
            "create",
            "Trip",
            "--members",
            "@bea,@cleo",
            "--json",
        ],
    );
    let id = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["members"].as_array().unwrap().len(), 3);
    sync(bea);
    sync(cleo);
    for dir in [bea, cleo] {
        let g = ok_json(dir, &["group", "show", &id, "--json"]);
        assert_eq!(g["name"], "Trip");
        assert_eq!(g["members"].as_array().unwrap().len(), 3);
    }
    // A picture for the group: the others get it with the next sync.
    let png = tmp.path().join("group.png");
    std::fs::write(&png, PNG).unwrap();
    ok(anna, &["group", "avatar", &id, png.to_str().unwrap()]);
    let bad = tmp.path().join("group.txt");
    std::fs::write(&bad, "not a picture").unwrap();
    let refused = cli(anna, &["group", "avatar", &id, bad.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("PNG, JPEG or WebP"));
    ok(bea, &["send", &id, "hi all"]);
    sync(anna);
    sync(cleo);
    for dir in [anna, cleo] {
        assert!(texts(dir, &id).contains(&"hi all".to_owned()));
    }
    assert_eq!(
        ok_json(cleo, &["group", "show", &id, "--json"])["avatar"],
        true
    );

    // A public poll: three votes, the same results and voters everywhere.
    let public = ok_json(
        anna,
        &[
            "poll",
            "create",
            "--chat",
            &id,
            "--question",
            "Where to?",
            "--option",
            "Sea",
            "--option",
            "Mountains",
            "--json",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sync(bea);
    sync(cleo);
    ok(anna, &["poll", "vote", &public, "--option", "0"]);
    ok(bea, &["poll", "vote", &public, "--option", "1"]);
    ok(cleo, &["poll", "vote", &public, "--option", "1"]);
    for dir in [anna, bea, cleo, anna, bea] {
        sync(dir);
    }
    let seen: Vec<Value> = dirs.iter().map(|d| show(d, &public)).collect();
    assert_eq!(shared(&seen[0]), shared(&seen[1]));
    assert_eq!(shared(&seen[0]), shared(&seen[2]));
    assert_eq!(
        seen[0]["options"],
        json!([
            {"text": "Sea", "votes": 1, "voters": ["anna"]},
            {"text": "Mountains", "votes": 2, "voters": ["bea", "cleo"]}
        ])
    );

    // An anonymous quiz: votes go to Anna alone, who publishes the counts.
    let quiz = ok_json(
        anna,
        &[
            "poll",
            "create",
            "--chat",
            &id,
            "--question",
            "Highest peak?",
            "--option",
            "Mont Blanc",
            "--option",
            "Matterhorn",
            "--anonymous",
            "--quiz",
            "0",
            "--explanation",
            "4,806 m",
            "--json",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sync(bea);
    sync(cleo);
    ok(bea, &["poll", "vote", &quiz, "--option", "0"]);
    ok(cleo, &["poll", "vote", &quiz, "--option", "1"]);
    ok(anna, &["poll", "vote", &quiz, "--option", "0"]);
    sync(anna);
    sync(anna);
    sync(bea);
    sync(cleo);
    let seen: Vec<Value> = dirs.iter().map(|d| show(d, &quiz)).collect();
    assert_eq!(shared(&seen[0]), shared(&seen[1]));
    assert_eq!(shared(&seen[0]), shared(&seen[2]));
    assert_eq!(
        seen[0]["options"],
        json!([{"text": "Mont Blanc", "votes": 2}, {"text": "Matterhorn", "votes": 1}])
    );
    assert_eq!(seen[2]["correct"], 0);
    assert_eq!(seen[2]["explanation"], "4,806 m");

    // Cleo is removed: she is told, and what follows reaches Bea only.
    let refused = cli(cleo, &["group", "remove", &id, "@bea"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only the group's admins"));
    ok(anna, &["group", "remove", &id, "@cleo"]);
    ok(anna, &["send", &id, "just the two of us"]);
    sync(bea);
    sync(cleo);
    assert!(texts(bea, &id).contains(&"just the two of us".to_owned()));
    let cleo_texts = texts(cleo, &id);
    assert!(!cleo_texts.contains(&"just the two of us".to_owned()));
    assert!(cleo_texts.contains(&"@anna removed you".to_owned()));
    let g = ok_json(cleo, &["group", "show", &id, "--json"]);
    assert_eq!(g["member"], false);
    let late = cli(cleo, &["send", &id, "hello?"]);
    assert!(!late.status.success());
    assert!(String::from_utf8_lossy(&late.stderr).contains("no longer a member"));
    relay.stop();
}
