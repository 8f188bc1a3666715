import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, test } from 'vitest';
import App from '../App.svelte';
import { installMockBackend, type MockOptions } from '../lib/mock-backend';

function start(options: MockOptions = {}) {
  const backend = installMockBackend(options);
  const user = userEvent.setup();
  render(App);
  return { backend, user };
}

const commands = (backend: { calls: { cmd: string }[] }) => backend.calls.map((call) => call.cmd);

describe('first start', () => {
  test('shows the welcome screen when there are no accounts', async () => {
    start();
    expect(await screen.findByRole('heading', { name: 'Welcome to Missiva' })).toBeVisible();
    expect(screen.getByRole('button', { name: 'Create your first account' })).toBeVisible();
    expect(screen.queryByRole('navigation', { name: 'Accounts' })).not.toBeInTheDocument();
  });

  test('creating the first account shows its avatar and name', async () => {
    const { backend, user } = start();
    await user.click(await screen.findByRole('button', { name: 'Create your first account' }));

    const dialog = screen.getByRole('dialog', { name: 'Add account' });
    const name = within(dialog).getByLabelText('Name');
    expect(name).toHaveFocus();
    await user.type(name, 'Anna Rossi');
    await user.type(within(dialog).getByLabelText(/Relay address/), 'wss://relay.example.org{Enter}');

    const avatar = await screen.findByRole('button', { name: 'Anna Rossi' });
    expect(avatar).toHaveTextContent('AR');
    expect(avatar).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByRole('heading', { name: 'Anna Rossi' })).toBeVisible();
    expect(screen.getByText('No chats yet')).toBeVisible();
    expect(screen.getByText('Select a chat to start messaging')).toBeVisible();
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(backend.calls).toContainEqual({
      cmd: 'create_account',
      args: { name: 'Anna Rossi', relay: 'wss://relay.example.org', handle: null },
    });
  });

  test('the backend validation error is shown in the dialog, which stays open', async () => {
    const { backend, user } = start();
    await user.click(await screen.findByRole('button', { name: 'Create your first account' }));
    const dialog = screen.getByRole('dialog', { name: 'Add account' });
    await user.type(within(dialog).getByLabelText('Name'), 'Work');
    await user.type(within(dialog).getByLabelText(/Relay address/), 'http://relay.example.org');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));

    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'The relay address must start with ws:// or wss://.',
    );
    expect(screen.getByRole('dialog', { name: 'Add account' })).toBeInTheDocument();
    expect(backend.accounts).toHaveLength(0);
  });

  test('Escape closes the dialog without creating anything', async () => {
    const { backend, user } = start();
    await user.click(await screen.findByRole('button', { name: 'Create your first account' }));
    await user.type(screen.getByLabelText('Name'), 'Work');
    await user.keyboard('{Escape}');

    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(commands(backend)).not.toContain('create_account');
    expect(screen.getByRole('button', { name: 'Create your first account' })).toHaveFocus();
  });
});

