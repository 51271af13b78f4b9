/**
 * The data plane as the rest of cgwd sees it. One instance = one packet
 * thread in the native addon (native/src/loop.c) with its UDP socket (IKE and
 * ESP-in-UDP, RFC 3948) and one TUN device per tunnel, inside one network
 * namespace. Packets never pass through JavaScript; what comes up are IKE
 * datagrams (non-ESP marker), SA lifetime events and counters.
 *
 *   const dp = Dataplane.open({ local: { address: '0.0.0.0', port: 4500 } });
 *   dp.addTunnel({ tunnel: 1, ifname: 'cgw-t1', mtu: 1422, address: '169.254.10.2/30', tcpMss: 1379 });
 *   dp.onIkeDatagram((d) => ike.receive(d));
 *   dp.installChildSa(childSa);            // inbound at once; outbound switches to it
 *   dp.removeChildSa(oldId);               // after the grace period
 *   dp.close();
 *
 * Every method is synchronous: it waits for the packet thread to finish its
 * current batch (microseconds). Keys are handed to the addon and never kept
 * or logged here.
 *
 * Offloads (on by default, `offload: { tun, udp }`): TUN devices with
 * virtio_net_hdr let TCP leave the kernel as 64 KB super-packets that the data
 * plane splits before encryption (TSO) and join in-order segments on the way
 * in (GRO); the UDP socket sends runs of ESP datagrams with UDP GSO and
 * receives with UDP GRO. Measured on the two-namespace bench
 * (native/bench/throughput.mjs): 4.4× TCP throughput for AES-GCM, CPU per
 * packet halved. Both fall back to plain I/O where the kernel refuses.
 */
import { EventEmitter } from 'node:events';
import type { TunnelIndex } from '../config/model.js';
import type { ChildSaInstall, Endpoint, IkeDatagram } from '../ike/runtime.js';
import { loadDataplane, type NativeDataplane, type NativeEvent } from '../native/addon.js';
import {
  DataplaneAddonError,
  DataplaneClosedError,
  DataplaneError,
  DataplaneOptionsError,
  fromNative,
} from './errors.js';
import { DATAPLANE_THREAD_CHOICES, type DataplaneThreads } from './types.js';
import type {
  DataplaneCounters,
  DataplaneEvents,
  DataplaneOptions,
  SaInstallOptions,
  TunnelInfo,
  TunnelOptions,
  TunnelPacketOptions,
} from './types.js';
import { checkEndpoint, toNativeFlags, toNativeSa, toNativeTunnel } from './validate.js';

/** A fault the packet thread reported (a TUN fd failed, the loop stopped). */
export class DataplaneFaultError extends DataplaneError {
  readonly tunnel: number;
  constructor(tunnel: number, message: string) {
    super('DATAPLANE_FAULT', message);
    this.tunnel = tunnel;
  }
}

const NAT_KEEPALIVE = Buffer.from([0xff]);
/** native/src/dataplane.h DP_MAX_IKE_PEERS. */
const MAX_IKE_PEERS = 8;

function positiveInt(value: number | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DataplaneOptionsError(`${name} must be an integer in ${min}–${max}`);
  }
  return value;
}

export class Dataplane extends EventEmitter<DataplaneEvents> {
  readonly local: Endpoint;
  readonly netns: string | undefined;
  /** Packet threads: 1, or 2 (outbound, inbound). */
  readonly threads: DataplaneThreads;
  #native: NativeDataplane | undefined;
  readonly #tunnels = new Map<TunnelIndex, TunnelInfo>();

  private constructor(native: NativeDataplane, netns: string | undefined, threads: DataplaneThreads) {
    super();
    this.#native = native;
    this.netns = netns;
    this.threads = threads;
    this.local = native.localAddress();
  }

