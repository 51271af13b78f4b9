/** cgwd's version, from the package.json beside dist/ (the same file in the repository and in the Debian package). */
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    const parsed: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') return parsed.version;
  } catch {
    // fall through
  }
  return 'unknown';
}

export const CGWD_VERSION = packageVersion();
