/**
 * NAT rebinding (RFC 7296 §2.23): when the NAT in front of cgwd forgets its mapping (a router
 * reboot, a carrier-grade NAT timeout), cgwd's datagrams leave from a new public port while AWS
 * keeps sending to the old one, which now leads nowhere. AWS moves only when it hears an
 * authenticated IKE message from the new port; waiting for DPD takes ~10 s. The keepalive
 * probes notice the silence within a few intervals, so on the second silent probe in a row
 * (neither an answer nor any other decrypted traffic) and then every fifth, the tunnel's IKE
 * connection sends its liveness message at once (it decides whether there is a NAT and an SA).
 */
import type { IkeConnection } from '../ike/connection/ike-connection.js';
import type { Keepalive } from './keepalive.js';

/** Silent probes in a row before the first check, and between later ones. */
export const NAT_CHECK_FIRST = 2;
export const NAT_CHECK_EVERY = 5;

export function natCheckDue(silentRun: number): boolean {
  return silentRun === NAT_CHECK_FIRST || (silentRun > NAT_CHECK_FIRST && (silentRun - NAT_CHECK_FIRST) % NAT_CHECK_EVERY === 0);
}

/** Wires one tunnel's keepalive to its IKE connection; `onCheck` hears each message sent (logs). */
export function watchNatRebinding(keepalive: Keepalive, connection: () => IkeConnection | undefined, onCheck: (silentRun: number) => void): void {
  keepalive.on('silent', (run) => {
    if (!natCheckDue(run)) return;
    if (connection()?.checkNatMapping()) onCheck(run);
  });
}
