/**
 * Shared test fixtures for the IKE wire tests: a hex reader for hand-built packets and valid
 * sample payloads/messages covering every payload kind.
 */
import {
  AuthMethod,
  CfgAttributeType,
  CfgType,
  ExchangeType,
  IdType,
  NotifyType,
  ProtocolId,
  TransformType,
  TsType,
  encodeInnerPayloads,
  encodeMessage,
  frameEncryptedMessage,
  padPlaintext,
  type IkeHeaderFields,
  type Payload,
  type Proposal,
} from '../../../../../src/ike/v2/wire/index.js';

/** Hex with whitespace and `#` comments allowed: `hex('00 01 # two bytes')`. */
export function hex(text: string): Buffer {
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}

export const bytes = (length: number, fill: number): Buffer => Buffer.alloc(length, fill);

export const SPI_I = hex('1122334455667788');
export const SPI_R = hex('99aabbccddeeff00');
export const ZERO_SPI = Buffer.alloc(8);

export function header(exchangeType: number, opts: Partial<IkeHeaderFields> = {}): IkeHeaderFields {
  return {
    spiI: SPI_I,
    spiR: exchangeType === ExchangeType.IKE_SA_INIT ? ZERO_SPI : SPI_R,
    exchangeType,
    flags: { initiator: true, response: false, version: false },
    messageId: exchangeType === ExchangeType.IKE_SA_INIT ? 0 : 1,
    ...opts,
  };
}

export const ikeProposal: Proposal = {
  number: 1,
  protocolId: ProtocolId.IKE,
  spi: Buffer.alloc(0),
  transforms: [
    { type: TransformType.ENCR, id: 12, attributes: [{ format: 'TV', type: 14, value: 256 }] },
    { type: TransformType.PRF, id: 5, attributes: [] },
    { type: TransformType.INTEG, id: 12, attributes: [] },
    { type: TransformType.DH, id: 14, attributes: [] },
  ],
};

export const espProposal = (number = 1): Proposal => ({
  number,
  protocolId: ProtocolId.ESP,
  spi: hex('c0ffee01'),
  transforms: [
    { type: TransformType.ENCR, id: 20, attributes: [{ format: 'TV', type: 14, value: 128 }] },
    { type: TransformType.ESN, id: 0, attributes: [] },
  ],
});

export const ikeRekeyProposal: Proposal = { ...ikeProposal, spi: hex('0102030405060708') };

export const tsAll = (kind: 'TSi' | 'TSr'): Payload => ({
  kind,
  selectors: [
    {
      tsType: TsType.TS_IPV4_ADDR_RANGE,
      ipProtocol: 0,
      startPort: 0,
      endPort: 65535,
      startAddress: hex('00000000'),
      endAddress: hex('ffffffff'),
    },
    {
      tsType: TsType.TS_IPV6_ADDR_RANGE,
      ipProtocol: 6,
      startPort: 179,
      endPort: 179,
      startAddress: Buffer.alloc(16, 0x00),
      endAddress: Buffer.alloc(16, 0xff),
    },
  ],
});

export const nonce = (fill = 0x4e, length = 32): Payload => ({ kind: 'Nonce', nonce: bytes(length, fill) });
export const ke = (group = 14, length = 256): Payload => ({ kind: 'KE', group, data: bytes(length, 0x6b) });
export const notify = (notifyType: number, data: Buffer = Buffer.alloc(0)): Payload => ({
  kind: 'N',
  protocolId: 0,
  spi: Buffer.alloc(0),
  notifyType,
  data,
});

/** One valid instance of every payload kind (SK/SKF excluded: they only come last, outside). */
export const everyInnerPayload: readonly Payload[] = [
  { kind: 'SA', proposals: [espProposal(1), { ...espProposal(2), protocolId: ProtocolId.AH }] },
  ke(),
  { kind: 'IDi', idType: IdType.ID_IPV4_ADDR, data: hex('c0000201') },
  { kind: 'IDr', idType: IdType.ID_FQDN, data: Buffer.from('vpn.example.com') },
  { kind: 'CERT', encoding: 4, data: bytes(40, 0x30) },
  { kind: 'CERTREQ', encoding: 4, data: bytes(20, 0xcc) },
  { kind: 'AUTH', method: AuthMethod.SHARED_KEY_MIC, data: bytes(32, 0xa5) },
  nonce(),
  notify(NotifyType.INITIAL_CONTACT),
  { kind: 'N', protocolId: ProtocolId.ESP, spi: hex('c0ffee02'), notifyType: NotifyType.REKEY_SA, data: Buffer.alloc(0) },
  notify(NotifyType.NAT_DETECTION_SOURCE_IP, bytes(20, 0x11)),
  { kind: 'D', protocolId: ProtocolId.ESP, spis: [hex('00000101'), hex('00000102')] },
  { kind: 'D', protocolId: ProtocolId.IKE, spis: [] },
  { kind: 'V', data: Buffer.from('cgwd test vendor') },
  tsAll('TSi'),
  tsAll('TSr'),
  {
    kind: 'CP',
    cfgType: CfgType.CFG_REQUEST,
    attributes: [
      { type: CfgAttributeType.INTERNAL_IP4_ADDRESS, value: Buffer.alloc(0) },
      { type: CfgAttributeType.INTERNAL_IP4_DNS, value: hex('08080808') },
    ],
  },
  { kind: 'EAP', data: hex('01 02 0005 01') },
  { kind: 'unknown', type: 200, critical: false, body: hex('deadbeef') },
];

export function ikeSaInitRequest(): Buffer {
  return encodeMessage({
    header: header(ExchangeType.IKE_SA_INIT),
    payloads: [
      { kind: 'SA', proposals: [ikeProposal] },
      ke(),
      nonce(),
      notify(NotifyType.NAT_DETECTION_SOURCE_IP, bytes(20, 1)),
      notify(NotifyType.NAT_DETECTION_DESTINATION_IP, bytes(20, 2)),
      notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED),
      { kind: 'V', data: bytes(16, 0x76) },
    ],
  });
}

export const ikeAuthRequestInner: readonly Payload[] = [
  { kind: 'IDi', idType: IdType.ID_IPV4_ADDR, data: hex('c0000201') },
  notify(NotifyType.INITIAL_CONTACT),
  { kind: 'IDr', idType: IdType.ID_IPV4_ADDR, data: hex('c6336401') },
  { kind: 'AUTH', method: AuthMethod.SHARED_KEY_MIC, data: bytes(32, 0xa5) },
  { kind: 'SA', proposals: [espProposal(1)] },
  tsAll('TSi'),
  tsAll('TSr'),
];

/** An IKE_AUTH request framed with a fake "cipher": identity with 16-byte blocks, 16-byte IV and ICV. */
export function ikeAuthRequest(): { datagram: Buffer; plaintext: Buffer; firstType: number } {
  const inner = encodeInnerPayloads(ikeAuthRequestInner);
  const padded = padPlaintext(inner.bytes, 16);
  const frame = frameEncryptedMessage({
    header: header(ExchangeType.IKE_AUTH),
    firstInnerType: inner.firstType,
    ivLength: 16,
    ciphertextLength: padded.length,
    icvLength: 16,
  });
  frame.iv.fill(0x49);
  padded.copy(frame.ciphertext);
  frame.icv.fill(0x1c);
  return { datagram: frame.message, plaintext: inner.bytes, firstType: inner.firstType };
}
