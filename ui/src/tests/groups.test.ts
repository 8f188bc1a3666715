import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, test } from 'vitest';
import GroupPanel from '../components/GroupPanel.svelte';
import NewGroupDialog from '../components/NewGroupDialog.svelte';
import type { AccountInfo, ContactInfo, GroupInfo } from '../lib/api';
import { contacts } from '../lib/stores/contacts.svelte';

const ACCOUNT: AccountInfo = {
  id: 1,
  name: 'Anna',
  relay: 'ws://127.0.0.1:7400',
  handle: 'anna',
  keystore: 'file',
  createdAt: '2026-12-03T10:00:00Z',
  selected: true,
  unread: 0,
};

function contact(id: number, handle: string): ContactInfo {
  return {
    id,
    handle,
    displayName: handle,
    safetyNumber: '12345 '.repeat(12).trim(),
    identityChanged: false,
    verified: false,
    createdAt: '2026-12-03T10:00:00Z',
  };
}

const GROUP: GroupInfo = {
  chat: 7,
  id: 'a'.repeat(32),
  name: 'Book club',
  admin: true,
  member: true,
  avatar: false,
  revision: 1,
  members: [
    { contact: null, handle: 'anna', admin: true, me: true },
    { contact: 2, handle: 'bea', admin: false, me: false },
  ],
};

/** A backend that records every call and answers the group commands. */
function backend(answer: (cmd: string, args: Record<string, unknown>) => unknown) {
  const calls: Array<[string, Record<string, unknown>]> = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push([cmd, a]);
    return answer(cmd, a);
  });
  return calls;
}

describe('groups', () => {
  test('the new group dialog sends the name and the chosen contacts', async () => {
    const calls = backend((cmd) => {
      if (cmd === 'list_contacts') return [contact(2, 'bea'), contact(3, 'cleo'), contact(4, '#00ff')];
      if (cmd === 'create_group') return GROUP;
      throw new Error(`unexpected ${cmd}`);
    });
    contacts.reset();
    await contacts.show(1);
    let closed = false;
    render(NewGroupDialog, { account: ACCOUNT, onclose: () => (closed = true) });
    // A contact known only by key cannot be picked.
    expect(screen.queryByText('@#00ff')).toBeNull();
    const user = userEvent.setup();
    const create = screen.getByRole('button', { name: /Create group/ });
    expect(create).toBeDisabled();
    await user.type(screen.getByLabelText('Group name'), 'Book club');
    await user.click(screen.getByRole('checkbox', { name: /@bea/ }));
    expect(create).toHaveTextContent('Create group of 2');
    await user.click(create);
    await waitFor(() => expect(closed).toBe(true));
    const made = calls.find(([cmd]) => cmd === 'create_group');
    expect(made?.[1]).toMatchObject({ account: 1, name: 'Book club', members: [2] });
  });

  test('an admin sees the members, removes one, and the refusal of the backend is shown', async () => {
    const calls = backend((cmd) => {
      if (cmd === 'remove_group_member') {
        return { ...GROUP, revision: 2, members: [GROUP.members[0]] };
      }
      if (cmd === 'leave_group') {
        throw { code: 'invalid_input', message: 'make someone else an admin before leaving' };
      }
      if (cmd === 'list_contacts') return [];
      throw new Error(`unexpected ${cmd}`);
    });
    render(GroupPanel, { account: ACCOUNT, info: GROUP, onclose: () => {} });
    expect(screen.getByText('2 members')).toBeInTheDocument();
    expect(screen.getByText('@bea')).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Remove @bea from the group' }));
    await waitFor(() => expect(calls.some(([cmd]) => cmd === 'remove_group_member')).toBe(true));
    expect(calls.find(([cmd]) => cmd === 'remove_group_member')?.[1]).toMatchObject({
      account: 1,
      chat: 7,
      member: 2,
    });
    await user.click(screen.getByRole('button', { name: 'Leave group' }));
    await user.click(screen.getByRole('button', { name: 'Leave for good' }));
    await waitFor(() =>
      expect(screen.getByRole('alert')).toHaveTextContent('make someone else an admin before leaving'),
    );
  });

  test('a member who left is told, and has nothing to change', async () => {
    backend(() => []);
    render(GroupPanel, {
      account: ACCOUNT,
      info: { ...GROUP, admin: false, member: false, members: [GROUP.members[1]] },
      onclose: () => {},
    });
    expect(screen.getByText(/no longer a member of this group/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Leave group' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Remove @/ })).toBeNull();
  });
});
