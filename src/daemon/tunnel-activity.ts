/**
 * One JSON log line per tunnel state change with AWS's tunnel activity log fields (see
 * src/metrics/aws-tunnel-log.ts), and one per BGP state change, so cgwd's log reads beside
 * AWS's CloudWatch Logs. Events (IKE up/down, rekeys, CHILD SA changes) log with their detail;
 * a short poll catches the phase states that change without an event (Rekeying).
 */
import type { Logger } from 'pino';
import type { ConnectionStatus } from '../ike/index.js';
import { awsTunnelLogFields, type AwsTunnelLogFields } from '../metrics/aws-tunnel-log.js';

export interface ActivityTunnel {
  readonly index: number;
  readonly awsOutsideAddress: string;
  readonly dpdEnabled: boolean;
}

export class TunnelActivityLog {
  readonly #vpnId: string;
  readonly #logger: Logger;
  readonly #detail = new Map<number, string>();
  readonly #last = new Map<number, string>();

  constructor(vpnId: string, logger: Logger) {
    this.#vpnId = vpnId;
    this.#logger = logger;
  }

  fields(tunnel: ActivityTunnel, ike: ConnectionStatus | undefined): AwsTunnelLogFields {
    return awsTunnelLogFields({
      vpnConnectionId: this.#vpnId,
      awsOutsideAddress: tunnel.awsOutsideAddress,
      dpdEnabled: tunnel.dpdEnabled,
      ike,
      detail: this.#detail.get(tunnel.index) ?? 'Tunnel starting',
    });
  }

  /** Something happened on the tunnel: log it with `detail`. */
  event(tunnel: ActivityTunnel, ike: ConnectionStatus | undefined, detail: string): void {
    this.#detail.set(tunnel.index, detail);
    this.#log(tunnel, ike, true);
  }

  /** Logs only when a phase state changed since the last line. */
  poll(tunnel: ActivityTunnel, ike: ConnectionStatus | undefined): void {
    this.#log(tunnel, ike, false);
  }

  bgp(tunnel: ActivityTunnel, state: string, previous: string, detail: string): void {
    this.#logger.info(
      { tunnel: tunnel.index, event: 'BGPStatus', VpnConnectionId: this.#vpnId, TunnelOutsideIPAddress: tunnel.awsOutsideAddress, BgpState: state, BgpPreviousState: previous, VpnLogDetail: detail },
      'BGP activity',
    );
  }

  #log(tunnel: ActivityTunnel, ike: ConnectionStatus | undefined, always: boolean): void {
    let fields = this.fields(tunnel, ike);
    const key = `${fields.TunnelIKEPhase1State}/${fields.TunnelIKEPhase2State}`;
    if (!always) {
      if (this.#last.get(tunnel.index) === key) return;
      this.#detail.set(tunnel.index, `phase 1 ${fields.TunnelIKEPhase1State}, phase 2 ${fields.TunnelIKEPhase2State}`);
      fields = this.fields(tunnel, ike);
    }
    this.#last.set(tunnel.index, key);
    this.#logger.info({ tunnel: tunnel.index, event: 'TunnelStatus', ...fields }, 'tunnel activity');
  }
}
