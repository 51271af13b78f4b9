/**
 * Protected Informational exchanges (RFC 2409 §5.7), already authenticated by HASH(1) when
 * they get here. Payloads are handled in order:
 *
 *   D (ISAKMP, our cookies)  the peer deleted this ISAKMP SA (RFC 2408 §3.15); it dies at once
 *   D (ESP, SPIs)            the peer deleted IPsec SAs; the SPIs are its inbound = our outbound
 *   N R-U-THERE              answered with R-U-THERE-ACK, same sequence number (RFC 3706 §5)
 *   N R-U-THERE-ACK          liveness (already noted for any authenticated message)
 *   N CONNECTED              the Commit-bit acknowledgement of a quick mode (RFC 2408 §4.8)
 *   N errors                 naming the SPI of a quick mode we started: that quick mode fails
 *
 * Once a Delete has ended the SA, every later payload of the message is ignored: a Delete
 * followed by notifies for the deleted SA must not act on it (GHSA-65xr-g9j5-jv8g).
 */
import { ESP_SPI_LENGTH, NOTIFY_ERROR_MAX, NotifyType, ProtocolId, notifyTypeName } from '../constants.js';
import type { IsakmpSa } from '../sa/isakmp-sa.js';
import type { ChainEntry, DeletePayload, NotifyPayload } from '../wire/payloads.js';
import { QuickModeInitiator } from './quick-mode.js';

export function handleInformational(sa: IsakmpSa, entries: readonly ChainEntry[]): void {
  for (const entry of entries.slice(1)) {
    if (sa.state === 'dead') {
      sa.log.debug({ type: entry.type }, 'payload after the SA was deleted: ignored');
      continue;
    }
    const p = entry.payload;
    if (p.kind === 'D') handleDelete(sa, p);
    else if (p.kind === 'N') handleNotify(sa, p);
  }
}

function handleDelete(sa: IsakmpSa, d: DeletePayload): void {
  if (d.protocolId === ProtocolId.ISAKMP) {
    if (d.spis.some((spi) => sa.isOwnSpi(spi))) sa.host.peerDeletedIsakmp(sa);
    else sa.log.debug('Delete for another ISAKMP SA: ignored');
    return;
  }
  if (d.protocolId === ProtocolId.IPSEC_ESP) {
    const spis = d.spis.filter((s) => s.length === ESP_SPI_LENGTH).map((s) => s.readUInt32BE(0));
    if (spis.length > 0) sa.host.peerDeletedChildren(sa, spis);
    return;
  }
  sa.log.debug({ protocol: d.protocolId }, 'Delete for an unused protocol: ignored');
}

function quickModeBySpi(sa: IsakmpSa, spi: Buffer): QuickModeInitiator | undefined {
  if (spi.length !== ESP_SPI_LENGTH) return undefined;
  const value = spi.readUInt32BE(0);
  for (const exchange of sa.quickModes.values()) {
    if (exchange instanceof QuickModeInitiator && exchange.spiIn === value) return exchange;
  }
  return undefined;
}

function handleNotify(sa: IsakmpSa, n: NotifyPayload): void {
  switch (n.notifyType) {
    case NotifyType.R_U_THERE:
      if (n.protocolId === ProtocolId.ISAKMP && sa.isOwnSpi(n.spi) && n.data.length === 4) {
        sa.sendInformational([sa.notifyPayload(NotifyType.R_U_THERE_ACK, ProtocolId.ISAKMP, sa.isakmpSpi, n.data)]);
      } else {
        sa.log.debug('R-U-THERE for another SA or without a sequence number: ignored');
      }
      return;
    case NotifyType.R_U_THERE_ACK:
      if (n.data.length !== 4 || !sa.dpdAcknowledged(n.data.readUInt32BE(0))) sa.log.debug('R-U-THERE-ACK with an unknown sequence number');
      return;
    case NotifyType.CONNECTED: {
      const qm = quickModeBySpi(sa, n.spi) ?? [...sa.quickModes.values()].find((q): q is QuickModeInitiator => q instanceof QuickModeInitiator && q.state === 'awaiting-connected');
      qm?.connected();
      return;
    }
    case NotifyType.INITIAL_CONTACT:
    case NotifyType.RESPONDER_LIFETIME:
    case NotifyType.REPLAY_STATUS:
      return;
    default:
      if (n.notifyType <= NOTIFY_ERROR_MAX) {
        const qm = n.protocolId === ProtocolId.IPSEC_ESP ? quickModeBySpi(sa, n.spi) : undefined;
        if (qm) qm.peerError(n.notifyType);
        else sa.log.warn({ notify: notifyTypeName(n.notifyType) }, 'peer reported an error');
      } else {
        sa.log.debug({ notify: notifyTypeName(n.notifyType) }, 'status notify ignored');
      }
  }
}
