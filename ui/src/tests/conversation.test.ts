import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import App from '../App.svelte';
import StatusTicks from '../components/StatusTicks.svelte';
import type { MessageView } from '../lib/api';
import { buildRows, offsetsOf, visibleRange } from '../lib/message-rows';
import { installMockBackend, type MockOptions, type SeedMessage } from '../lib/mock-backend';
import { PAGE } from '../lib/stores/messages.svelte';

const FAST = { connect: 1, sent: 40, delivered: 40, read: 40, typing: 10, reply: 60 };

function start(options: MockOptions = {}) {
  const backend = installMockBackend({ accounts: ['Anna'], relay: 'wss://relay.example.org', timing: FAST, ...options });
  const user = userEvent.setup();
  render(App);
  return { backend, user };
}

type Backend = ReturnType<typeof start>['backend'];

const callsOf = (backend: Backend, cmd: string) =>
  backend.calls.filter((call) => call.cmd === cmd).map((call) => call.args);

function minutesAgo(minutes: number): string {
  return new Date(Date.now() - minutes * 60_000).toISOString();
}

/** Opens the chat from the list; resolves to its message log (which exists once a message does). */
async function openChat(user: ReturnType<typeof userEvent.setup>, name: string) {
  await user.click(await screen.findByRole('button', { name: new RegExp(`^${name}`) }));
  await screen.findByRole('button', { name: `Contact details for ${name}` });
  return () => screen.getByRole('log', { name: `Messages with ${name}` });
}

function message(overrides: Partial<MessageView>): MessageView {
  return {
    id: '0'.repeat(32),
    chat: 1,
    sender: null,
    outgoing: true,
    kind: 'text',
    text: 'hi',
    sentAt: '2026-11-20T10:00:00Z',
    receivedAt: '2026-11-20T10:00:00Z',
    state: 'sent',
    imported: false,
    author: null,
    attachments: [],
    poll: null,
    missingFile: null,
    ...overrides,
  };
}

describe('ticks', () => {
  test.each([
    ['pending', 'Sending'],
    ['sent', 'Sent'],
    ['delivered', 'Delivered'],
    ['read', 'Read'],
    ['failed', 'Not sent'],
  ] as const)('%s shows “%s”', (state, label) => {
    render(StatusTicks, { state });
    const tick = screen.getByRole('img', { name: label });
    expect(tick).toHaveAttribute('data-state', state);
  });

  test('delivered and read are both two ticks, read in the accent colour', () => {
    render(StatusTicks, { state: 'delivered' });
    render(StatusTicks, { state: 'read' });
    const delivered = screen.getByRole('img', { name: 'Delivered' });
    const read = screen.getByRole('img', { name: 'Read' });
    expect(delivered.innerHTML).toBe(read.innerHTML);
    expect(read).toHaveClass('read');
    expect(delivered).not.toHaveClass('read');
  });

  test('an incoming message has no ticks', () => {
    const { container } = render(StatusTicks, { state: 'received' });
    expect(container.querySelector('[role="img"]')).toBeNull();
    expect(container).toHaveTextContent('');
  });

  test('a sent message goes pending, sent, delivered, read; then the reply arrives', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', []);
    const log = await openChat(user, 'Bruno Bianchi');
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'Dinner?{Enter}');

    const bubble = () => within(log()).getByText('Dinner?').closest('[data-message]') as HTMLElement;
    const seen: string[] = [];
    await waitFor(() => {
      const state = bubble().querySelector('[data-state]')?.getAttribute('aria-label');
      if (state && seen[seen.length - 1] !== state) seen.push(state);
      expect(state).toBe('Read');
    });
    expect(seen[0]).toBe('Sending');
    expect(seen).toContain('Delivered');
    expect(await within(log()).findByText('Got it: “Dinner?”')).toBeVisible();
  });
});

