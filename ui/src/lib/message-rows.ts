// The rows of a conversation: a separator before the first message of each day, then the
// messages. The message list virtualizes these rows.
import type { MessageView } from './bindings/MessageView';
import { dayKey, dayLabel } from './format';

export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'message'; key: string; message: MessageView; /** Follows one from the same sender. */ continued: boolean };

export function buildRows(messages: readonly MessageView[], now: Date = new Date()): Row[] {
  const rows: Row[] = [];
  let day: string | null = null;
  let previous: MessageView | null = null;
  for (const message of messages) {
    const key = dayKey(message.sentAt);
    if (key !== day) {
      rows.push({ kind: 'day', key: `day-${key}`, label: dayLabel(message.sentAt, now) });
      day = key;
      previous = null;
    }
    const continued =
      previous !== null &&
      previous.kind === 'text' &&
      message.kind === 'text' &&
      previous.outgoing === message.outgoing &&
      previous.sender === message.sender &&
      previous.author === message.author;
    rows.push({ kind: 'message', key: message.id, message, continued });
    previous = message;
  }
  return rows;
}

/** Estimated heights until a row is measured on screen. */
export function estimateHeight(row: Row): number {
  if (row.kind === 'day') return 44;
  if (row.message.kind === 'system') return 52;
  const lines = Math.max(1, Math.ceil(row.message.text.length / 48)) + (row.message.text.match(/\n/g)?.length ?? 0);
  return (row.continued ? 4 : 10) + 30 + lines * 20;
}

/** Prefix sums: `offsets[i]` is the top of row `i`, `offsets[n]` the total height. */
export function offsetsOf(heights: readonly number[]): number[] {
  const offsets = new Array<number>(heights.length + 1);
  offsets[0] = 0;
  for (let i = 0; i < heights.length; i++) offsets[i + 1] = offsets[i] + heights[i];
  return offsets;
}

/** The index of the row at height `y` (the last row whose top is at or above it). */
export function rowAt(offsets: readonly number[], y: number): number {
  let low = 0;
  let high = offsets.length - 2;
  if (high < 0) return 0;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (offsets[middle] <= y) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** Rows `[start, end)` to render for a viewport at `scrollTop`, with `overscan` pixels each side. */
export function visibleRange(
  offsets: readonly number[],
  scrollTop: number,
  viewport: number,
  overscan: number,
): { start: number; end: number } {
  const count = offsets.length - 1;
  if (count <= 0) return { start: 0, end: 0 };
  const start = rowAt(offsets, Math.max(0, scrollTop - overscan));
  const end = Math.min(count, rowAt(offsets, scrollTop + viewport + overscan) + 1);
  return { start, end };
}
