/**
 * IKE over real UDP sockets: one socket on 500 and one on 4500 (RFC 7296 §2.23,
 * RFC 3948), shared by both tunnels and demultiplexed by the peer's address.
 *
 *   port 500   every datagram is an IKE message
 *   port 4500  0xFF alone            NAT keepalive        → dropped, counted
 *              four zero bytes …     non-ESP marker       → IKE, marker stripped
 *              anything else         ESP                  → the data plane's (counted
 *                                                           here when no data plane listens)
 *
 * When the native data plane owns the 4500 socket, it passes IKE datagrams up
 * and sends ours; `UdpIkeSockets` is then used for port 500 only.
 */
import dgram from 'node:dgram';
import { CgwdError } from '../../errors.js';
import type { Endpoint, IkeDatagram, IkeTransport } from '../runtime.js';

export const IKE_PORT = 500;
export const NAT_T_PORT = 4500;
const NON_ESP_MARKER = Buffer.alloc(4);
const NAT_KEEPALIVE = Buffer.from([0xff]);

export class TransportError extends CgwdError {}

export interface TransportCounters {
  received: number;
  sent: number;
  natKeepalivesReceived: number;
  espWithoutDataplane: number;
  /** Datagrams from an address no tunnel peers with. */
  unknownPeer: number;
  tooShort: number;
  sendErrors: number;
}

/** Classifies a datagram received on the NAT-T port. */
export function classifyNatTDatagram(data: Buffer): 'keepalive' | 'ike' | 'esp' | 'short' {
  if (data.length === 1 && data[0] === 0xff) return 'keepalive';
  if (data.length < 4) return 'short';
  if (data.readUInt32BE(0) === 0) return 'ike';
  return 'esp';
}

type Receiver = (datagram: IkeDatagram) => void;

/**
 * Puts IKE on the wire. The carrier frames: on the NAT-T port it prepends the
 * non-ESP marker to IKE messages (plain sockets do it here, the data plane in C).
 */
export interface IkeCarrier {
  sendIke(local: Endpoint, remote: Endpoint, message: Buffer): void;
  sendNatKeepalive(local: Endpoint, remote: Endpoint): void;
}

/**
 * A demultiplexer: each tunnel gets an `IkeTransport` view that only sees its
 * peer's datagrams. The underlying send/receive is pluggable so the same views
 * work on plain sockets and on the data plane's 4500 socket.
 */
export class IkeDemux {
  readonly #receivers = new Map<string, Receiver>();
  readonly counters: TransportCounters = {
    received: 0, sent: 0, natKeepalivesReceived: 0, espWithoutDataplane: 0, unknownPeer: 0, tooShort: 0, sendErrors: 0,
  };

  readonly #carrier: IkeCarrier;

  constructor(carrier: IkeCarrier) {
    this.#carrier = carrier;
  }

  /** Feed a datagram as it came off the wire (port 4500 still with its marker). */
  receiveRaw(local: Endpoint, remote: Endpoint, data: Buffer): void {
    let payload = data;
    if (local.port !== IKE_PORT) {
      const kind = classifyNatTDatagram(data);
      if (kind === 'keepalive') {
        this.counters.natKeepalivesReceived++;
        return;
      }
      if (kind === 'short') {
        this.counters.tooShort++;
        return;
      }
      if (kind === 'esp') {
        this.counters.espWithoutDataplane++;
        return;
      }
      payload = data.subarray(4);
    }
    this.deliver({ local, remote, data: payload });
  }

  /** Feed an IKE datagram whose marker (if any) is already stripped. */
  deliver(datagram: IkeDatagram): void {
    this.counters.received++;
    const receiver = this.#receivers.get(datagram.remote.address);
    if (!receiver) {
      this.counters.unknownPeer++;
      return;
    }
    receiver(datagram);
  }

  /** The transport one tunnel's IKE uses; it only sees datagrams from `peerAddress`. */
  view(peerAddress: string): IkeTransport {
    const demux = this;
    return {
      send(local, remote, data) {
        demux.counters.sent++;
        demux.#carrier.sendIke(local, remote, data);
      },
      sendNatKeepalive(local, remote) {
        demux.#carrier.sendNatKeepalive(local, remote);
      },
      onDatagram(handler) {
        demux.#receivers.set(peerAddress, handler);
      },
      async close() {
        demux.#receivers.delete(peerAddress);
      },
    };
  }
}

export interface UdpIkeSocketsOptions {
  /** Address to bind; '0.0.0.0' binds all. */
  bindAddress: string;
  ikePort?: number;
  natTPort?: number;
  /** Bind the NAT-T port too (false when the data plane owns it). */
  bindNatT?: boolean;
  /** Deliver into this demultiplexer (shared with the data plane's 4500) instead of an own one. */
  demux?: IkeDemux;
}

/** The plain-socket carrier for IkeDemux. */
export class UdpIkeSockets implements IkeCarrier {
  readonly demux: IkeDemux;
  readonly #sockets = new Map<number, dgram.Socket>();
  readonly #ikePort: number;
  readonly #natTPort: number;
  readonly #options: UdpIkeSocketsOptions;

  /** Through open(), which binds the sockets. */
  private constructor(options: UdpIkeSocketsOptions) {
    this.#options = options;
    this.#ikePort = options.ikePort ?? IKE_PORT;
    this.#natTPort = options.natTPort ?? NAT_T_PORT;
    this.demux = options.demux ?? new IkeDemux(this);
  }

  static async open(options: UdpIkeSocketsOptions): Promise<UdpIkeSockets> {
    const sockets = new UdpIkeSockets(options);
    await sockets.#bind(sockets.#ikePort, IKE_PORT);
    if (options.bindNatT ?? true) await sockets.#bind(sockets.#natTPort, NAT_T_PORT);
    return sockets;
  }

  #bind(port: number, logicalPort: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
      socket.once('error', (error) => reject(new TransportError('IKE_SOCKET_BIND', `cannot bind UDP ${this.#options.bindAddress}:${port}: ${error.message}`)));
      socket.on('message', (data, rinfo) => {
        this.demux.receiveRaw(
          { address: this.#options.bindAddress, port: logicalPort },
          { address: rinfo.address, port: rinfo.port },
          data,
        );
      });
      socket.bind(port, this.#options.bindAddress, () => {
        socket.removeAllListeners('error');
        socket.on('error', () => {
          this.demux.counters.sendErrors++;
        });
        this.#sockets.set(logicalPort, socket);
        resolve();
      });
    });
  }

  sendIke(local: Endpoint, remote: Endpoint, message: Buffer): void {
    this.#send(local, remote, local.port === IKE_PORT ? message : Buffer.concat([NON_ESP_MARKER, message]));
  }

  sendNatKeepalive(local: Endpoint, remote: Endpoint): void {
    this.#send(local, remote, NAT_KEEPALIVE);
  }

  #send(local: Endpoint, remote: Endpoint, payload: Buffer): void {
    const socket = this.#sockets.get(local.port === IKE_PORT ? IKE_PORT : NAT_T_PORT);
    if (!socket) {
      this.demux.counters.sendErrors++;
      return;
    }
    socket.send(payload, remote.port, remote.address, (error) => {
      if (error) this.demux.counters.sendErrors++;
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.#sockets.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    this.#sockets.clear();
  }
}