  /** Starts the packet thread, enters `netns` on it and binds the UDP socket. */
  static open(options: DataplaneOptions = {}): Dataplane {
    const local = { address: options.local?.address ?? '0.0.0.0', port: options.local?.port ?? 4500 };
    checkEndpoint(local, 'local', true);
    if (options.netns !== undefined && (typeof options.netns !== 'string' || !options.netns.startsWith('/'))) {
      throw new DataplaneOptionsError('netns must be an absolute path such as /run/netns/NAME');
    }
    const limits = options.limits ?? {};
    const batch = positiveInt(limits.batch, 'limits.batch', 1, 256);
    const eventQueue = positiveInt(limits.eventQueue, 'limits.eventQueue', 1, 1 << 20);
    const rcvbuf = positiveInt(limits.udpReceiveBuffer, 'limits.udpReceiveBuffer', 4096, 1 << 30);
    const sndbuf = positiveInt(limits.udpSendBuffer, 'limits.udpSendBuffer', 4096, 1 << 30);
    const threads = options.threads ?? 1;
    if (!DATAPLANE_THREAD_CHOICES.includes(threads)) throw new DataplaneOptionsError(`threads must be 1 or 2, found ${String(threads)}`);
    const ikePeers = [...(options.ikePeers ?? [])];
    if (ikePeers.length > MAX_IKE_PEERS) throw new DataplaneOptionsError(`ikePeers: at most ${MAX_IKE_PEERS} addresses`);
    for (const peer of ikePeers) checkEndpoint({ address: peer, port: 4500 }, 'ikePeers', true);

    let addon;
    try {
      addon = loadDataplane();
    } catch (error) {
      throw new DataplaneAddonError('the native data plane addon is not built (npm ci / node-gyp rebuild --directory native)', {
        cause: error,
      });
    }
    // The event callback needs the instance, which needs the native object: route through a holder.
    let self: Dataplane | undefined;
    let native: NativeDataplane;
    try {
      native = new addon.Dataplane(
        {
          address: local.address,
          port: local.port,
          ...(options.netns !== undefined ? { netns: options.netns } : {}),
          ...(batch !== undefined ? { batch } : {}),
          ...(eventQueue !== undefined ? { eventQueue } : {}),
          ...(ikePeers.length > 0 ? { ikePeers } : {}),
          ...(rcvbuf !== undefined ? { rcvbuf } : {}),
          ...(sndbuf !== undefined ? { sndbuf } : {}),
          threads,
          tunOffload: options.offload?.tun ?? true,
          udpOffload: options.offload?.udp ?? true,
        },
        (event: NativeEvent) => {
          if (self) self.#dispatch(event);
        },
      );
    } catch (error) {
      throw fromNative(error, `data plane on ${local.address}:${local.port}${options.netns ? ` in ${options.netns}` : ''}`);
    }
    self = new Dataplane(native, options.netns, threads);
    return self;
  }

  get closed(): boolean {
    return this.#native === undefined;
  }

  /** Creates the tunnel's TUN device in the data plane's namespace: MTU, address, up. */
  addTunnel(options: TunnelOptions): TunnelInfo {
    const native = this.#open();
    const { spec, info } = toNativeTunnel(options);
    const { ifindex } = this.#call(() => native.addTunnel(spec), `tunnel ${options.tunnel} (${options.ifname})`);
    const result: TunnelInfo = { ...info, ifindex };
    this.#tunnels.set(options.tunnel, result);
    return result;
  }

  /** Changes the per-packet options of a tunnel (fields left out return to their defaults). */
  setTunnelOptions(tunnel: TunnelIndex, options: TunnelPacketOptions): void {
    const native = this.#open();
    const flags = toNativeFlags(options, `tunnel ${tunnel}`);
    this.#call(() => native.setTunnelOptions(tunnel, flags), `tunnel ${tunnel}`);
  }

  /** Deletes the TUN device; the tunnel's SAs go with it. */
  removeTunnel(tunnel: TunnelIndex): void {
    const native = this.#open();
    this.#call(() => native.removeTunnel(tunnel), `tunnel ${tunnel}`);
    this.#tunnels.delete(tunnel);
  }