describe('several accounts', () => {
  test('clicking an avatar selects that account', async () => {
    const { backend, user } = start({ accounts: ['Personal', 'Work'] });
    const work = await screen.findByRole('button', { name: 'Work' });
    expect(work).toHaveAttribute('aria-pressed', 'false');

    await user.click(work);

    expect(backend.calls).toContainEqual({ cmd: 'select_account', args: { id: 2 } });
    await waitFor(() => expect(work).toHaveAttribute('aria-pressed', 'true'));
    expect(screen.getByRole('button', { name: 'Personal' })).toHaveAttribute('aria-pressed', 'false');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Work');
  });

  test('adding a second account switches to it', async () => {
    const { user } = start({ accounts: ['Personal'] });
    await user.click(await screen.findByRole('button', { name: 'Add account' }));
    await user.type(screen.getByLabelText('Name'), 'Club{Enter}');

    expect(await screen.findByRole('button', { name: 'Club' })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByRole('button', { name: 'Personal' })).toHaveAttribute('aria-pressed', 'false');
  });

  test('renaming the account from the options menu', async () => {
    const { backend, user } = start({ accounts: ['Personal'] });
    const options = await screen.findByRole('button', { name: 'Account options' });
    expect(options).toHaveAttribute('title', 'Account options');
    await user.click(options);
    // The button's tooltip would cover the open menu's first item.
    expect(options).not.toHaveAttribute('title');
    await user.click(screen.getByRole('menuitem', { name: 'Rename…' }));

    const dialog = screen.getByRole('dialog', { name: 'Rename account' });
    const name = within(dialog).getByLabelText('Name');
    expect(name).toHaveValue('Personal');
    await user.clear(name);
    await user.type(name, 'Family{Enter}');

    expect(await screen.findByRole('button', { name: 'Family' })).toBeVisible();
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Family');
    expect(backend.calls).toContainEqual({ cmd: 'rename_account', args: { id: 1, name: 'Family' } });
  });

  test('removing an account asks first, then shows the remaining one', async () => {
    const { backend, user } = start({ accounts: ['Personal', 'Work'] });
    await user.click(await screen.findByRole('button', { name: 'Account options' }));
    await user.click(screen.getByRole('menuitem', { name: 'Remove…' }));

    const confirm = screen.getByRole('alertdialog', { name: 'Remove account' });
    expect(confirm).toHaveTextContent(
      'Remove account “Personal”? Its messages and keys will be deleted from this computer.',
    );
    await user.click(within(confirm).getByRole('button', { name: 'Remove' }));

    await waitFor(() => expect(screen.queryByRole('button', { name: 'Personal' })).not.toBeInTheDocument());
    expect(screen.getByRole('button', { name: 'Work' })).toHaveAttribute('aria-pressed', 'true');
    expect(backend.calls).toContainEqual({ cmd: 'remove_account', args: { id: 1 } });
  });

  test('removing the last account goes back to the welcome screen', async () => {
    const { user } = start({ accounts: ['Personal'] });
    await user.click(await screen.findByRole('button', { name: 'Account options' }));
    await user.click(screen.getByRole('menuitem', { name: 'Remove…' }));
    await user.click(screen.getByRole('button', { name: 'Remove' }));

    expect(await screen.findByRole('heading', { name: 'Welcome to Missiva' })).toBeVisible();
  });

  test('a file keystore is pointed out in the chat list header', async () => {
    start({ accounts: ['Server'], keystore: 'file' });
    expect(
      await screen.findByText(/Keys are stored in a file, which is less safe than the system keychain/),
    ).toBeVisible();
  });

  test('the notice is absent with the system keychain', async () => {
    start({ accounts: ['Personal'] });
    await screen.findByRole('heading', { name: 'Personal' });
    expect(screen.queryByText(/Keys are stored in a file/)).not.toBeInTheDocument();
  });
});

describe('events', () => {
  test('an event on the channel makes the UI re-read the accounts', async () => {
    const { backend } = start({ accounts: ['Personal'] });
    await screen.findByRole('button', { name: 'Personal' });
    const listsBefore = commands(backend).filter((cmd) => cmd === 'list_accounts').length;

    // Another part of the backend added an account; only the event tells the UI.
    backend.accounts.push({ ...backend.accounts[0], id: 7, name: 'Laptop', selected: false });
    backend.emit({ account: 7, kind: { type: 'accountCreated' } });

    expect(await screen.findByRole('button', { name: 'Laptop' })).toBeVisible();
    expect(commands(backend).filter((cmd) => cmd === 'list_accounts').length).toBe(listsBefore + 1);
  });

  test('eventsLost also triggers a re-read', async () => {
    const { backend } = start({ accounts: ['Personal'] });
    await screen.findByRole('button', { name: 'Personal' });
    backend.accounts[0].name = 'Renamed elsewhere';
    backend.emit({ account: null, kind: { type: 'eventsLost', count: 12 } });
    expect(await screen.findByRole('button', { name: 'Renamed elsewhere' })).toBeVisible();
  });
});

describe('start-up errors', () => {
  test('already_running shows a full-window error with the message', async () => {
    mockIPC(() => {
      throw { code: 'already_running', message: 'Another Missiva is using /home/anna/.local/share/missiva.' };
    });
    render(App);

    expect(await screen.findByRole('heading', { name: 'Missiva is already running' })).toBeVisible();
    expect(screen.getByText('Another Missiva is using /home/anna/.local/share/missiva.')).toBeVisible();
    expect(screen.queryByRole('button', { name: 'Create your first account' })).not.toBeInTheDocument();
  });

  test('passcode_required asks for the passcode; a wrong one is refused', async () => {
    const { backend, user } = start({ passcode: '1234', accounts: ['Personal'] });
    const field = await screen.findByLabelText('Passcode');
    expect(field).toHaveFocus();

    await user.type(field, '9999{Enter}');
    expect(await screen.findByText('Wrong passcode. Try again.')).toBeVisible();

    await user.type(screen.getByLabelText('Passcode'), '1234{Enter}');
    expect(await screen.findByRole('button', { name: 'Personal' })).toBeVisible();
    expect(backend.calls).toContainEqual({ cmd: 'unlock', args: { passcode: '1234' } });
  });
});
