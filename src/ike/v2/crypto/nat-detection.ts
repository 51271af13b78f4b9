/**
 * NAT detection (RFC 7296 §2.23): NAT_DETECTION_SOURCE_IP / _DESTINATION_IP carry
 *
 *   SHA-1(SPIi | SPIr | IP | Port)
 *
 * with the SPIs of the message's header (SPIr is zero in the IKE_SA_INIT request), the IP in
 * network order (4 or 16 octets) and the port as two octets.
 *
 * cgwd always encapsulates ESP in UDP 4500, one socket for IKE and ESP: it may claim a NAT on
 * its own side by sending a SOURCE hash that cannot match (§2.23 allows this; strongSwan
 * `encap = yes`), so the peer encapsulates too.
 */
import { createHash } from 'node:crypto';
import { addressBytes } from '../../ip-address.js';
import type { Endpoint } from '../../runtime.js';

export function natDetectionHash(spiI: Buffer, spiR: Buffer, endpoint: Endpoint): Buffer {
  const port = Buffer.alloc(2);
  port.writeUInt16BE(endpoint.port);
  return createHash('sha1').update(spiI).update(spiR).update(addressBytes(endpoint.address)).update(port).digest();
}

/** A SOURCE hash that matches no real address: claims a NAT here to force UDP encapsulation. */
export function forcedEncapsulationHash(spiI: Buffer, spiR: Buffer): Buffer {
  return createHash('sha1').update(spiI).update(spiR).update('cgwd: forced UDP encapsulation').digest();
}
