import { describe, expect, test } from 'vitest';
import type { MessageView } from '../lib/api';
import { merge } from '../lib/stores/messages.svelte';

const m = (id: string, state: MessageView['state'] = 'sent'): MessageView => ({
  id,
  chat: 1,
  sender: null,
  outgoing: true,
  kind: 'text',
  text: id,
  sentAt: '2026-11-22T10:00:00Z',
  receivedAt: '2026-11-22T10:00:00Z',
  state,
  imported: false,
  author: null,
  attachments: [],
  poll: null,
  missingFile: null,
});

describe('merging a re-read into the loaded messages', () => {
  test('keeps the older pages above the newest ones and takes their new states', () => {
    const loaded = [m('a'), m('b'), m('c'), m('d', 'pending')];
    const newest = [m('c'), m('d', 'read'), m('e')];
    expect(merge(loaded, newest, 3).map((x) => `${x.id}:${x.state}`)).toEqual([
      'a:sent',
      'b:sent',
      'c:sent',
      'd:read',
      'e:sent',
    ]);
  });

  test('a short answer is the whole chat', () => {
    expect(merge([m('a'), m('b')], [m('b')], 3).map((x) => x.id)).toEqual(['b']);
  });
});
