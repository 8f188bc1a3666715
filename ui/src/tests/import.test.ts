import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, test, vi } from 'vitest';
import App from '../App.svelte';
import MessageBubble from '../components/MessageBubble.svelte';
import type { MessageView } from '../lib/bindings/MessageView';
import { installMockBackend, MOCK_IMPORT_PATH, type MockOptions } from '../lib/mock-backend';
import { chats } from '../lib/stores/chats.svelte';

const RELAY = 'wss://relay.example.org';
/** Ten progress steps of 40 ms: long enough to see the bar move and to press Cancel. */
const FAST = { connect: 1, sent: 30, delivered: 30, read: 30, typing: 10, reply: 30, importStep: 40 };

function start(options: MockOptions = {}) {
  const backend = installMockBackend({ accounts: ['Anna'], relay: RELAY, timing: FAST, ...options });
  const user = userEvent.setup();
  render(App);
  return { backend, user };
}

type Backend = ReturnType<typeof start>['backend'];
type User = ReturnType<typeof start>['user'];

const callsOf = (backend: Backend, cmd: string) =>
  backend.calls.filter((call) => call.cmd === cmd).map((call) => call.args);

/** Opens the wizard from the account menu and picks the mock's file; resolves to the dialog. */
async function openPreview(user: User) {
  await user.click(await screen.findByRole('button', { name: 'Account options' }));
  await user.click(screen.getByRole('menuitem', { name: 'Import chat…' }));
  const dialog = await screen.findByRole('dialog', { name: 'Import a WhatsApp chat' });
  await user.click(within(dialog).getByRole('button', { name: 'Choose file…' }));
  await within(dialog).findByText('WhatsApp on Android');
  return dialog;
}

function chatRows(): string[] {
  const list = screen.queryByRole('list', { name: 'Chat list' });
  if (!list) return [];
  return within(list)
    .getAllByRole('button')
    .map((button) => button.getAttribute('aria-label') ?? '');
}

