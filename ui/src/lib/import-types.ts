// The WhatsApp import contract: the generated bindings under the names the wizard uses. The
// report is snake_case because it is the same object the CLI prints as JSON.
import type { MessageView } from './bindings/MessageView';

export type { DateOrder } from './bindings/DateOrder';
export type { DateOrderBasis } from './bindings/DateOrderBasis';
export type { ImportFormat } from './bindings/ImportFormat';
export type { ImportPreview } from './bindings/ImportPreview';
export type { ImportProgress } from './bindings/ImportProgress';
export type { ImportReport } from './bindings/ImportReport';
export type { ImportSummary } from './bindings/ImportSummary';
export type { ImportTarget } from './bindings/ImportTarget';
export type { ImportWarning } from './bindings/ImportWarning';
export type { PreviewEntry } from './bindings/PreviewEntry';
export type { UnparsedLine } from './bindings/UnparsedLine';

/** The author name of an imported message (a WhatsApp name, not a contact), or null. */
export function authorOf(message: MessageView): string | null {
  return message.author ?? null;
}
