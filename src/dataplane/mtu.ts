/**
 * How much of the path an ESP-in-UDP tunnel leaves for the inner packet
 * (RFC 4303 §2.4 padding, RFC 3948 UDP encapsulation). The data plane uses
 * the same arithmetic (native/src/esp.c, esp_max_inner) to decide when to
 * fragment before encryption; `cgwd up` uses it to pick the TUN MTU.
 *
 * Against AWS's table (User Guide, "Customer gateway device requirements", MTU), path MTU 1500:
 *   AES-GCM-16                1438 with NAT-T, 1446 without
 *   AES-CBC + SHA1/SHA2-256   1422 / 1438
 *   AES-CBC + SHA2-384        1422 / 1422
 *   AES-CBC + SHA2-512        1406 / 1422
 */
import { encryptionByName, integrityByName, type EncryptionName, type IntegrityName } from '../crypto/transforms.js';

export interface EspSuite {
  readonly encryption: EncryptionName;
  readonly integrity?: IntegrityName | undefined;
}

const IPV4_HEADER = 20;
const UDP_HEADER = 8;
const ESP_HEADER = 8; // SPI + sequence number
const ESP_TRAILER = 2; // pad length + next header

function suiteSizes(suite: EspSuite): { iv: number; icv: number; align: number } {
  const enc = encryptionByName(suite.encryption);
  const icv = enc.aead ? enc.icvBytes : suite.integrity ? integrityByName(suite.integrity).icvBytes : 0;
  return { iv: enc.ivBytes, icv, align: Math.max(enc.blockBytes, 4) };
}

/** Bytes of the ESP packet (SPI through ICV) carrying an inner packet of `innerLength` bytes. */
export function espPacketLength(suite: EspSuite, innerLength: number): number {
  const { iv, icv, align } = suiteSizes(suite);
  const padded = Math.ceil((innerLength + ESP_TRAILER) / align) * align;
  return ESP_HEADER + iv + padded + icv;
}

/** Bytes of the outer IPv4 datagram for an inner packet of `innerLength` bytes. */
export function outerDatagramLength(suite: EspSuite, innerLength: number, natTraversal = true): number {
  return IPV4_HEADER + (natTraversal ? UDP_HEADER : 0) + espPacketLength(suite, innerLength);
}

/** The largest inner packet whose outer datagram fits in `pathMtu` bytes. */
export function maxInnerPacket(suite: EspSuite, pathMtu = 1500, natTraversal = true): number {
  const { iv, icv, align } = suiteSizes(suite);
  const room = pathMtu - IPV4_HEADER - (natTraversal ? UDP_HEADER : 0) - ESP_HEADER - iv - icv;
  if (room < align) return 0;
  return Math.floor(room / align) * align - ESP_TRAILER;
}

/** MSS that fits an inner packet of `mtu` bytes (IPv4 and TCP headers without options). */
export function mssForMtu(mtu: number): number {
  return mtu - 40;
}
