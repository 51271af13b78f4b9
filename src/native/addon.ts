// The native data plane's TypeScript face. Today it only proves the addon loads
// and links Node's own OpenSSL; the ESP/TUN loop arrives with the data-plane issue.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface DataplaneAddon {
  opensslVersion(): string;
  abiVersion(): number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// Works from src/native (tests) and dist/native (installed): both are two levels below the package root.
const addonPath = path.resolve(here, '..', '..', 'native', 'build', 'Release', 'cgwd_dataplane.node');

let cached: DataplaneAddon | undefined;

export function loadDataplane(): DataplaneAddon {
  if (!cached) {
    const require = createRequire(import.meta.url);
    cached = require(addonPath) as DataplaneAddon;
  }
  return cached;
}