describe('day separators', () => {
  test('one before the first message of each day', () => {
    const now = new Date('2026-11-22T15:00:00');
    const rows = buildRows(
      [
        message({ id: 'a', sentAt: new Date('2026-11-01T09:00:00').toISOString() }),
        message({ id: 'b', sentAt: new Date('2026-11-01T21:00:00').toISOString() }),
        message({ id: 'c', sentAt: new Date('2026-11-21T10:00:00').toISOString() }),
        message({ id: 'd', sentAt: new Date('2026-11-22T08:00:00').toISOString() }),
        message({ id: 'e', sentAt: new Date('2026-11-22T09:00:00').toISOString() }),
      ],
      now,
    );
    expect(rows.map((row) => (row.kind === 'day' ? row.label : row.key))).toEqual([
      'Sunday, November 1',
      'a',
      'b',
      'Yesterday',
      'c',
      'Today',
      'd',
      'e',
    ]);
  });

  test('the conversation shows them between the messages', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [
      { text: 'two days ago', at: minutesAgo(60 * 48) },
      { text: 'just now', at: minutesAgo(1) },
    ]);
    const log = (await openChat(user, 'Bruno Bianchi'))();
    expect(await within(log).findByText('Today')).toBeVisible();
    const text = log.textContent ?? '';
    expect(text.indexOf('two days ago')).toBeLessThan(text.indexOf('Today'));
    expect(text.indexOf('Today')).toBeLessThan(text.indexOf('just now'));
  });
});

describe('own and other bubbles', () => {
  test('own messages are marked outgoing, the other person’s not', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [
      { text: 'from bruno', at: minutesAgo(3) },
      { text: 'from me', at: minutesAgo(2), outgoing: true, state: 'read' },
    ]);
    const log = (await openChat(user, 'Bruno Bianchi'))();
    await within(log).findByText('from me');
    expect(within(log).getByText('from me').closest('[data-message]')).toHaveClass('outgoing');
    expect(within(log).getByText('from bruno').closest('[data-message]')).not.toHaveClass('outgoing');
  });
});

describe('virtualized message list', () => {
  function many(count: number): SeedMessage[] {
    return Array.from({ length: count }, (_, i) => ({
      text: `message ${i + 1}`,
      at: minutesAgo(count - i),
      outgoing: i % 3 === 0,
    }));
  }

  test('the window is computed from the row heights', () => {
    const offsets = offsetsOf([50, 50, 50, 50, 50, 50, 50, 50, 50, 50]);
    expect(visibleRange(offsets, 200, 100, 0)).toEqual({ start: 4, end: 7 });
    expect(visibleRange(offsets, 200, 100, 50)).toEqual({ start: 3, end: 8 });
    expect(visibleRange(offsetsOf([]), 0, 100, 0)).toEqual({ start: 0, end: 0 });
  });

  test('opens at the newest page and renders only the rows near the viewport', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', many(300));
    const log = (await openChat(user, 'Bruno Bianchi'))();
    await waitFor(() => expect(within(log).getByText('message 300')).toBeInTheDocument());

    expect(callsOf(backend, 'list_messages')[0]).toEqual({ account: 1, chat: 1, before: null, limit: PAGE });
    const rendered = log.querySelectorAll('[data-message]').length;
    expect(rendered).toBeGreaterThan(3);
    expect(rendered).toBeLessThan(PAGE);
    expect(within(log).queryByText('message 251')).not.toBeInTheDocument();
  });

  test('scrolling to the top loads the page before and keeps the top row where it was', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', many(300));
    const log = (await openChat(user, 'Bruno Bianchi'))();
    await waitFor(() => expect(within(log).getByText('message 300')).toBeInTheDocument());
    const firstPage = callsOf(backend, 'list_messages').length;

    // Scroll to the top of what is loaded: message 251, under the day row.
    log.scrollTop = 0;
    await fireEvent.scroll(log);
    const topOf = (text: string) =>
      Number((within(log).getByText(text).closest('[data-top]') as HTMLElement).dataset.top);
    const before = topOf('message 251') - log.scrollTop;
    expect(before).toBeGreaterThan(0);
    await waitFor(() => expect(callsOf(backend, 'list_messages').length).toBeGreaterThan(firstPage));
    const older = callsOf(backend, 'list_messages')[firstPage];
    expect(older).toMatchObject({ account: 1, chat: 1, limit: PAGE });
    const newestPage = backend.messaging.handle('list_messages', { account: 1, chat: 1, before: null, limit: PAGE });
    expect(older.before).toBe((newestPage?.result as MessageView[])[0].id);

    // Message 251 stays where the reader saw it, with the older page above it.
    await waitFor(() => {
      expect(log.scrollTop).toBeGreaterThan(1000);
      expect(topOf('message 251') - log.scrollTop).toBe(before);
    });
    expect(within(log).getByText('message 250')).toBeInTheDocument();
    expect(within(log).queryByText('message 201')).not.toBeInTheDocument();
  });
});

