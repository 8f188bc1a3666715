// The import wizard: which export, what is in it (the backend's preview), the user's choices
// ("me", the target, the date order), the running import and its result. One at a time, for
// the account on screen. Every backend error lands in `error` and leaves the step as it was,
// so nothing the user chose is lost.
import * as api from '../api';
import type {
  AccountId,
  ChatId,
  DateOrder,
  ImportPreview,
  ImportProgress,
  ImportSummary,
  ImportTarget,
} from '../api';
import { chats } from './chats.svelte';
import { dialogs } from './dialogs.svelte';

export type ImportStep =
  | { kind: 'choose' }
  | { kind: 'preview' }
  | { kind: 'running'; progress: ImportProgress | null }
  | { kind: 'cancelled' }
  | { kind: 'done'; summary: ImportSummary };

/** The file name without its folder and extension, as a title for a new chat. */
function titleFrom(preview: ImportPreview): string {
  if (preview.chat_title && preview.chat_title.trim() !== '') return preview.chat_title;
  return preview.file_name.replace(/\.(txt|zip)$/i, '');
}

class Importer {
  /** The account the wizard imports into; null when it is closed. */
  account = $state<AccountId | null>(null);
  step = $state<ImportStep>({ kind: 'choose' });
  preview = $state<ImportPreview | null>(null);
  /** A file dialog or a preview is under way. */
  busy = $state(false);
  error = $state<string | null>(null);
  /** Cancel was asked for and the backend has not stopped yet. */
  cancelling = $state(false);

  /** The user's date order; null: the detected one. */
  dateOrder = $state<DateOrder | null>(null);
  /** The participant who is the user; null: none of them. */
  me = $state<string | null>(null);
  target = $state<'newChat' | 'chat'>('newChat');
  title = $state('');
  chat = $state<ChatId | null>(null);

  open = $derived(this.account !== null);
  /** Whether the choices make an import possible. */
  ready = $derived(
    this.preview !== null &&
      !this.busy &&
      (this.target === 'newChat' ? this.title.trim() !== '' : this.chat !== null),
  );

  #generation = 0;

  /** Opens the wizard for `account`, at the preview of `path` when a file is already known. */
  async start(account: AccountId, path: string | null = null): Promise<void> {
    if (this.step.kind === 'running') return;
    this.#forget();
    // One dialog at a time: the wizard takes the place of whatever was open.
    dialogs.close();
    this.account = account;
    if (path !== null) await this.load(path);
  }

  /** Shows the system file dialog and previews what was picked (nothing when cancelled). */
  async choose(): Promise<void> {
    if (this.busy || this.step.kind === 'running') return;
    this.busy = true;
    this.error = null;
    let path: string | null = null;
    try {
      path = await api.pickImportFile();
    } catch (failure) {
      this.error = api.toIpcError(failure).message;
    } finally {
      this.busy = false;
    }
    if (path !== null) await this.load(path);
  }

  /** Previews another file: the choices start again from what the file suggests. */
  async load(path: string): Promise<void> {
    if (this.step.kind === 'running') return;
    const preview = await this.#preview(path, null);
    if (!preview) return;
    this.dateOrder = null;
    this.me = preview.guessed_me !== null && preview.report.participants.includes(preview.guessed_me)
      ? preview.guessed_me
      : null;
    this.target = 'newChat';
    this.title = titleFrom(preview);
    this.chat = null;
    this.step = { kind: 'preview' };
  }

  /** Reads the file again with `order`; the other choices stay. */
  async setDateOrder(order: DateOrder): Promise<void> {
    const current = this.preview;
    if (!current || order === current.report.date_order) return;
    const preview = await this.#preview(current.path, order);
    if (!preview) return;
    this.dateOrder = order;
    if (this.me !== null && !preview.report.participants.includes(this.me)) this.me = null;
  }

  async #preview(path: string, order: DateOrder | null): Promise<ImportPreview | null> {
    const generation = ++this.#generation;
    this.busy = true;
    this.error = null;
    try {
      const preview = await api.previewImport(path, order);
      if (generation !== this.#generation) return null;
      this.preview = preview;
      return preview;
    } catch (failure) {
      if (generation === this.#generation) this.error = api.toIpcError(failure).message;
      return null;
    } finally {
      if (generation === this.#generation) this.busy = false;
    }
  }

  /** Runs the import with the choices made; ends in `done`, `cancelled`, or back at the preview with the error. */
  async run(): Promise<void> {
    const account = this.account;
    const preview = this.preview;
    if (account === null || preview === null || !this.ready || this.step.kind === 'running') return;
    const target: ImportTarget =
      this.target === 'newChat' || this.chat === null
        ? { kind: 'newChat', title: this.title.trim() }
        : { kind: 'chat', chat: this.chat };
    const generation = ++this.#generation;
    this.error = null;
    this.cancelling = false;
    this.step = { kind: 'running', progress: null };
    try {
      const summary = await api.runImport(account, preview.path, this.me, target, this.dateOrder, (progress) => {
        if (generation === this.#generation && this.step.kind === 'running') this.step = { kind: 'running', progress };
      });
      if (generation !== this.#generation) return;
      this.cancelling = false;
      this.step = { kind: 'done', summary };
      if (chats.account === account) await chats.refresh().catch(() => {});
    } catch (failure) {
      if (generation !== this.#generation) return;
      this.cancelling = false;
      const error = api.toIpcError(failure);
      if ((error.code as string) === 'cancelled') {
        this.step = { kind: 'cancelled' };
      } else {
        this.error = error.message;
        this.step = { kind: 'preview' };
      }
    }
  }

  /** Asks the backend to stop the running import; `run` then ends in `cancelled`. */
  async cancel(): Promise<void> {
    const account = this.account;
    if (account === null || this.step.kind !== 'running' || this.cancelling) return;
    this.cancelling = true;
    try {
      await api.cancelImport(account);
    } catch (failure) {
      this.cancelling = false;
      this.error = api.toIpcError(failure).message;
    }
  }

  /** Back to the preview with the same choices, after a cancelled import. */
  retry(): void {
    if (this.step.kind === 'cancelled') this.step = { kind: 'preview' };
  }

  /** Shows the chat the import went into and closes the wizard. */
  async openChat(): Promise<void> {
    const account = this.account;
    if (this.step.kind !== 'done' || account === null) return;
    const chat = this.step.summary.chat;
    this.close();
    if (chats.account !== account) return;
    await chats.refresh();
    await chats.select(chat);
  }

  /** Closes the wizard; a running import has to be cancelled first. */
  close(): void {
    if (this.step.kind === 'running') return;
    this.#forget();
  }

  #forget(): void {
    this.#generation++;
    this.account = null;
    this.step = { kind: 'choose' };
    this.preview = null;
    this.busy = false;
    this.error = null;
    this.cancelling = false;
    this.dateOrder = null;
    this.me = null;
    this.target = 'newChat';
    this.title = '';
    this.chat = null;
  }

  /** Forgets everything; for tests. */
  reset(): void {
    this.#forget();
  }
}

export const importer = new Importer();
