/**
 * The data plane as a keepalive ProbeDriver: one tunnel's probes run in the packet thread
 * (Dataplane.setProbe, native/src/probe.c) and each result comes back as a 'probe' event.
 */
import type { Dataplane, ProbeEvent } from '../dataplane/index.js';
import type { ProbeDriver, ProbeResult } from './keepalive.js';

export class DataplaneProbeDriver implements ProbeDriver {
  #listener: ((event: ProbeEvent) => void) | undefined;

  constructor(
    private readonly dataplane: Dataplane,
    private readonly tunnel: number,
  ) {}

  start(target: string, intervalMs: number, onResult: (result: ProbeResult) => void): void {
    this.stop();
    const listener = (event: ProbeEvent): void => {
      if (event.tunnel === this.tunnel) onResult({ rttMs: event.rttMs, inbound: event.inbound });
    };
    this.#listener = listener;
    this.dataplane.on('probe', listener);
    this.dataplane.setProbe(this.tunnel, intervalMs, target);
  }

  stop(): void {
    if (!this.#listener) return;
    this.dataplane.off('probe', this.#listener);
    this.#listener = undefined;
    try {
      this.dataplane.setProbe(this.tunnel, 0);
    } catch {
      // The data plane or the tunnel is already gone: its probes went with it.
    }
  }
}
