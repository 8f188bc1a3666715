// What the Settings dialog shows: whether a passcode protects the keys, and the facts for
// the About section. Read when the dialog opens, so it is never stale.
import * as api from '../api';
import type { AppInfo } from '../api';

class Settings {
  info = $state<AppInfo | null>(null);
  /** Null until read. */
  hasPasscode = $state<boolean | null>(null);

  async load(): Promise<void> {
    const [info, hasPasscode] = await Promise.all([api.appInfo(), api.hasPasscode()]);
    this.info = info;
    this.hasPasscode = hasPasscode;
  }

  /** Sets or changes the passcode (a string) or removes it (`null`), then re-reads the state. */
  async setPasscode(passcode: string | null): Promise<void> {
    await api.setPasscode(passcode);
    this.hasPasscode = await api.hasPasscode();
  }

  /** Forgets everything; for tests, which mount the app many times in one module. */
  reset(): void {
    this.info = null;
    this.hasPasscode = null;
  }
}

export const settings = new Settings();
