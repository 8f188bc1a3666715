// What a message is, in words: for the kinds an imported history brings, which often have no
// text of their own (a deleted message, a call, media left out of the export…).
import type { MessageKind } from './bindings/MessageKind';
import { t, type MessageKey } from './i18n';

const LABELS: Record<MessageKind, MessageKey | null> = {
  text: null,
  system: null,
  media: 'import.kind.media',
  deleted: 'import.kind.deleted',
  'view-once': 'import.kind.viewOnce',
  waiting: 'import.kind.waiting',
  location: 'import.kind.location',
  'live-location': 'import.kind.liveLocation',
  contact: 'import.kind.contact',
  poll: 'import.kind.poll',
  call: 'import.kind.call',
};

/** The kind in words; null for texts and system lines, which are their text. */
export function kindLabel(kind: MessageKind): string | null {
  const key = LABELS[kind];
  return key ? t(key) : null;
}
