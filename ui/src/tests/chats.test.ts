import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import App from '../App.svelte';
import { installMockBackend, type MockOptions } from '../lib/mock-backend';

const RELAY = 'wss://relay.example.org';
/** Fast enough for a test, slow enough that each state can be seen. */
const FAST = { connect: 1, sent: 30, delivered: 30, read: 30, typing: 10, reply: 30 };

function start(options: MockOptions = {}) {
  const backend = installMockBackend({ accounts: ['Anna'], relay: RELAY, timing: FAST, ...options });
  const user = userEvent.setup();
  render(App);
  return { backend, user };
}

type Backend = ReturnType<typeof start>['backend'];

const callsOf = (backend: Backend, cmd: string) =>
  backend.calls.filter((call) => call.cmd === cmd).map((call) => call.args);

function hoursAgo(hours: number): string {
  return new Date(Date.now() - hours * 3_600_000).toISOString();
}

function chatRows() {
  const list = screen.getByRole('list', { name: 'Chat list' });
  return within(list)
    .getAllByRole('button')
    .map((button) => button.getAttribute('aria-label'));
}

describe('chat list', () => {
  test('newest activity first, with the unread count in the name and a badge', async () => {
    const { backend } = start();
    backend.seed(1, 'bruno', [{ text: 'old news', at: hoursAgo(50) }]);
    backend.seed(1, 'carla', [{ text: 'ciao!', at: hoursAgo(1), state: 'received' }]);
    backend.seed(1, 'dario', [{ text: 'see you', at: hoursAgo(5), outgoing: true, state: 'delivered' }]);

    await waitFor(() =>
      expect(chatRows()).toEqual(['Carla Conti, 1 unread', 'Dario Esposito', 'Bruno Bianchi']),
    );
    const carla = screen.getByRole('button', { name: 'Carla Conti, 1 unread' });
    expect(carla).toHaveTextContent('ciao!');
    expect(within(carla).getByText('1')).toBeVisible();
    // Own last message: "You:" and its ticks.
    const dario = screen.getByRole('button', { name: 'Dario Esposito' });
    expect(dario).toHaveTextContent('You: see you');
    expect(within(dario).getByRole('img', { name: 'Delivered' })).toBeInTheDocument();
  });

  test('today shows the time, an older day its date', async () => {
    const { backend } = start();
    const today = new Date();
    today.setHours(9, 5, 0, 0);
    backend.seed(1, 'bruno', [{ text: 'morning', at: today.toISOString() }]);
    backend.seed(1, 'carla', [{ text: 'long ago', at: '2024-03-07T12:00:00Z' }]);
    const bruno = await screen.findByRole('button', { name: 'Bruno Bianchi' });
    expect(within(bruno).getByText('09:05')).toBeVisible();
    expect(within(screen.getByRole('button', { name: 'Carla Conti' })).getByText(/Mar.*2024/)).toBeVisible();
  });

  test('a new message moves its chat to the top, and opening it marks it read', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [{ text: 'first', at: hoursAgo(3) }]);
    backend.seed(1, 'carla', [{ text: 'second', at: hoursAgo(2) }]);
    await waitFor(() => expect(chatRows()).toEqual(['Carla Conti', 'Bruno Bianchi']));

    backend.receive(1, 'bruno', 'news!');
    await waitFor(() => expect(chatRows()).toEqual(['Bruno Bianchi, 1 unread', 'Carla Conti']));
    // The rail counts it too.
    const rail = screen.getByRole('button', { name: 'Anna' });
    await waitFor(() => expect(within(rail).getByText('1')).toBeVisible());

    await user.click(screen.getByRole('button', { name: 'Bruno Bianchi, 1 unread' }));
    await waitFor(() => expect(chatRows()).toEqual(['Bruno Bianchi', 'Carla Conti']));
    expect(screen.getByRole('button', { name: 'Bruno Bianchi' })).toHaveAttribute('aria-current', 'true');
    expect(callsOf(backend, 'mark_read')).toContainEqual({ account: 1, chat: 1 });
    expect(callsOf(backend, 'set_visible_chat')).toContainEqual({ account: 1, chat: 1 });
    await waitFor(() => expect(within(rail).queryByText('1')).not.toBeInTheDocument());
  });

  test('a message into the chat on screen is marked read at once', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [{ text: 'hi', at: hoursAgo(1) }]);
    await user.click(await screen.findByRole('button', { name: 'Bruno Bianchi' }));
    backend.receive(1, 'bruno', 'are you there?');
    expect(await within(screen.getByRole('log')).findByText('are you there?')).toBeVisible();
    await waitFor(() => expect(callsOf(backend, 'mark_read')).toContainEqual({ account: 1, chat: 1 }));
  });

  test('with no chats, the empty state offers to add a contact', async () => {
    start();
    expect(await screen.findByText('No chats yet')).toBeVisible();
    expect(screen.getByText('Add a contact by their handle to start a chat.')).toBeVisible();
    await waitFor(() => expect(screen.getAllByRole('button', { name: 'Add contact' })).toHaveLength(2));
  });
});

