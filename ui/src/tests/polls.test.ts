import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, test } from 'vitest';
import MessageBubble from '../components/MessageBubble.svelte';
import PollComposer from '../components/PollComposer.svelte';
import type { LivePoll, MessageView, PollView } from '../lib/api';
import { messages } from '../lib/stores/messages.svelte';

const POLL_ID = 'f'.repeat(32);

const LIVE: LivePoll = {
  multiple: false,
  anonymous: false,
  quiz: false,
  correct: null,
  explanation: null,
  closesAt: null,
  hideResults: false,
  noRevote: false,
  mine: false,
  ownChoice: [],
  voters: 1,
};

function message(poll: PollView): MessageView {
  return {
    id: POLL_ID,
    chat: 1,
    sender: 'anna',
    outgoing: false,
    kind: 'poll',
    text: poll.question,
    sentAt: '2026-12-02T10:00:00Z',
    receivedAt: '2026-12-02T10:00:00Z',
    state: 'received',
    imported: false,
    author: null,
    attachments: [],
    poll,
    missingFile: null,
  };
}

/** A backend holding one poll; `vote_poll` counts the vote and records every call. */
function backend(initial: PollView, after: (options: number[]) => PollView) {
  let current = initial;
  const calls: Array<[string, unknown]> = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === 'list_messages') return [message(current)];
    if (cmd === 'vote_poll') {
      current = after((args as { options: number[] }).options);
      return null;
    }
    if (cmd === 'create_poll') return message(initial);
    throw new Error(`unexpected ${cmd}`);
  });
  return calls;
}

describe('a poll made in Missiva', () => {
  test('a click votes; the results and your choice show after voting', async () => {
    const question = 'Where shall we eat?';
    const open: PollView = {
      question,
      options: [
        { text: 'Pizza', votes: 1, voters: ['anna'] },
        { text: 'Sushi', votes: 0, voters: [] },
      ],
      closed: false,
      live: LIVE,
    };
    const calls = backend(open, (options) => ({
      ...open,
      options: [
        { text: 'Pizza', votes: 1, voters: ['anna'] },
        { text: 'Sushi', votes: 1, voters: ['bea'] },
      ],
      live: { ...LIVE, ownChoice: options, voters: 2 },
    }));
    await messages.open(1, 1);
    const user = userEvent.setup();
    const { rerender } = render(MessageBubble, { message: messages.list[0] });
    const card = screen.getByRole('group', { name: `Poll: ${question}` });
    // Before voting: options to click, no counts.
    expect(card).not.toHaveTextContent('%');
    await user.click(within(card).getByRole('button', { name: 'Sushi' }));
    expect(calls).toContainEqual(['vote_poll', { account: 1, poll: POLL_ID, options: [1] }]);
    await waitFor(() => expect(messages.list[0].poll?.live?.ownChoice).toEqual([1]));
    await rerender({ message: messages.list[0] });
    const after = screen.getByRole('group', { name: `Poll: ${question}` });
    expect(within(after).getByLabelText('Your choice')).toBeVisible();
    expect(after).toHaveTextContent('1 vote · 50%');
    expect(after).toHaveTextContent('@bea');
    expect(after).toHaveTextContent('2 voted so far');
    expect(within(after).getByRole('button', { name: 'Take back my vote' })).toBeVisible();
  });

  test('a quiz says whether the answer was right and explains; an anonymous one says who sees votes', () => {
    const poll: PollView = {
      question: '2 + 2?',
      options: [
        { text: '3', votes: 1 },
        { text: '4', votes: 1 },
      ],
      closed: false,
      live: {
        ...LIVE,
        quiz: true,
        anonymous: true,
        correct: 1,
        explanation: 'Basic sums.',
        ownChoice: [0],
        noRevote: true,
        voters: 2,
      },
    };
    render(MessageBubble, { message: message(poll) });
    const card = screen.getByRole('group', { name: 'Poll: 2 + 2?' });
    expect(card).toHaveTextContent("Votes are visible to the poll's creator only");
    expect(card).toHaveTextContent('Not quite.');
    expect(card).toHaveTextContent('Correct answer');
    expect(card).toHaveTextContent('Basic sums.');
    // Final votes: no taking back, and no buttons to vote again.
    expect(within(card).queryByRole('button', { name: 'Take back my vote' })).toBeNull();
    expect(within(card).queryByRole('button', { name: '3' })).toBeNull();
  });

  test('the poll composer sends the question, the options and the quiz answer', async () => {
    const calls = backend(
      { question: 'Capital of Italy?', options: [], closed: false, live: LIVE },
      () => ({ question: '', options: [], closed: false }),
    );
    await messages.open(1, 1);
    let closed = false;
    render(PollComposer, { onclose: () => (closed = true) });
    const user = userEvent.setup();
    const dialog = screen.getByRole('dialog', { name: 'New poll' });
    await user.type(within(dialog).getByLabelText('Question'), 'Capital of Italy?');
    await user.type(within(dialog).getByLabelText('Option 1'), 'Milan');
    await user.click(within(dialog).getByRole('button', { name: 'Add an option' }));
    await user.type(within(dialog).getByLabelText('Option 3'), 'Rome');
    await user.click(within(dialog).getByLabelText('Quiz (one correct answer)'));
    await user.click(within(dialog).getByLabelText('Option 3 is the correct answer'));
    await user.type(within(dialog).getByLabelText('Explanation shown after answering (optional)'), 'Since 1871.');
    expect(within(dialog).getByRole('button', { name: 'Create poll' })).toBeEnabled();
    await user.click(within(dialog).getByRole('button', { name: 'Create poll' }));
    await waitFor(() => expect(closed).toBe(true));
    const created = calls.find(([cmd]) => cmd === 'create_poll');
    expect(created?.[1]).toEqual({
      account: 1,
      chat: 1,
      setup: {
        question: 'Capital of Italy?',
        options: ['Milan', 'Rome'],
        multiple: false,
        anonymous: false,
        quizCorrect: 1,
        explanation: 'Since 1871.',
        closesAt: null,
        hideResults: false,
        noRevote: false,
      },
    });
  });
});
