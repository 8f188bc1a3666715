import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import App from '../App.svelte';
import { installMockBackend, type MockOptions } from '../lib/mock-backend';
import { accounts } from '../lib/stores/accounts.svelte';
import { session } from '../lib/stores/session.svelte';

function start(options: MockOptions = {}) {
  const backend = installMockBackend({ accounts: ['Personal'], ...options });
  const user = userEvent.setup();
  const view = render(App);
  return { backend, user, view };
}

async function openSettings(user: ReturnType<typeof userEvent.setup>) {
  await user.click(await screen.findByRole('button', { name: 'Settings' }));
  const dialog = screen.getByRole('dialog', { name: 'Settings' });
  await within(dialog).findByRole('heading', { name: 'App passcode' });
  return dialog;
}

const passcodeCalls = (backend: { calls: { cmd: string; args: Record<string, unknown> }[] }) =>
  backend.calls.filter((call) => call.cmd === 'set_passcode').map((call) => call.args);

async function typePasscodes(
  user: ReturnType<typeof userEvent.setup>,
  dialog: HTMLElement,
  passcode: string,
  confirm: string,
) {
  await user.type(within(dialog).getByLabelText('Passcode'), passcode);
  await user.type(within(dialog).getByLabelText('Confirm passcode'), confirm);
}

