// The import half of the mock backend: an invented WhatsApp export (an Android group chat),
// parsed here with the same rules the Rust importer applies to that family, so the preview,
// the date-order override, the progress, cancel and re-import all behave as they will for real.
// Any path previews this chat; a path ending in `bad.txt` is not an export.
import type { ChatId } from './bindings/ChatId';
import type { IpcError } from './bindings/IpcError';
import type {
  DateOrder,
  ImportPreview,
  ImportProgress,
  ImportReport,
  ImportSummary,
  PreviewEntry,
  UnparsedLine,
} from './api';
import { fail, type ImportedMessage, type MockMessaging } from './mock-messaging';

/** What `pick_import_file` answers, as if the user had picked it in the file dialog. */
export const MOCK_IMPORT_PATH = '/home/anna/Downloads/WhatsApp Chat with Trip to Sicily.txt';

/** The invented export. Every date fits both day/month and month/day, so the order is a guess. */
export const MOCK_EXPORT = [
  'Chat history with Trip to Sicily',
  '--------------------------------',
  '05/04/23, 18:02 - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more.',
  '05/04/23, 18:02 - Giulia Bianchi created group "Trip to Sicily"',
  '05/04/23, 18:02 - Giulia Bianchi added you',
  '05/04/23, 18:03 - Giulia Bianchi: Ciao! Here is the group for the trip',
  '05/04/23, 18:05 - Luca Moretti: Finally! Which dates?',
  '05/04/23, 18:07 - Giulia Bianchi: Flights land in Catania on the 12th at 10:40.',
  'Back on the 19th.',
  '05/04/23, 18:09 - Anna Rossi: Perfect, I will book the car',
  '06/04/23, 09:15 - Luca Moretti: IMG-20230406-WA0003.jpg (file attached)',
  'The beach near the B&B',
  '06/04/23, 09:16 - Giulia Bianchi: This message was deleted',
  '06/04/23, 09:20 - Anna Rossi: location: https://maps.google.com/?q=37.502669,15.087269',
  '06/04/23, 21:47 - Luca Moretti: <Media omitted>',
  '07/04/23, 08:30 - Giulia Bianchi: Who brings the tent?',
  '07/04/23, 08:31 - Anna Rossi: Me! And the stove',
  '07/04/23, 08:33 - Luca Moretti changed the group description',
  '08/04/23, 19:12 - Luca Moretti: PTT-20230408-WA0007.opus (file attached)',
  '08/04/23, 19:15 - Giulia Bianchi: Ahah yes',
  '09/04/23, 11:00 - Anna Rossi: Car booked: a Panda, pick-up at the airport',
  '09/04/23, 11:02 - Giulia Bianchi: Grande!',
  '10/04/23, 22:40 - Luca Moretti: Etna at sunrise on day two?',
  '10/04/23, 22:41 - Anna Rossi: Only if someone else drives up',
  '11/04/23, 07:05 - Giulia Bianchi: I will. Alarm at 4:30, no complaints',
  '11/04/23, 07:06 - Luca Moretti: 😴',
  '12/04/23, 06:15 - Anna Rossi: Boarding! See you at arrivals',
  '12/04/23, 10:52 - Giulia Bianchi: IMG-20230412-WA0011.jpg (file attached)',
  '12/04/23, 10:53 - Luca Moretti: Made it!',
].join('\n');

const HEADER = /^(\d{1,2})\/(\d{1,2})\/(\d{2,4}), (\d{1,2}):(\d{2}) - (.*)$/;
const AUTHORED = /^([^:]{1,80}): (.*)$/s;
const ATTACHED = /^(\S+\.\w{2,5}) \(file attached\)$/;
const PREVIEW_ENTRIES = 20;
const UNPARSED_SHOWN = 10;

interface Entry extends PreviewEntry {
  /** Where the entry's text starts in the file, for the progress. */
  offset: number;
}