describe('import wizard', () => {
  test('previews the export, re-reads it in another date order, imports it and opens the chat', async () => {
    const { backend, user } = start();
    const dialog = await openPreview(user);

    // What the file holds.
    expect(callsOf(backend, 'preview_import')).toEqual([{ path: MOCK_IMPORT_PATH, dateOrder: null }]);
    expect(within(dialog).getByText('WhatsApp Chat with Trip to Sicily.txt')).toBeVisible();
    expect(within(dialog).getByText('Anna Rossi, Giulia Bianchi, Luca Moretti')).toBeVisible();
    expect(dialog).toHaveTextContent('21 messages · 4 system events');
    expect(dialog).toHaveTextContent('4 media: 0 found, 4 missing');
    expect(dialog).toHaveTextContent('Apr 5, 2023 – Apr 12, 2023');
    // Two lines before the first message were not understood; they are listed with their numbers.
    expect(within(dialog).getByText('2 lines not understood')).toBeVisible();
    expect(dialog).toHaveTextContent('Line 1 Chat history with Trip to Sicily');
    // The first messages, as small bubbles with their author and date.
    const first = within(dialog).getByRole('list', { name: 'First messages' });
    expect(within(first).getAllByRole('listitem')).toHaveLength(20);
    expect(first).toHaveTextContent('Giulia Bianchi Ciao! Here is the group for the trip');
    expect(first).toHaveTextContent('Media: IMG-20230406-WA0003.jpg');

    // Every date fits day/month and month/day: the guess is flagged, and changing it re-reads.
    const order = within(dialog).getByRole('combobox', { name: 'Date order' });
    expect(order).toHaveValue('dmy');
    // The step's first control takes the focus from the button that went away.
    await waitFor(() => expect(order).toHaveFocus());
    expect(within(dialog).getByText(/Missiva guessed/)).toBeVisible();
    await user.selectOptions(order, 'mdy');
    await waitFor(() => expect(dialog).toHaveTextContent('May 4, 2023 – Dec 4, 2023'));
    expect(callsOf(backend, 'preview_import')[1]).toEqual({ path: MOCK_IMPORT_PATH, dateOrder: 'mdy' });
    expect(within(dialog).queryByText(/Missiva guessed/)).toBeNull();
    expect(order).toHaveValue('mdy');

    // "Me" is the guessed participant; the new chat is titled after the export.
    const me = within(dialog).getByRole('combobox', { name: 'Which one is you?' });
    expect(me).toHaveValue('Anna Rossi');
    expect(within(me).getAllByRole('option').map((option) => option.textContent)).toEqual([
      'Anna Rossi',
      'Giulia Bianchi',
      'Luca Moretti',
      'None of these',
    ]);
    expect(within(dialog).getByRole('radio', { name: 'A new chat' })).toBeChecked();
    const title = within(dialog).getByRole('textbox', { name: 'Title of the new chat' });
    expect(title).toHaveValue('Trip to Sicily');
    await user.clear(title);
    expect(within(dialog).getByRole('button', { name: 'Import' })).toBeDisabled();
    await user.type(title, 'Sicily 2023');

    await user.click(within(dialog).getByRole('button', { name: 'Import' }));
    const bar = await within(dialog).findByRole('progressbar', { name: 'Import progress' });
    await waitFor(() => expect(Number(bar.getAttribute('value'))).toBeGreaterThan(0));
    expect(Number(bar.getAttribute('value'))).toBeLessThan(Number(bar.getAttribute('max')));
    await within(dialog).findByText('Import finished.', undefined, { timeout: 3000 });
    expect(callsOf(backend, 'run_import')).toEqual([
      expect.objectContaining({
        account: 1,
        path: MOCK_IMPORT_PATH,
        me: 'Anna Rossi',
        target: { kind: 'newChat', title: 'Sicily 2023' },
        dateOrder: 'mdy',
      }),
    ]);
    expect(dialog).toHaveTextContent('25 messages added');
    expect(dialog).toHaveTextContent('0 were already there');
    expect(dialog).toHaveTextContent('0 media files stored');
    await waitFor(() => expect(within(dialog).getByRole('button', { name: 'Open chat' })).toHaveFocus());

    await user.click(within(dialog).getByRole('button', { name: 'Open chat' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    const log = await screen.findByRole('log', { name: 'Messages with Sicily 2023' });
    // Incoming imported messages carry their author's name; the user's own do not.
    const alarm = within(log).getByText('I will. Alarm at 4:30, no complaints').closest('[data-message]') as HTMLElement;
    expect(within(alarm).getByText('Giulia Bianchi')).toBeVisible();
    expect(within(alarm).getByRole('img', { name: 'Imported' })).toHaveAttribute(
      'title',
      'Imported from a chat export; the time is the original one.',
    );
    const own = within(log).getByText('Boarding! See you at arrivals').closest('[data-message]') as HTMLElement;
    expect(own).toHaveClass('outgoing');
    expect(within(own).queryByText('Anna Rossi')).toBeNull();
    // A chat the import created has nobody to write to: a note instead of the composer.
    expect(screen.getByText(/An imported history: there is no one to send to here/)).toHaveAttribute('role', 'note');
    expect(screen.queryByRole('textbox', { name: 'Message' })).toBeNull();
    expect(within(own).queryByRole('img', { name: 'Read' })).toBeNull();
    // A system event of the export is a plain line, not a security warning.
    expect(within(log).queryByRole('note', { name: 'Security notice' })).toBeNull();
    expect(chatRows()).toContain('Sicily 2023');
  });

  test('importing the same file again adds nothing', async () => {
    const { user } = start();
    let dialog = await openPreview(user);
    await user.click(within(dialog).getByRole('button', { name: 'Import' }));
    await within(dialog).findByText('25 messages added', undefined, { timeout: 3000 });
    await user.click(within(dialog).getByRole('button', { name: 'Close' }));

    dialog = await openPreview(user);
    await user.click(within(dialog).getByRole('button', { name: 'Import' }));
    await within(dialog).findByText('0 messages added', undefined, { timeout: 3000 });
    expect(dialog).toHaveTextContent('25 were already there');
    await user.click(within(dialog).getByRole('button', { name: 'Close' }));
    expect(chatRows()).toEqual(['Trip to Sicily']);
  });

  test('into an existing chat: the messages join the chat with the contact', async () => {
    const { backend, user } = start();
    backend.seed(1, 'bruno', [{ text: 'ciao', at: new Date().toISOString() }]);
    await screen.findByRole('button', { name: 'Bruno Bianchi' });
    const dialog = await openPreview(user);
    await user.click(within(dialog).getByRole('radio', { name: 'An existing chat' }));
    expect(within(dialog).getByRole('button', { name: 'Import' })).toBeDisabled();
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Chat to import into' }), 'Bruno Bianchi');
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Which one is you?' }), 'None of these');
    await user.click(within(dialog).getByRole('button', { name: 'Import' }));
    await within(dialog).findByText('25 messages added', undefined, { timeout: 3000 });
    expect(callsOf(backend, 'run_import')[0]).toMatchObject({ me: null, target: { kind: 'chat', chat: 1 } });
    await user.click(within(dialog).getByRole('button', { name: 'Open chat' }));
    const log = await screen.findByRole('log', { name: 'Messages with Bruno Bianchi' });
    await within(log).findByText('ciao');
    // With no "me", Anna's messages are incoming, with her name.
    const anna = within(log).getByText('Boarding! See you at arrivals').closest('[data-message]') as HTMLElement;
    expect(anna).not.toHaveClass('outgoing');
    expect(within(anna).getByText('Anna Rossi')).toBeVisible();
    expect(chatRows()).toEqual(['Bruno Bianchi']);
    // Into a contact's chat: the conversation goes on there.
    expect(screen.getByRole('textbox', { name: 'Message' })).toBeVisible();
  });

  test('cancel stops the import with nothing added, and it can be run again', async () => {
    const { backend, user } = start({ timing: { ...FAST, importStep: 150 } });
    const dialog = await openPreview(user);
    await user.click(within(dialog).getByRole('button', { name: 'Import' }));
    await within(dialog).findByRole('progressbar', { name: 'Import progress' });
    await user.click(within(dialog).getByRole('button', { name: 'Cancel import' }));
    await within(dialog).findByText('Import cancelled — nothing was added.', undefined, { timeout: 3000 });
    expect(callsOf(backend, 'cancel_import')).toEqual([{ account: 1 }]);
    expect(chatRows()).toEqual([]);
    expect(callsOf(backend, 'list_chats').length).toBeGreaterThan(0);

    // Try again keeps the choices made before.
    await user.click(within(dialog).getByRole('button', { name: 'Try again' }));
    expect(within(dialog).getByRole('textbox', { name: 'Title of the new chat' })).toHaveValue('Trip to Sicily');
    await user.click(within(dialog).getByRole('button', { name: 'Import' }));
    await within(dialog).findByText('25 messages added', undefined, { timeout: 5000 });
    await waitFor(() => expect(chatRows()).toEqual(['Trip to Sicily']));
  });

  test('a file that is no export, dropped on the window, shows why and keeps the wizard open', async () => {
    const { backend, user } = start();
    await screen.findByRole('heading', { level: 1, name: 'Anna' });
    backend.emit({ account: 1, kind: { type: 'importFileDropped', path: '/home/anna/notes/bad.txt' } });
    const dialog = await screen.findByRole('dialog', { name: 'Import a WhatsApp chat' });
    await waitFor(() =>
      expect(within(dialog).getByRole('alert')).toHaveTextContent(
        'bad.txt is not a WhatsApp chat export: none of its lines starts with a date and time.',
      ),
    );
    expect(callsOf(backend, 'preview_import')).toEqual([{ path: '/home/anna/notes/bad.txt', dateOrder: null }]);

    // Nothing is lost: another file can be chosen from the same dialog.
    await user.click(within(dialog).getByRole('button', { name: 'Choose file…' }));
    await within(dialog).findByText('WhatsApp on Android');
    expect(within(dialog).getByRole('alert')).toHaveTextContent('');
  });

  test('a failing re-read keeps the preview and the date order it was read with', async () => {
    const { backend, user } = start();
    const dialog = await openPreview(user);
    backend.failNext('preview_import', { code: 'io', message: 'The file could not be read: it was moved.' });
    const order = within(dialog).getByRole('combobox', { name: 'Date order' });
    await user.selectOptions(order, 'ymd');
    await waitFor(() =>
      expect(within(dialog).getByRole('alert')).toHaveTextContent('The file could not be read: it was moved.'),
    );
    expect(order).toHaveValue('dmy');
    expect(dialog).toHaveTextContent('Apr 5, 2023 – Apr 12, 2023');
    expect(within(dialog).getByRole('button', { name: 'Import' })).toBeEnabled();
  });

  test('a failing import goes back to the preview with the error and the choices', async () => {
    const { backend, user } = start();
    const dialog = await openPreview(user);
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Which one is you?' }), 'Luca Moretti');
    backend.failNext('run_import', { code: 'io', message: 'The disk is full.' });
    await user.click(within(dialog).getByRole('button', { name: 'Import' }));
    await waitFor(() => expect(within(dialog).getByRole('alert')).toHaveTextContent('The disk is full.'));
    expect(within(dialog).getByRole('combobox', { name: 'Which one is you?' })).toHaveValue('Luca Moretti');
    expect(chatRows()).toEqual([]);
  });

  test('a dialog cancelled in the file picker stays on the first step', async () => {
    const { backend, user } = start();
    await user.click(await screen.findByRole('button', { name: 'Account options' }));
    await user.click(screen.getByRole('menuitem', { name: 'Import chat…' }));
    const dialog = await screen.findByRole('dialog', { name: 'Import a WhatsApp chat' });
    expect(dialog).toHaveTextContent('Drop a chat exported from WhatsApp (.txt or .zip) on this window');
    backend.failNext('pick_import_file', { code: 'internal', message: 'No file dialog on this system.' });
    await user.click(within(dialog).getByRole('button', { name: 'Choose file…' }));
    await waitFor(() => expect(within(dialog).getByRole('alert')).toHaveTextContent('No file dialog on this system.'));
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });
});

describe('imported messages in the conversation', () => {
  const base: MessageView = {
    id: 'a'.repeat(32),
    chat: 1,
    sender: null,
    outgoing: false,
    kind: 'text',
    text: 'Who brings the tent?',
    sentAt: '2023-04-07T06:30:00Z',
    receivedAt: '2023-04-07T06:30:00Z',
    state: 'read',
    imported: true,
    attachments: [],
    poll: null,
    missingFile: null,
    author: 'Giulia Bianchi',
  };

  test('an incoming one shows its author and the imported mark; a normal one neither', () => {
    render(MessageBubble, { message: base });
    render(MessageBubble, { message: { ...base, id: 'b'.repeat(32), imported: false, author: null, text: 'live' } });
    const imported = screen.getByText('Who brings the tent?').closest('[data-message]') as HTMLElement;
    expect(within(imported).getByText('Giulia Bianchi')).toBeVisible();
    expect(within(imported).getByRole('img', { name: 'Imported' })).toBeVisible();
    const live = screen.getByText('live').closest('[data-message]') as HTMLElement;
    expect(within(live).queryByRole('img', { name: 'Imported' })).toBeNull();
  });

  test('a continued one does not repeat the author', () => {
    render(MessageBubble, { message: base, continued: true });
    expect(screen.queryByText('Giulia Bianchi')).toBeNull();
  });

  test('an imported system event is a plain line, not a security notice', () => {
    render(MessageBubble, { message: { ...base, kind: 'system', author: null, text: 'Luca Moretti changed the group description' } });
    expect(screen.getByRole('note', { name: 'Event from the imported chat' })).toHaveTextContent(
      'Luca Moretti changed the group description',
    );
    expect(screen.queryByRole('note', { name: 'Security notice' })).toBeNull();
  });

  test('an attached photo is shown and saved where the user chooses; missing media say so', async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'attachment_data') return new Uint8Array([137, 80, 78, 71]).buffer;
      if (cmd === 'save_attachment') return true;
      return null;
    });
    const created = vi.fn(() => 'blob:photo');
    URL.createObjectURL = created;
    URL.revokeObjectURL = vi.fn();
    chats.account = 1;
    const user = userEvent.setup();
    const photo = { id: 7, name: 'IMG-20230407-WA0001.jpg', mime: 'image/jpeg', size: 51234 };
    render(MessageBubble, { message: { ...base, kind: 'media', text: 'Nice view', attachments: [photo] } });

    const img = await screen.findByRole('img', { name: photo.name });
    expect(img).toHaveAttribute('src', 'blob:photo');
    expect(calls).toContainEqual(['attachment_data', { account: 1, attachment: 7 }]);
    expect(screen.getByText('51 KB')).toBeVisible();
    expect(screen.getByText('Nice view')).toBeVisible();
    // Shown again (scrolled back into view): decrypted once.
    render(MessageBubble, { message: { ...base, id: 'd'.repeat(32), kind: 'media', text: 'again', attachments: [photo] } });
    await waitFor(() => expect(screen.getAllByRole('img', { name: photo.name })).toHaveLength(2));
    expect(calls.filter(([cmd]) => cmd === 'attachment_data')).toHaveLength(1);
    await user.click(screen.getAllByRole('button', { name: `Save ${photo.name}…` })[0]);
    expect(calls).toContainEqual(['save_attachment', { account: 1, attachment: 7, name: photo.name }]);

    render(MessageBubble, { message: { ...base, id: 'c'.repeat(32), kind: 'media', text: '' } });
    expect(screen.getByText('Media not included in the export')).toBeVisible();
  });

  test('an imported poll is a closed poll card with counts, shares and the leading option', () => {
    const poll = {
      question: 'Where shall we eat?',
      options: [
        { text: 'Pizza', votes: 3 },
        { text: 'Sushi', votes: 1 },
        { text: 'Ramen', votes: 0 },
      ],
      closed: true,
    };
    render(MessageBubble, { message: { ...base, kind: 'poll', text: 'Where shall we eat?\nPizza\nSushi\nRamen', poll } });
    const card = screen.getByRole('group', { name: 'Poll: Where shall we eat?' });
    const rows = within(card)
      .getAllByRole('listitem')
      .map((row) => row.textContent?.replace(/\s+/g, ' ').trim());
    expect(rows).toEqual(['Pizza 3 votes · 75%', 'Sushi 1 vote · 25%', 'Ramen 0 votes · 0%']);
    expect(within(card).getAllByRole('listitem')[0]).toHaveClass('leading');
    expect(card).toHaveTextContent('Closed · 4 votes in all');
  });

  test('an imported message without text says what it was', () => {
    render(MessageBubble, { message: { ...base, kind: 'deleted', text: '' } });
    expect(screen.getByText('Deleted message')).toBeVisible();
  });

  test('a file the export did not include is named', () => {
    render(MessageBubble, { message: { ...base, kind: 'media', text: '', missingFile: 'IMG-20230407-WA0002.jpg' } });
    expect(screen.getByText('IMG-20230407-WA0002.jpg was not included in the export')).toBeVisible();
  });
});
