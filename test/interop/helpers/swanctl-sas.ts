/** Parses `swanctl --list-sas` text: what the AWS side (strongSwan) says it has established. */
import path from 'node:path';
import { swanctl } from '../../../src/lab/lab.js';

export interface SwanIkeSa {
  state: string;
  version: string;
  spiI: string;
  spiR: string;
  suite: string;
  children: SwanChildSa[];
}

export interface SwanChildSa {
  state: string;
  suite: string;
  /** SPI strongSwan receives on (= cgwd's outbound SPI). */
  spiIn: string;
  spiOut: string;
}

export function parseListSas(text: string): SwanIkeSa[] {
  const sas: SwanIkeSa[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const ike = /^\S+: #\d+, ([A-Z_]+), (IKEv[12]), ([0-9a-f]{16})_i\*? ([0-9a-f]{16})_r/.exec(line);
    if (ike) {
      const suite = (lines[i + 3] ?? '').trim();
      sas.push({ state: ike[1] ?? '', version: ike[2] ?? '', spiI: ike[3] ?? '', spiR: ike[4] ?? '', suite, children: [] });
      continue;
    }
    const child = /^\s+\S+: #\d+, reqid \d+, ([A-Z_]+), [A-Za-z-]+, ESP:(\S+)/.exec(line);
    if (child) {
      const spiIn = /^\s+in\s+([0-9a-f]{8})/.exec(lines.slice(i + 1, i + 4).find((l) => /^\s+in\s/.test(l)) ?? '')?.[1] ?? '';
      const spiOut = /^\s+out\s+([0-9a-f]{8})/.exec(lines.slice(i + 1, i + 5).find((l) => /^\s+out\s/.test(l)) ?? '')?.[1] ?? '';
      sas[sas.length - 1]?.children.push({ state: child[1] ?? '', suite: child[2] ?? '', spiIn, spiOut });
    }
  }
  return sas;
}

export async function awsSas(stateDir: string, index: 1 | 2): Promise<SwanIkeSa[]> {
  const out = await swanctl({ vici: `unix://${path.join(stateDir, `aws${index}`, 'charon.vici')}` }, '--list-sas');
  return parseListSas(out);
}

export function awsVici(stateDir: string, index: 1 | 2): { vici: string } {
  return { vici: `unix://${path.join(stateDir, `aws${index}`, 'charon.vici')}` };
}