interface Parsed {
  entries: Entry[];
  unparsed: UnparsedLine[];
  dateOrder: DateOrder;
  guessed: boolean;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** `05/04/23` read in `order`; null when it is no date. */
function dateOf(a: number, b: number, c: number, order: DateOrder): string | null {
  const [year, month, day] = order === 'dmy' ? [c, b, a] : order === 'mdy' ? [c, a, b] : [a, b, c];
  const fullYear = year < 100 ? 2000 + year : year;
  if (month < 1 || month > 12 || day < 1 || day > new Date(fullYear, month, 0).getDate()) return null;
  return `${fullYear}-${pad(month)}-${pad(day)}`;
}

/** The file's order: one that makes every date valid, day/month first when several do. */
function detectOrder(lines: readonly string[]): { order: DateOrder; guessed: boolean } {
  const fits = (['dmy', 'mdy', 'ymd'] as const).filter((order) =>
    lines.every((line) => {
      const match = HEADER.exec(line);
      return !match || dateOf(Number(match[1]), Number(match[2]), Number(match[3]), order) !== null;
    }),
  );
  const plausible = fits.filter((order) => order !== 'ymd');
  return { order: plausible[0] ?? fits[0] ?? 'dmy', guessed: plausible.length !== 1 };
}

function kindOf(body: string): Pick<PreviewEntry, 'kind' | 'attachment' | 'body'> {
  const [first, ...rest] = body.split('\n');
  const attached = ATTACHED.exec(first);
  if (attached) return { kind: 'media', attachment: attached[1], body: rest.join('\n') };
  if (first === '<Media omitted>') return { kind: 'media', attachment: null, body: rest.join('\n') };
  if (body === 'This message was deleted') return { kind: 'deleted', attachment: null, body };
  if (body.startsWith('location: ')) return { kind: 'location', attachment: null, body };
  return { kind: 'text', attachment: null, body };
}

export function parseExport(text: string, override: DateOrder | null): Parsed {
  const lines = text.split('\n');
  const detected = detectOrder(lines);
  const dateOrder = override ?? detected.order;
  const entries: Entry[] = [];
  const unparsed: UnparsedLine[] = [];
  let offset = 0;
  lines.forEach((line, index) => {
    const match = HEADER.exec(line);
    const date = match && dateOf(Number(match[1]), Number(match[2]), Number(match[3]), dateOrder);
    const last = entries[entries.length - 1];
    if (match && date && Number(match[4]) < 24) {
      const timestamp = `${date}T${pad(Number(match[4]))}:${match[5]}:00`;
      const authored = AUTHORED.exec(match[6]);
      entries.push({
        line: index + 1,
        timestamp,
        author: authored ? authored[1] : null,
        body: authored ? authored[2] : match[6],
        kind: authored ? 'text' : 'system',
        attachment: null,
        offset,
      });
    } else if (last) {
      last.body += `\n${line}`;
    } else {
      unparsed.push({ line: index + 1, text: line });
    }
    offset += new TextEncoder().encode(`${line}\n`).length;
  });
  for (const entry of entries) if (entry.kind === 'text') Object.assign(entry, kindOf(entry.body));
  return { entries, unparsed, dateOrder, guessed: override === null && detected.guessed };
}

function report(parsed: Parsed, zip: boolean): ImportReport {
  const { entries } = parsed;
  const media = entries.filter((entry) => entry.kind === 'media').length;
  const found = zip ? entries.filter((entry) => entry.kind === 'media' && entry.attachment !== null).length : 0;
  const participants = [...new Set(entries.flatMap((entry) => (entry.author === null ? [] : [entry.author])))].sort();
  const times = entries.map((entry) => entry.timestamp).sort();
  return {
    format: 'android',
    date_order: parsed.dateOrder,
    date_order_basis: parsed.guessed ? 'default' : 'field-above12',
    date_order_guessed: parsed.guessed,
    hour12: false,
    messages: entries.filter((entry) => entry.author !== null).length,
    system: entries.filter((entry) => entry.author === null).length,
    other: 0,
    media,
    media_found: found,
    media_missing: media - found,
    participants,
    first: times[0] ?? null,
    last: times[times.length - 1] ?? null,
    unparsed_lines: parsed.unparsed.slice(0, UNPARSED_SHOWN),
    unparsed_total: parsed.unparsed.length,
    warnings: parsed.guessed ? ['date-order-guessed'] : [],
  };
}

function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** 32 hex characters from the entry's content, so importing the same file twice adds nothing. */
function contentId(entry: PreviewEntry): string {
  let out = '';
  for (let round = 0; round < 4; round++) {
    let state = 2166136261 ^ round;
    for (const char of `${entry.line}|${entry.timestamp}|${entry.author}|${entry.body}|${entry.attachment}`) {
      state ^= char.codePointAt(0) ?? 0;
      state = Math.imul(state, 16777619) >>> 0;
    }
    out += state.toString(16).padStart(8, '0');
  }
  return out;
}

/** The text an imported entry shows in the conversation. */
let nextAttachment = 1;

/** The MIME type the backend would give a media file, from its extension. */
function mimeOf(name: string): string {
  const ext = name.split('.').pop()?.toLowerCase() ?? '';
  const known: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', opus: 'audio/ogg', mp4: 'video/mp4', pdf: 'application/pdf' };
  return known[ext] ?? 'application/octet-stream';
}

function validPath(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') fail('invalid_input', 'Choose a file to import.');
  if (!/\.(txt|zip)$/i.test(value)) fail('invalid_input', `${fileName(value)} is not a .txt or .zip file.`);
  if (/bad\.txt$/i.test(value))
    fail(
      'invalid_input',
      `${fileName(value)} is not a WhatsApp chat export: none of its lines starts with a date and time.`,
    );
  return value;
}

function validOrder(value: unknown): DateOrder | null {
  if (value === null || value === undefined) return null;
  if (value === 'dmy' || value === 'mdy' || value === 'ymd') return value;
  fail('invalid_input', 'The date order must be dmy, mdy or ymd.');
}

export interface MockImportOptions {
  messaging: MockMessaging;
  /** Sends `message` on the channel with `id` (the `index`-th message on it). */
  send: (id: number, index: number, message: unknown) => void;
  /** Milliseconds between two progress reports (ten in all). */
  step: () => number;
}

export function createImporter({ messaging, send, step }: MockImportOptions) {
  /** The running import's cancel flag, per account. */
  const running = new Map<number, { cancelled: boolean }>();
  /** The chat a file went into, so importing it again as a new chat adds nothing. */
  const chatOfFile = new Map<string, ChatId>();

  function preview(path: string, order: DateOrder | null): ImportPreview {
    const parsed = parseExport(MOCK_EXPORT, order);
    const title = /WhatsApp Chat with (.+)\.(txt|zip)$/i.exec(fileName(path))?.[1] ?? null;
    return {
      path,
      file_name: fileName(path),
      chat_title: title,
      report: report(parsed, /\.zip$/i.test(path)),
      entries: parsed.entries.slice(0, PREVIEW_ENTRIES).map(({ offset: _offset, ...entry }) => entry),
      guessed_me: parsed.entries.some((entry) => entry.author === 'Anna Rossi') ? 'Anna Rossi' : null,
    };
  }

  async function run(accountId: number, args: Record<string, unknown>): Promise<ImportSummary> {
    const path = validPath(args.path);
    const order = validOrder(args.dateOrder);
    const channel = (args.onProgress as { id?: unknown } | null)?.id;
    if (typeof channel !== 'number') fail('invalid_input', 'onProgress must be a channel');
    const parsed = parseExport(MOCK_EXPORT, order);
    const participants = report(parsed, false).participants;
    const me = args.me ?? null;
    if (me !== null && (typeof me !== 'string' || !participants.includes(me)))
      fail('invalid_input', `${String(me)} is not one of the people in this chat.`);
    const target = args.target as { kind?: unknown; title?: unknown; chat?: unknown } | null;
    let into: ChatId | { title: string; group: boolean };
    if (target?.kind === 'chat') {
      if (typeof target.chat !== 'number' || !messaging.hasChat(accountId, target.chat))
        fail('not_found', `No chat with id ${String(target.chat)}.`);
      into = target.chat;
    } else if (target?.kind === 'newChat') {
      if (typeof target.title !== 'string' || target.title.trim() === '')
        fail('invalid_input', 'The new chat needs a title.');
      const earlier = chatOfFile.get(`${accountId}:${path}`);
      into =
        earlier !== undefined && messaging.hasChat(accountId, earlier)
          ? earlier
          : { title: target.title.trim(), group: participants.length > 2 };
    } else {
      fail('invalid_input', 'The target must be a new chat or an existing one.');
    }
    if (running.has(accountId)) fail('invalid_input', 'An import is already running in this account.');

    const flag = { cancelled: false };
    running.set(accountId, flag);
    try {
      const total = new TextEncoder().encode(MOCK_EXPORT).length;
      const steps = 10;
      for (let done = 1; done <= steps; done++) {
        await new Promise((resolve) => setTimeout(resolve, step()));
        if (flag.cancelled) {
          const error: unknown = { code: 'cancelled', message: 'The import was cancelled; nothing was added.' };
          throw error as IpcError;
        }
        const bytes = Math.round((total * done) / steps);
        const progress: ImportProgress = {
          entries_done: parsed.entries.filter((entry) => entry.offset < bytes).length,
          bytes_done: bytes,
          bytes_total: total,
        };
        send(channel, done - 1, progress);
      }
      const zip = /\.zip$/i.test(path);
      const imported: ImportedMessage[] = parsed.entries.map((entry) => {
        const sentAt = new Date(entry.timestamp).toISOString();
        const outgoing = me !== null && entry.author === me;
        return {
          id: contentId(entry),
          sender: null,
          author: entry.author === null || outgoing ? null : entry.author,
          outgoing,
          kind: entry.kind,
          text: entry.body,
          attachments:
            zip && entry.attachment !== null
              ? [{ id: nextAttachment++, name: entry.attachment, mime: mimeOf(entry.attachment), size: 68 }]
              : [],
          poll: null,
          missingFile: !zip && entry.attachment !== null ? entry.attachment : null,
          sentAt,
          receivedAt: sentAt,
          state: 'read',
          imported: true,
        };
      });
      const result = messaging.importMessages(accountId, into, imported);
      chatOfFile.set(`${accountId}:${path}`, result.chat);
      const finalReport = report(parsed, zip);
      return {
        chat: result.chat,
        import_id: 1,
        added: result.added,
        already_there: result.alreadyThere,
        media_stored: result.added === 0 ? 0 : finalReport.media_found,
        resumed: false,
        report: finalReport,
      };
    } finally {
      running.delete(accountId);
    }
  }

  return {
    /** The command's result (a promise for `run_import`), or `undefined` for other commands. */
    handle(cmd: string, args: Record<string, unknown>, accountOf: (id: unknown) => number): { result: unknown } | undefined {
      switch (cmd) {
        case 'pick_import_file':
          return { result: MOCK_IMPORT_PATH };
        case 'preview_import':
          return { result: preview(validPath(args.path), validOrder(args.dateOrder)) };
        case 'run_import':
          return { result: run(accountOf(args.account), args) };
        case 'cancel_import': {
          const flag = running.get(accountOf(args.account));
          if (flag) flag.cancelled = true;
          return { result: null };
        }
        default:
          return undefined;
      }
    },
  };
}