  tunnels(): TunnelInfo[] {
    return [...this.#tunnels.values()];
  }

  /**
   * Installs a CHILD SA pair: inbound (spiIn) immediately, and outbound for its
   * tunnel switches to it (the newest SA sends). Older SAs keep decrypting until
   * removeChildSa — make-before-break. Its tunnel must exist.
   */
  installChildSa(sa: ChildSaInstall, options: SaInstallOptions = {}): void {
    const native = this.#open();
    const spec = toNativeSa(sa, options);
    this.#call(() => native.installSa(spec), `CHILD SA ${sa.id}`);
  }

  /** A held SA (installed with holdOutbound) starts sending; false when no SA had that id. */
  releaseChildSa(id: number): boolean {
    const native = this.#open();
    return this.#call(() => native.releaseSa(id), `CHILD SA ${id}`);
  }

  /** Removes an SA pair; false when no SA had that id. If it was sending, the next newest takes over. */
  removeChildSa(id: number): boolean {
    const native = this.#open();
    return this.#call(() => native.removeSa(id), `CHILD SA ${id}`);
  }

  /**
   * Keepalive probes on a tunnel, generated and answered in the packet thread: an ICMP echo
   * from the tunnel's address to `target` (default: its peer) every `intervalMs` through the
   * outbound SA; replies never reach the TUN. Results arrive as 'probe' events. 0 stops them.
   */
  setProbe(tunnel: number, intervalMs: number, target?: string): void {
    const native = this.#open();
    if (!Number.isInteger(intervalMs) || (intervalMs !== 0 && (intervalMs < 10 || intervalMs > 3_600_000))) {
      throw new DataplaneOptionsError('probe intervalMs must be 0 or an integer 10..3600000');
    }
    this.#call(() => native.setProbe(tunnel, intervalMs, target), `tunnel ${tunnel} probes`);
  }

  /** Sends an IKE message from the data plane's socket with the non-ESP marker (RFC 3948 §2.2). */
  sendIke(remote: Endpoint, data: Uint8Array): boolean {
    return this.#send(remote, data, true);
  }

  /** Sends a NAT keepalive (one 0xFF byte, RFC 3948 §2.3). */
  sendNatKeepalive(remote: Endpoint): boolean {
    return this.#send(remote, NAT_KEEPALIVE, false);
  }

  /** Subscribes to IKE datagrams arriving on the socket (marker stripped); returns the unsubscribe function. */
  onIkeDatagram(handler: (datagram: IkeDatagram) => void): () => void {
    this.on('ike-datagram', handler);
    return () => this.off('ike-datagram', handler);
  }

  counters(): DataplaneCounters {
    const native = this.#open();
    return this.#call(() => native.counters(), 'counters') as unknown as DataplaneCounters;
  }

  /**
   * Loop iterations of the packet thread so far: it wakes at least every 500 ms (its SA
   * lifetime tick), so a value that stands still for longer means the thread is stuck.
   * An atomic read that never waits for the thread (counters() does).
   */
  heartbeat(): number {
    return this.#open().heartbeat();
  }

  /**
   * The heartbeat of each packet thread: one value, or [outbound, inbound] with two threads.
   * A watchdog wants every one of them to move (heartbeat() alone is the smaller of the two,
   * which can keep moving for a while after the other thread stuck).
   */
  heartbeats(): number[] {
    return this.#open().heartbeats();
  }

  /** Test hook for the service watchdog: parks the packet thread(s) for `ms` milliseconds. */
  stallForTesting(ms: number): void {
    const native = this.#open();
    this.#call(() => native.stallForTesting(ms), 'stallForTesting');
  }

  /** Stops the packet thread, closes the socket and TUN devices, frees every SA. Idempotent. */
  close(): void {
    const native = this.#native;
    if (!native) return;
    this.#native = undefined;
    native.close();
    this.#tunnels.clear();
  }

  #open(): NativeDataplane {
    if (!this.#native) throw new DataplaneClosedError();
    return this.#native;
  }

  #call<T>(fn: () => T, context: string): T {
    try {
      return fn();
    } catch (error) {
      throw fromNative(error, context);
    }
  }

  #send(remote: Endpoint, data: Uint8Array, marker: boolean): boolean {
    const native = this.#open();
    checkEndpoint(remote, 'remote');
    const errno = this.#call(() => native.sendUdp(remote.address, remote.port, data, marker), 'send');
    return errno === 0;
  }

  #dispatch(event: NativeEvent): void {
    if (!this.#native) return;
    switch (event.type) {
      case 'ike-datagram':
        this.emit('ike-datagram', {
          local: this.local,
          remote: { address: event.address, port: event.port },
          data: event.data,
        });
        return;
      case 'sa-soft-expired':
      case 'sa-hard-expired':
        this.emit(event.type, { id: event.id, tunnel: event.tunnel, reason: event.reason });
        return;
      case 'sa-seq-exhausting':
        this.emit(event.type, { id: event.id, tunnel: event.tunnel, seq: event.seq });
        return;
      case 'probe':
        this.emit('probe', { tunnel: event.tunnel, seq: event.seq, rttMs: event.rttMs, inbound: event.inbound });
        return;
      case 'error': {
        const error = new DataplaneFaultError(event.tunnel, event.message);
        // An 'error' event without a listener would throw out of the addon callback; report it instead.
        if (this.listenerCount('error') > 0) this.emit('error', error);
        else process.emitWarning(error.message, { code: error.code });
        return;
      }
    }
  }
}