describe('settings dialog', () => {
  test('opens from the rail and shows the passcode state and the app facts', async () => {
    const { backend, user } = start({ keystore: 'file' });
    const dialog = await openSettings(user);

    expect(within(dialog).getByText('Off')).toBeVisible();
    expect(dialog).toHaveTextContent(
      'Missiva asks for the passcode every time it starts and uses it to protect the keys of all accounts on this computer; if you forget it, the accounts cannot be opened.',
    );
    expect(within(dialog).getByRole('button', { name: 'Set passcode…' })).toBeVisible();
    expect(within(dialog).queryByRole('button', { name: 'Remove passcode' })).not.toBeInTheDocument();

    const about = within(dialog).getByRole('region', { name: 'About' });
    expect(about).toHaveTextContent('0.1.0-mock');
    expect(within(about).getByText('/mock/missiva')).toBeVisible();
    expect(within(about).getByText('A file in the data folder (less safe)')).toBeVisible();
    expect(backend.calls.map((call) => call.cmd)).toContain('has_passcode');

    await user.click(within(dialog).getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Settings' })).toHaveFocus();
  });

  test('the system keychain is named as such', async () => {
    const { user } = start();
    const dialog = await openSettings(user);
    expect(within(dialog).getByText('System keychain')).toBeVisible();
  });
});

describe('setting a passcode', () => {
  test('checks the two fields before asking the backend, then turns the passcode on', async () => {
    const { backend, user } = start();
    const dialog = await openSettings(user);
    await user.click(within(dialog).getByRole('button', { name: 'Set passcode…' }));
    expect(within(dialog).getByLabelText('Passcode')).toHaveFocus();

    await user.click(within(dialog).getByRole('button', { name: 'Set passcode' }));
    expect(within(dialog).getByRole('alert')).toHaveTextContent('Enter a passcode.');

    await typePasscodes(user, dialog, '123', '123');
    await user.click(within(dialog).getByRole('button', { name: 'Set passcode' }));
    expect(within(dialog).getByRole('alert')).toHaveTextContent(
      'The passcode must be at least 4 characters long.',
    );

    await user.clear(within(dialog).getByLabelText('Passcode'));
    await user.clear(within(dialog).getByLabelText('Confirm passcode'));
    await typePasscodes(user, dialog, 'river-stone', 'river-stones{Enter}');
    expect(within(dialog).getByRole('alert')).toHaveTextContent('The two passcodes do not match.');
    expect(within(dialog).getByLabelText('Confirm passcode')).toHaveAttribute('aria-invalid', 'true');
    expect(passcodeCalls(backend)).toEqual([]);

    await user.type(within(dialog).getByLabelText('Confirm passcode'), '{Backspace}{Enter}');

    expect(await within(dialog).findByText('On')).toBeVisible();
    expect(passcodeCalls(backend)).toEqual([{ passcode: 'river-stone' }]);
    expect(backend.passcode).toBe('river-stone');
    expect(within(dialog).queryByLabelText('Passcode')).not.toBeInTheDocument();
    expect(within(dialog).getByRole('status')).toHaveTextContent('Passcode saved.');
    expect(within(dialog).getByRole('button', { name: 'Change passcode…' })).toHaveFocus();
    expect(within(dialog).getByRole('button', { name: 'Remove passcode' })).toBeVisible();
  });

  test('is busy while the backend re-wraps the keys', async () => {
    const { backend, user } = start();
    const dialog = await openSettings(user);
    await user.click(within(dialog).getByRole('button', { name: 'Set passcode…' }));
    const release = backend.holdNext('set_passcode');
    await typePasscodes(user, dialog, 'abcd', 'abcd{Enter}');

    expect(await within(dialog).findByRole('button', { name: 'Saving…' })).toBeDisabled();
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toBeDisabled();
    release();
    expect(await within(dialog).findByText('On')).toBeVisible();
  });

  test('the backend error is shown in place and nothing changes', async () => {
    const { backend, user } = start();
    const dialog = await openSettings(user);
    await user.click(within(dialog).getByRole('button', { name: 'Set passcode…' }));
    backend.failNext('set_passcode', { code: 'invalid_input', message: 'The passcode is too long.' });
    await typePasscodes(user, dialog, 'abcd', 'abcd{Enter}');

    expect(await within(dialog).findByRole('alert')).toHaveTextContent('The passcode is too long.');
    expect(within(dialog).getByLabelText('Passcode')).toHaveAttribute('aria-invalid', 'true');
    expect(within(dialog).getByText('Off')).toBeVisible();
    expect(backend.passcode).toBeNull();
  });

  test('Escape leaves the form but keeps the dialog open', async () => {
    const { backend, user } = start();
    const dialog = await openSettings(user);
    await user.click(within(dialog).getByRole('button', { name: 'Set passcode…' }));
    await user.type(within(dialog).getByLabelText('Passcode'), 'abcd{Escape}');

    expect(screen.getByRole('dialog', { name: 'Settings' })).toBeInTheDocument();
    expect(within(dialog).queryByLabelText('Passcode')).not.toBeInTheDocument();
    expect(within(dialog).getByRole('button', { name: 'Set passcode…' })).toHaveFocus();
    expect(passcodeCalls(backend)).toEqual([]);
  });

  test('the next start asks for the new passcode', async () => {
    const { backend, user, view } = start();
    const dialog = await openSettings(user);
    await user.click(within(dialog).getByRole('button', { name: 'Set passcode…' }));
    await typePasscodes(user, dialog, 'abcd', 'abcd{Enter}');
    await within(dialog).findByText('On');

    view.unmount();
    accounts.reset();
    session.reset();
    backend.restart();
    render(App);

    await user.type(await screen.findByLabelText('Passcode'), 'abcd{Enter}');
    expect(await screen.findByRole('button', { name: 'Personal' })).toBeVisible();
  });
});

describe('with a passcode set', () => {
  async function openUnlocked(user: ReturnType<typeof userEvent.setup>) {
    await user.type(await screen.findByLabelText('Passcode'), '1234{Enter}');
    return openSettings(user);
  }

  test('changing it sends the new one', async () => {
    const { backend, user } = start({ passcode: '1234' });
    const dialog = await openUnlocked(user);
    expect(within(dialog).getByText('On')).toBeVisible();

    await user.click(within(dialog).getByRole('button', { name: 'Change passcode…' }));
    await typePasscodes(user, dialog, 'new-code', 'new-code');
    await user.click(within(dialog).getByRole('button', { name: 'Change passcode' }));

    await waitFor(() => expect(passcodeCalls(backend)).toEqual([{ passcode: 'new-code' }]));
    expect(await within(dialog).findByRole('button', { name: 'Change passcode…' })).toBeVisible();
    expect(within(dialog).getByText('On')).toBeVisible();
    expect(backend.passcode).toBe('new-code');
  });

  test('removing it asks first, then turns it off', async () => {
    const { backend, user } = start({ passcode: '1234' });
    const dialog = await openUnlocked(user);

    await user.click(within(dialog).getByRole('button', { name: 'Remove passcode' }));
    expect(dialog).toHaveTextContent('Remove the passcode? Missiva will open without asking for it');
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    expect(passcodeCalls(backend)).toEqual([]);

    await user.click(within(dialog).getByRole('button', { name: 'Remove passcode' }));

    expect(await within(dialog).findByText('Off')).toBeVisible();
    expect(passcodeCalls(backend)).toEqual([{ passcode: null }]);
    expect(backend.passcode).toBeNull();
    expect(within(dialog).getByRole('status')).toHaveTextContent('Passcode removed.');
    expect(within(dialog).getByRole('button', { name: 'Set passcode…' })).toHaveFocus();
  });

  test('cancelling the removal keeps the passcode', async () => {
    const { backend, user } = start({ passcode: '1234' });
    const dialog = await openUnlocked(user);
    await user.click(within(dialog).getByRole('button', { name: 'Remove passcode' }));
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));

    expect(within(dialog).getByText('On')).toBeVisible();
    expect(within(dialog).getByRole('button', { name: 'Change passcode…' })).toHaveFocus();
    expect(passcodeCalls(backend)).toEqual([]);
  });
});