describe('add contact', () => {
  async function openDialog(user: ReturnType<typeof userEvent.setup>) {
    await user.click((await screen.findAllByRole('button', { name: 'Add contact' }))[0]);
    return screen.getByRole('dialog', { name: 'Add contact' });
  }

  test('the backend error is shown and the dialog stays open', async () => {
    const { user } = start();
    const dialog = await openDialog(user);
    const handle = within(dialog).getByLabelText('Handle');
    expect(handle).toHaveFocus();
    await user.type(handle, '@nobody{Enter}');
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('No one on the relay has the handle @nobody.');
    expect(handle).toHaveAttribute('aria-invalid', 'true');

    await user.clear(handle);
    await user.type(handle, 'a!{Enter}');
    await waitFor(() =>
      expect(within(dialog).getByRole('alert')).toHaveTextContent(
        'A handle has 3 to 32 letters, digits or underscores.',
      ),
    );
  });

  test('an unknown error code still shows its message', async () => {
    const { backend, user } = start();
    backend.failNext('add_contact', { code: 'relay_unreachable' as never, message: 'The relay did not answer.' });
    const dialog = await openDialog(user);
    await user.type(within(dialog).getByLabelText('Handle'), 'bruno{Enter}');
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('The relay did not answer.');
  });

  test('a found handle becomes a contact and its chat opens', async () => {
    const { backend, user } = start();
    const dialog = await openDialog(user);
    await user.type(within(dialog).getByLabelText('Handle'), '@bruno{Enter}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(await screen.findByRole('button', { name: 'Contact details for Bruno Bianchi' })).toBeVisible();
    expect(screen.getByText('No messages yet. Say hello to Bruno Bianchi!')).toBeVisible();
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveFocus();
    expect(callsOf(backend, 'add_contact')).toEqual([{ account: 1, handle: '@bruno' }]);
  });
});

describe('contact page', () => {
  test('shows the safety number in 12 groups of 5 digits and whether it was verified', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [{ text: 'hi', at: hoursAgo(1) }]);
    await user.click(await screen.findByRole('button', { name: 'Bruno Bianchi' }));
    await user.click(await screen.findByRole('button', { name: 'Contact details for Bruno Bianchi' }));

    const panel = screen.getByRole('complementary', { name: 'Contact details' });
    expect(panel).toHaveTextContent('@bruno');
    const groups = within(within(panel).getByRole('list', { name: 'Safety number' })).getAllByRole('listitem');
    expect(groups).toHaveLength(12);
    for (const group of groups) expect(group.textContent).toMatch(/^\d{5}$/);
    expect(within(panel).getByText('Not verified')).toBeVisible();

    backend.verify(1, 'bruno');
    expect(await within(panel).findByText('Verified')).toBeVisible();

    await user.keyboard('{Escape}');
    expect(screen.queryByRole('complementary')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Contact details for Bruno Bianchi' })).toHaveFocus();
  });

  test('a changed identity is a warning in the chat and on the contact page', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [{ text: 'hi', at: hoursAgo(1) }]);
    await user.click(await screen.findByRole('button', { name: 'Bruno Bianchi' }));
    backend.changeIdentity(1, 'bruno');

    const note = await screen.findByRole('note', { name: 'Security notice' });
    expect(note).toHaveTextContent('The safety number with @bruno changed.');
    await user.click(screen.getByRole('button', { name: 'Contact details for Bruno Bianchi' }));
    const panel = screen.getByRole('complementary', { name: 'Contact details' });
    expect(await within(panel).findByRole('alert')).toHaveTextContent(
      'The safety number with Bruno Bianchi changed.',
    );
  });
});

describe('connection', () => {
  test('a new account shows Connecting… until online; going offline shows Offline', async () => {
    const { backend } = start({ timing: { ...FAST, connect: 60_000 } });
    // Accounts that exist at start are seen as already connecting, then online.
    backend.setConnection(1, 'connecting');
    expect(await screen.findByText('Connecting…')).toBeVisible();
    backend.setConnection(1, 'online');
    await waitFor(() => expect(screen.queryByText('Connecting…')).not.toBeInTheDocument());
    backend.setConnection(1, 'offline');
    expect(await screen.findByText('Offline')).toBeVisible();
    expect(screen.getByRole('button', { name: 'Anna' })).toHaveAccessibleDescription('offline');
  });

  test('an account without a relay says so and its composer is disabled with the reason', async () => {
    const { backend, user } = start({ relay: undefined });
    backend.seed(1, 'bruno', [{ text: 'imported', at: hoursAgo(1) }]);
    expect(await screen.findByText('No relay')).toBeVisible();
    await user.click(await screen.findByRole('button', { name: 'Bruno Bianchi' }));
    const composer = await screen.findByRole('textbox', { name: 'Message' });
    expect(composer).toBeDisabled();
    expect(composer).toHaveAccessibleDescription('This account has no relay, so it cannot send messages.');
    expect(screen.getByRole('button', { name: 'Send' })).toBeDisabled();
  });
});