describe('composer', () => {
  test('Enter sends, Shift+Enter starts a new line', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', []);
    const log = await openChat(user, 'Bruno Bianchi');
    const box = screen.getByRole('textbox', { name: 'Message' });

    await user.type(box, 'first line{Shift>}{Enter}{/Shift}second line');
    expect(box).toHaveValue('first line\nsecond line');
    expect(callsOf(backend, 'send_message')).toEqual([]);

    await user.keyboard('{Enter}');
    expect(callsOf(backend, 'send_message')).toEqual([{ account: 1, chat: 1, text: 'first line\nsecond line' }]);
    expect(box).toHaveValue('');
    expect(await within(log()).findByText(/first line\s+second line/)).toBeVisible();
  });

  test('Enter on an empty composer sends nothing', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', []);
    await openChat(user, 'Bruno Bianchi');
    await user.type(screen.getByRole('textbox', { name: 'Message' }), '   {Enter}');
    expect(callsOf(backend, 'send_message')).toEqual([]);
  });

  test('a draft stays with its chat and comes back', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [{ text: 'hi', at: minutesAgo(2) }]);
    backend.seed(1, 'carla', [{ text: 'hey', at: minutesAgo(1) }]);
    await openChat(user, 'Bruno Bianchi');
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'half a thought');

    await openChat(user, 'Carla Conti');
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('');
    expect(callsOf(backend, 'set_draft')).toContainEqual({ account: 1, chat: 1, text: 'half a thought' });
    // The chat list shows it.
    expect(await screen.findByRole('button', { name: 'Bruno Bianchi' })).toHaveTextContent('Draft: half a thought');

    await openChat(user, 'Bruno Bianchi');
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('half a thought');
  });

  test('typing tells the peer once per few seconds, and sending says it stopped', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', []);
    await openChat(user, 'Bruno Bianchi');
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'several keys here');
    expect(callsOf(backend, 'set_typing')).toEqual([{ account: 1, chat: 1, typing: true }]);
    expect(backend.messaging.typing(1, 1)).toBe(true);

    await user.keyboard('{Enter}');
    expect(callsOf(backend, 'set_typing')).toEqual([
      { account: 1, chat: 1, typing: true },
      { account: 1, chat: 1, typing: false },
    ]);
  });

  test('the peer typing shows under the messages and in the header', async () => {
    const { backend, user } = start();
    const chat = backend.seed(1, 'bruno', [{ text: 'hi', at: minutesAgo(1) }]);
    await openChat(user, 'Bruno Bianchi');
    backend.emit({ account: 1, kind: { type: 'typing', chat, typing: true } });
    expect(await screen.findByText('Bruno Bianchi is typing…')).toBeVisible();
    backend.emit({ account: 1, kind: { type: 'typing', chat, typing: false } });
    await waitFor(() => expect(screen.queryByText('Bruno Bianchi is typing…')).not.toBeInTheDocument());
  });

  test('a send the backend refuses keeps the text and shows why', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', []);
    await openChat(user, 'Bruno Bianchi');
    backend.failNext('send_message', { code: 'io', message: 'The disk is full.' });
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'important{Enter}');
    expect(await screen.findByRole('alert')).toHaveTextContent('The disk is full.');
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('important');
  });
});

describe('search', () => {
  test('finds messages word by word with the words marked, opens the chat, Escape goes back', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [
      { text: 'Who brings the tent on Saturday?', at: minutesAgo(30) },
      { text: 'I will bring the TENT', outgoing: true, at: minutesAgo(20) },
      { text: 'see you', at: minutesAgo(10) },
    ]);
    const search = await screen.findByRole('searchbox', { name: 'Search messages' });
    await user.type(search, 'tent bring');
    const results = await screen.findByRole('list', { name: 'Messages found' });
    const hits = within(results).getAllByRole('button');
    // Newest first; the chat's title, who wrote it, the matched words marked.
    expect(hits.map((hit) => hit.querySelector('.snippet')?.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
      'You: I will bring the TENT',
      'bruno: Who brings the tent on Saturday?',
    ]);
    expect([...hits[0].querySelectorAll('mark')].map((mark) => mark.textContent)).toEqual(['bring', 'TENT']);
    expect(screen.getByText('2 messages')).toBeVisible();

    await user.click(hits[1]);
    expect(await screen.findByRole('log', { name: 'Messages with Bruno Bianchi' })).toBeVisible();

    await user.clear(search);
    await user.type(search, 'pizza');
    expect(await screen.findByText('No message holds “pizza”.')).toBeVisible();
    await user.type(search, '{Escape}');
    expect(search).toHaveValue('');
    expect(await screen.findByRole('list', { name: 'Chat list' })).toBeVisible();
  });
});
