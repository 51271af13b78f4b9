/**
 * IKE for both tunnels of one VPN connection: one UDP socket pair (500/4500)
 * shared by the two tunnels and demultiplexed by the AWS outside address, and
 * one IKE connection per tunnel (IKEv2, or IKEv1 when the settings say so), each failing
 * and recovering on its own.
 *
 * `cgwd negotiate` runs this on plain UDP sockets (IKE and CHILD SAs, no
 * traffic); `cgwd up` runs it with the data plane as the ChildSaSink and the
 * data plane's 4500 socket as the NAT-T carrier.
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { Settings, TunnelConfig, VpnConfig } from '../config/index.js';
import type { ChildSaSink, Endpoint } from '../ike/runtime.js';
import { cryptoRandom, systemClock } from '../ike/system-runtime.js';
import { IKE_PORT, type IkeDemux } from '../ike/transport/udp.js';
import { IkeV1Connection, IkeV2Connection, type IkeConnection, type IkeConnectionOptions, type IkeTiming, type KeylogEntry } from '../ike/index.js';

export type TunnelIndex = 1 | 2;

export interface IkePairOptions {
  config: VpnConfig;
  settings: Settings;
  /** Which tunnels to run (default both). */
  tunnels?: readonly TunnelIndex[];
  /** 'initiator' as a customer gateway; 'responder' when playing AWS (`--role aws`). */
  role: 'initiator' | 'responder';
  sinkFor: (tunnel: TunnelIndex) => ChildSaSink;
  logger: Logger;
  timing?: Partial<IkeTiming>;
  keylog?: (tunnel: TunnelIndex, entry: KeylogEntry) => void;
  /**
   * Each tunnel's IKE sockets (plain UDP, or UDP 500 plus the data plane's 4500) and the
   * address they are bound to. As the customer both tunnels share one set, told apart by
   * the AWS address; as AWS each tunnel has its own (both peers are the same customer address).
   */
  socketsFor: (tunnel: TunnelIndex) => { demux: IkeDemux; bindAddress: string };
}

/** `auto`: the customer outside address when this host has it, else every address (behind NAT). */
export function resolveBindAddress(settings: Settings, config: VpnConfig, role: 'initiator' | 'responder'): string {
  if (settings.localAddress.mode === 'fixed') return settings.localAddress.address;
  if (role === 'responder') return settings.localAddress.fallback;
  const wanted = settings.localAddress.preferred;
  const present = Object.values(networkInterfaces())
    .flat()
    .some((a) => a?.family === 'IPv4' && a.address === wanted);
  return present ? wanted : settings.localAddress.fallback;
}

export class IkePair {
  /** One IKE connection per tunnel, IKEv2 or IKEv1: the same options, events and status. */
  readonly connections = new Map<TunnelIndex, IkeConnection>();

  readonly #demuxes = new Set<IkeDemux>();
  #options: IkePairOptions;

  private constructor(options: IkePairOptions) {
    this.#options = options;
  }

  static start(options: IkePairOptions): IkePair {
    const pair = new IkePair(options);
    const selected = options.tunnels ?? [1, 2];
    for (const tunnel of options.config.tunnels) {
      if (!selected.includes(tunnel.index)) continue;
      const { demux, bindAddress } = options.socketsFor(tunnel.index);
      pair.#demuxes.add(demux);
      pair.connections.set(tunnel.index, pair.#connectionFor(tunnel, demux, bindAddress, options));
    }
    for (const connection of pair.connections.values()) connection.start();
    return pair;
  }

  #connectionFor(tunnel: TunnelConfig, demux: IkeDemux, bindAddress: string, options: IkePairOptions): IkeConnection {
    const asAws = options.role === 'responder';
    const ourOutside = asAws ? tunnel.aws.outsideAddress : tunnel.customer.outsideAddress;
    const peerOutside = asAws ? tunnel.customer.outsideAddress : tunnel.aws.outsideAddress;
    const local: Endpoint = { address: bindAddress === '0.0.0.0' ? ourOutside : bindAddress, port: IKE_PORT };
    const remote: Endpoint = { address: peerOutside, port: IKE_PORT };
    const keylog = options.keylog;
    const connectionOptions: IkeConnectionOptions = {
      tunnel,
      role: options.role,
      local,
      remote,
      localId: asAws ? ourOutside : options.settings.localId,
      remoteId: asAws ? undefined : peerOutside,
      transport: demux.view(peerOutside),
      clock: systemClock,
      random: cryptoRandom,
      sink: options.sinkFor(tunnel.index),
      logger: options.logger,
      ...(options.timing ? { timing: options.timing } : {}),
      ...(keylog ? { keylog: (entry: KeylogEntry) => keylog(tunnel.index, entry) } : {}),
    };
    // The version in the settings (`--ike-version`; ikev2 unless TunnelOptions allow only IKEv1).
    return options.settings.ikeVersion === 'ikev1' ? new IkeV1Connection(connectionOptions) : new IkeV2Connection(connectionOptions);
  }

  /**
   * A reload: the tunnel's connection stops (its SAs deleted at the peer), then one with the
   * new configuration starts. Break-before-make on purpose: the daemon has drained the tunnel
   * first, and a second IKE SA with the same identities would make the peer replace the first
   * anyway (AWS, like strongSwan's uniqueids, keeps one IKE SA per peer).
   */
  async replace(tunnel: TunnelConfig, settings: Settings): Promise<IkeConnection> {
    this.#options = { ...this.#options, settings };
    await this.connections.get(tunnel.index)?.stop();
    const { demux, bindAddress } = this.#options.socketsFor(tunnel.index);
    this.#demuxes.add(demux);
    const connection = this.#connectionFor(tunnel, demux, bindAddress, this.#options);
    this.connections.set(tunnel.index, connection);
    connection.start();
    return connection;
  }

  /** IKE datagram counters, summed over the socket sets. */
  transportCounters(): Record<string, number> {
    const sum: Record<string, number> = {};
    for (const demux of this.#demuxes) {
      for (const [key, value] of Object.entries(demux.counters)) sum[key] = (sum[key] ?? 0) + value;
    }
    return sum;
  }

  /** Deletes every SA at the peer (bounded wait). The sockets belong to the caller. */
  async stop(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.stop()));
  }
}
