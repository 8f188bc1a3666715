// Images attached to messages as blob URLs, each read and decrypted once: the conversation's
// list is virtualized, so a photo scrolled out and back in would otherwise be fetched again.
// The most recently used ones are kept; an evicted URL is revoked (an image already drawn from
// it stays drawn).
import { attachmentData, type AccountId, type AttachmentView } from './api';

const KEPT = 64;
const urls = new Map<string, Promise<string>>();

function revoke(url: Promise<string>): void {
  url.then((made) => URL.revokeObjectURL?.(made)).catch(() => {});
}

/** A blob URL for the image `attachment` of `account`. A failed read is not kept. */
export function imageUrl(account: AccountId, attachment: AttachmentView): Promise<string> {
  const key = `${account}:${attachment.id}`;
  const known = urls.get(key);
  if (known) {
    // Most recently used last.
    urls.delete(key);
    urls.set(key, known);
    return known;
  }
  const made = attachmentData(account, attachment.id).then((bytes) =>
    URL.createObjectURL(new Blob([bytes], { type: attachment.mime })),
  );
  urls.set(key, made);
  made.catch(() => {
    if (urls.get(key) === made) urls.delete(key);
  });
  for (const [oldest, url] of urls) {
    if (urls.size <= KEPT) break;
    urls.delete(oldest);
    revoke(url);
  }
  return made;
}

/** Forgets (and revokes) every URL (between tests). */
export function forgetImageUrls(): void {
  for (const url of urls.values()) revoke(url);
  urls.clear();
}
