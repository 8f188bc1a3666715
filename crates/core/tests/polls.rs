//! Polls in a 1:1 chat between two cores through a real relay: public and anonymous, quiz,
//! changing and retracting votes, closing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Client, TestRelay, eventually};
use missiva_core::ids::{ChatId, MessageId};
use missiva_core::messages::PollView;
use missiva_core::polls::{PollError, PollSetup};

fn setup(question: &str) -> PollSetup {
    PollSetup {
        question: question.to_owned(),
        options: vec!["Pizza".into(), "Sushi".into(), "Ramen".into()],
        ..PollSetup::default()
    }
}

async fn chat_with(client: &Client, handle: &str) -> ChatId {
    let contact = match client.account.contact_by_handle(handle).await {
        Ok(c) => c,
        Err(_) => client.account.add_contact(handle).await.unwrap(),
    };
    client.account.chat_for_contact(contact.id).await.unwrap()
}

async fn poll_of(client: &Client, poll: MessageId) -> Option<PollView> {
    client.account.poll(poll).await.ok()?.poll
}

fn votes(p: &PollView) -> Vec<Option<u32>> {
    p.options.iter().map(|o| o.votes).collect()
}

/// Waits until `client` sees `poll` with `expected` votes per option.
async fn until_votes(client: &Client, poll: MessageId, expected: &[Option<u32>]) -> PollView {
    eventually(&format!("{expected:?} votes"), || async {
        let p = poll_of(client, poll).await?;
        (votes(&p) == expected).then_some(p)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_poll_converges_on_both_sides_and_shows_who_voted() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let chat = chat_with(&anna, "bea").await;
    let mut s = setup("Where shall we eat?");
    s.multiple = true;
    let poll = anna.account.create_poll(chat, s).await.unwrap().id;

    // Bea receives it as a poll message and votes for two options, then changes her mind.
    let seen = eventually("bea has the poll", || poll_of(&bea, poll)).await;
    assert_eq!(seen.question, "Where shall we eat?");
    assert!(seen.live.as_ref().is_some_and(|l| l.multiple && !l.mine));
    bea.account.vote(poll, vec![0, 2]).await.unwrap();
    anna.account.vote(poll, vec![2]).await.unwrap();
    until_votes(&anna, poll, &[Some(1), Some(0), Some(2)]).await;
    until_votes(&bea, poll, &[Some(1), Some(0), Some(2)]).await;
    bea.account.vote(poll, vec![1]).await.unwrap();
    let p = until_votes(&anna, poll, &[Some(0), Some(1), Some(1)]).await;
    assert_eq!(
        p.options[1].voters.as_deref(),
        Some(&["bea".to_owned()][..])
    );
    assert_eq!(
        p.options[2].voters.as_deref(),
        Some(&["anna".to_owned()][..])
    );
    let p = until_votes(&bea, poll, &[Some(0), Some(1), Some(1)]).await;
    assert_eq!(p.live.unwrap().own_choice, vec![1]);

    // Anna retracts; then closes; Bea's next vote is refused with a clear error.
    anna.account.retract_vote(poll).await.unwrap();
    until_votes(&bea, poll, &[Some(0), Some(1), Some(0)]).await;
    assert!(matches!(
        bea.account.close_poll(poll).await,
        Err(PollError::NotCreator)
    ));
    anna.account.close_poll(poll).await.unwrap();
    eventually("bea sees it closed", || async {
        poll_of(&bea, poll).await.filter(|p| p.closed)
    })
    .await;
    let refused = bea.account.vote(poll, vec![0]).await.unwrap_err();
    assert!(matches!(refused, PollError::Closed), "{refused}");
    assert!(refused.to_string().contains("closed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_quiz_sends_votes_to_the_creator_only() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let chat = chat_with(&anna, "bea").await;
    let mut s = setup("Which is Japanese?");
    s.anonymous = true;
    s.quiz_correct = Some(1);
    s.explanation = "Sushi comes from Japan.".to_owned();
    s.no_revote = true;
    let poll = anna.account.create_poll(chat, s).await.unwrap().id;

    let before = eventually("bea has the quiz", || poll_of(&bea, poll)).await;
    let live = before.live.clone().unwrap();
    assert!(live.quiz && live.anonymous && live.no_revote);
    assert_eq!(live.correct, None, "the answer is hidden until Bea answers");
    assert!(before.options.iter().all(|o| o.voters.is_none()));

    bea.account.vote(poll, vec![2]).await.unwrap();
    let after = poll_of(&bea, poll).await.unwrap();
    let live = after.live.unwrap();
    assert_eq!(live.correct, Some(1));
    assert_eq!(live.explanation.as_deref(), Some("Sushi comes from Japan."));
    assert_eq!(live.own_choice, vec![2]);
    // Final: no change, no retraction.
    assert!(matches!(
        bea.account.vote(poll, vec![1]).await,
        Err(PollError::Final)
    ));
    assert!(matches!(
        bea.account.retract_vote(poll).await,
        Err(PollError::Final)
    ));

    // Anna counts it and publishes the counts; Bea sees counts, never names.
    let p = until_votes(&anna, poll, &[Some(0), Some(0), Some(1)]).await;
    assert!(p.options.iter().all(|o| o.voters.is_none()));
    anna.account.vote(poll, vec![1]).await.unwrap();
    let p = until_votes(&bea, poll, &[Some(0), Some(1), Some(1)]).await;
    assert_eq!(p.live.unwrap().voters, Some(2));
    assert!(p.options.iter().all(|o| o.voters.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_polls_and_votes_get_clear_errors() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let _bea = Client::new(&relay, "bea").await;
    let chat = chat_with(&anna, "bea").await;
    let one_option = PollSetup {
        options: vec!["Only".into()],
        ..setup("Q?")
    };
    assert!(matches!(
        anna.account.create_poll(chat, one_option).await,
        Err(PollError::BadOptions)
    ));
    let thirteen = PollSetup {
        options: (0..13).map(|i| format!("o{i}")).collect(),
        ..setup("Q?")
    };
    assert!(matches!(
        anna.account.create_poll(chat, thirteen).await,
        Err(PollError::BadOptions)
    ));
    let mut quiz = setup("Q?");
    quiz.quiz_correct = Some(3);
    assert!(matches!(
        anna.account.create_poll(chat, quiz).await,
        Err(PollError::BadQuiz)
    ));
    let mut past = setup("Q?");
    past.closes_at = Some("2020-01-01T00:00:00Z".to_owned());
    assert!(matches!(
        anna.account.create_poll(chat, past).await,
        Err(PollError::BadCloseTime)
    ));
    let poll = anna
        .account
        .create_poll(chat, setup("Q?"))
        .await
        .unwrap()
        .id;
    assert!(matches!(
        anna.account.vote(poll, vec![0, 1]).await,
        Err(PollError::OneOption)
    ));
    assert!(matches!(
        anna.account.vote(poll, vec![7]).await,
        Err(PollError::NoSuchOption {
            option: 7,
            options: 3
        })
    ));
    assert!(matches!(
        anna.account.vote(poll, vec![]).await,
        Err(PollError::NoOption)
    ));
    // Nothing was stored by the refused votes.
    let p = poll_of(&anna, poll).await.unwrap();
    assert_eq!(votes(&p), vec![Some(0), Some(0), Some(0)]);
}