describe('notifications', () => {
  test('openChat switches to the account and opens the chat', async () => {
    const { backend } = start({ accounts: ['Anna', 'Work'] });
    await screen.findByRole('button', { name: 'Work' });
    const chat = backend.seed(2, 'elena', [{ text: 'meeting moved to 3', at: hoursAgo(0.1), state: 'received' }]);

    backend.emit({ account: 2, kind: { type: 'openChat', chat } });

    await waitFor(() => expect(screen.getByRole('button', { name: 'Work' })).toHaveAttribute('aria-pressed', 'true'));
    expect(await screen.findByRole('button', { name: 'Contact details for Elena Ferrari' })).toBeVisible();
    expect(await within(screen.getByRole('log')).findByText('meeting moved to 3')).toBeVisible();
    await waitFor(() => expect(callsOf(backend, 'set_visible_chat')).toContainEqual({ account: 2, chat }));
    await waitFor(() => expect(callsOf(backend, 'mark_read')).toContainEqual({ account: 2, chat }));
  });

  test('switching accounts tells the backend no chat of the old one is on screen', async () => {
    const { backend, user } = start({ accounts: ['Anna', 'Work'] });
    backend.seed(1, 'bruno', [{ text: 'hi', at: hoursAgo(1) }]);
    await user.click(await screen.findByRole('button', { name: 'Bruno Bianchi' }));
    await user.click(screen.getByRole('button', { name: 'Work' }));
    await waitFor(() => expect(callsOf(backend, 'set_visible_chat')).toContainEqual({ account: 1, chat: null }));
    expect(backend.messaging.visibleChat(1)).toBeNull();
  });
});

describe('account creation', () => {
  test('sends the relay and the handle, and offers the default relay from app_info', async () => {
    const { backend, user } = start({ accounts: [], defaultRelay: 'wss://default.example' });
    await user.click(await screen.findByRole('button', { name: 'Create your first account' }));
    const dialog = screen.getByRole('dialog', { name: 'Add account' });
    await waitFor(() => expect(within(dialog).getByLabelText(/Relay address/)).toHaveValue('wss://default.example'));
    await user.type(within(dialog).getByLabelText('Name'), 'Anna');
    await user.type(within(dialog).getByLabelText(/Handle/), 'anna{Enter}');

    await screen.findByRole('heading', { name: 'Anna' });
    expect(callsOf(backend, 'create_account')).toEqual([
      { name: 'Anna', relay: 'wss://default.example', handle: 'anna' },
    ]);
    expect(backend.accounts[0].handle).toBe('anna');
  });

  test('a taken handle is refused and no account is made', async () => {
    const { backend, user } = start({ accounts: [] });
    await user.click(await screen.findByRole('button', { name: 'Create your first account' }));
    const dialog = screen.getByRole('dialog', { name: 'Add account' });
    await user.type(within(dialog).getByLabelText('Name'), 'Anna');
    await user.type(within(dialog).getByLabelText(/Relay address/), RELAY);
    await user.type(within(dialog).getByLabelText(/Handle/), 'bruno{Enter}');
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('The handle @bruno is already taken on this relay.');
    expect(backend.accounts).toHaveLength(0);
  });
});

describe('events', () => {
  test('eventsLost re-reads the chat list and the open chat', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [{ text: 'hi', at: hoursAgo(1) }]);
    await user.click(await screen.findByRole('button', { name: 'Bruno Bianchi' }));
    const chatsBefore = callsOf(backend, 'list_chats').length;
    const messagesBefore = callsOf(backend, 'list_messages').length;

    backend.emit({ account: null, kind: { type: 'eventsLost', count: 3 } });

    await waitFor(() => expect(callsOf(backend, 'list_chats').length).toBeGreaterThan(chatsBefore));
    await waitFor(() => expect(callsOf(backend, 'list_messages').length).toBeGreaterThan(messagesBefore));
    expect(callsOf(backend, 'connection_state').length).toBeGreaterThan(1);
  });

  test('events of another account refresh its unread count on the rail only', async () => {
    const { backend } = start({ accounts: ['Anna', 'Work'] });
    const work = await screen.findByRole('button', { name: 'Work' });
    const chatsBefore = callsOf(backend, 'list_chats').length;
    backend.receive(2, 'elena', 'are you free?');
    await waitFor(() => expect(within(work).getByText('1')).toBeVisible());
    await waitFor(() => expect(work).toHaveAccessibleDescription('1 unread messages'));
    expect(callsOf(backend, 'list_chats').length).toBe(chatsBefore);
  });
});
