/**
 * Reads the key material strongSwan logs at level 4 for the `ike` and `chd`
 * groups ("Sk_d secret => 20 bytes @ 0x…" followed by hex dump lines), so a lab
 * test can compare it with what cgwd derived. Lab only: never used on real keys.
 */
import { readFileSync } from 'node:fs';

export interface SwanIkeKeys {
  skD: string;
  skAi: string;
  skAr: string;
  skEi: string;
  skEr: string;
  skPi: string;
  skPr: string;
}

export interface SwanChildKeys {
  encI: string;
  encR: string;
  integI?: string;
  integR?: string;
}

interface Dump {
  label: string;
  hex: string;
}

/** Every "label => N bytes @ addr" block in the log, in order, as lowercase hex. */
export function parseDumps(text: string): Dump[] {
  const lines = text.split('\n');
  const dumps: Dump[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /\] (.+?) => (\d+) bytes @ 0x[0-9a-f]+/.exec(lines[i] ?? '');
    if (!head) continue;
    const length = Number(head[2]);
    let hex = '';
    let j = i + 1;
    while (hex.length < length * 2 && j < lines.length) {
      const row = /\]\s+\d+: ((?:[0-9A-F]{2} ?)+)/.exec(lines[j] ?? '');
      if (!row) break;
      hex += (row[1] ?? '').replace(/ /g, '').toLowerCase();
      j++;
    }
    dumps.push({ label: head[1] ?? '', hex: hex.slice(0, length * 2) });
    i = j - 1;
  }
  return dumps;
}

const IKE_LABELS: Record<string, keyof SwanIkeKeys> = {
  'Sk_d secret': 'skD',
  'Sk_ai secret': 'skAi',
  'Sk_ar secret': 'skAr',
  'Sk_ei secret': 'skEi',
  'Sk_er secret': 'skEr',
  'Sk_pi secret': 'skPi',
  'Sk_pr secret': 'skPr',
};

export function readStrongswanKeys(logFile: string): { ike: SwanIkeKeys[]; child: SwanChildKeys[] } {
  const dumps = parseDumps(readFileSync(logFile, 'utf8'));
  const ike: SwanIkeKeys[] = [];
  const child: SwanChildKeys[] = [];
  let currentIke: Partial<SwanIkeKeys> = {};
  const childFields: Record<string, keyof SwanChildKeys> = {
    'encryption initiator key': 'encI',
    'encryption responder key': 'encR',
    'integrity initiator key': 'integI',
    'integrity responder key': 'integR',
  };
  for (const { label, hex } of dumps) {
    const ikeKey = IKE_LABELS[label];
    if (ikeKey) {
      currentIke[ikeKey] = hex;
      if (ikeKey === 'skPr') {
        ike.push(currentIke as SwanIkeKeys);
        currentIke = {};
      }
      continue;
    }
    const childKey = childFields[label];
    if (!childKey) continue;
    // Each CHILD SA's dump starts with the initiator's encryption key.
    if (childKey === 'encI') child.push({ encI: hex, encR: '' });
    const last = child[child.length - 1];
    if (last) last[childKey] = hex;
  }
  return { ike, child };
}
