// Loads the testing addon (native/src/testing_addon.c, built next to the
// production addon by `node-gyp rebuild --directory native`): synchronous
// doors into the C code the packet thread runs, for tests only. The
// production addon (src/native/addon.ts) carries none of this.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { NativeSaSpec, NativeTraffic } from '../../src/native/addon.js';

export type NativeDecapResult = { ok: true; inner: Buffer } | { ok: false; reason: string };

/** One SA driven synchronously through the packet thread's own encap/decap code. */
export interface NativeEspSa {
  encap(inner: Uint8Array): Buffer | { ok: false; reason: string };
  decap(esp: Uint8Array): NativeDecapResult;
  state(): {
    seqOut: number;
    replayTop: number;
    replayWindow: number;
    soft: 'time' | 'bytes' | 'packets' | null;
    hard: 'time' | 'bytes' | 'packets' | null;
    seqExhausting: boolean;
    counters: NativeTraffic;
  };
  setSeqOut(seq: number): void;
  checkLifetime(ageMs: number): void;
}

export interface NativeReplayWindow {
  check(seq: number): boolean;
  update(seq: number): boolean;
  top(): number;
}

/** What cgwd_dataplane_testing.node exports. */
export interface NativeTesting {
  EspSa: new (spec: NativeSaSpec) => NativeEspSa;
  ReplayWindow: new (bits: number) => NativeReplayWindow;
  ipv4: {
    clampMss(packet: Uint8Array, mss: number): boolean;
    clearDf(packet: Uint8Array): boolean;
    fragment(packet: Uint8Array, max: number): Buffer[] | null;
    fragNeeded(packet: Uint8Array, source: string, mtu: number): Buffer | null;
    maxInner(encryption: string, integrity: string | null, pathMtu: number): number;
    tsoSegment(packet: Uint8Array, gsoSize: number): Buffer[] | null;
    finishChecksum(packet: Uint8Array, csumStart: number, csumOffset: number): boolean;
  };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const addonPath = path.resolve(here, '..', '..', 'native', 'build', 'Release', 'cgwd_dataplane_testing.node');

let cached: NativeTesting | undefined;

export function loadDataplaneTesting(): NativeTesting {
  if (!cached) {
    const require = createRequire(import.meta.url);
    cached = require(addonPath) as NativeTesting;
  }
  return cached;
}
