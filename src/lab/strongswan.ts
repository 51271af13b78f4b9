/**
 * strongSwan (charon + swanctl) configuration for the lab: the AWS side of a
 * tunnel (responder, route-based, 0.0.0.0/0 selectors, PSK chosen by the pair
 * of identities, AWS lifetimes and DPD) and, for the reference run, a customer
 * side. Both use kernel-libipsec (userspace ESP over TUN), the only ESP data
 * path on kernels without CONFIG_INET_ESP (README, "The emulated-AWS lab").
 */
import {
  DH_GROUPS,
  ENCRYPTION,
  INTEGRITY,
  type DhGroupNumber,
  type EncryptionName,
  type IntegrityName,
} from '../crypto/transforms.js';

const SWAN_ENCRYPTION: Record<EncryptionName, string> = {
  'aes128-cbc': 'aes128',
  'aes256-cbc': 'aes256',
  'aes128-gcm16': 'aes128gcm16',
  'aes256-gcm16': 'aes256gcm16',
};
const SWAN_INTEGRITY: Record<IntegrityName, string> = {
  'hmac-sha1-96': 'sha1',
  'hmac-sha256-128': 'sha256',
  'hmac-sha384-192': 'sha384',
  'hmac-sha512-256': 'sha512',
};
const SWAN_PRF: Record<IntegrityName, string> = {
  'hmac-sha1-96': 'prfsha1',
  'hmac-sha256-128': 'prfsha256',
  'hmac-sha384-192': 'prfsha384',
  'hmac-sha512-256': 'prfsha512',
};
export const SWAN_DH: Record<DhGroupNumber, string> = {
  2: 'modp1024',
  5: 'modp1536',
  14: 'modp2048',
  15: 'modp3072',
  16: 'modp4096',
  17: 'modp6144',
  18: 'modp8192',
  19: 'ecp256',
  20: 'ecp384',
  21: 'ecp521',
  22: 'modp1024s160',
  23: 'modp2048s224',
  24: 'modp2048s256',
};

export interface Suite {
  encryption: readonly EncryptionName[];
  integrity: readonly IntegrityName[];
  dhGroups: readonly DhGroupNumber[];
}

/** Every suite AWS accepts when TunnelOptions narrow nothing (User Guide, "Tunnel options"). */
export function awsDefaultSuite(phase: 1 | 2): Suite {
  return {
    encryption: ENCRYPTION.map((e) => e.name),
    integrity: INTEGRITY.map((i) => i.name),
    dhGroups: DH_GROUPS.filter((g) => phase === 2 || g.awsPhase1).map((g) => g.group),
  };
}

/**
 * strongSwan proposal strings: CBC and GCM go into separate proposals, since an
 * AEAD IKE proposal carries PRFs instead of integrity algorithms and an AEAD ESP
 * proposal carries neither.
 */
export function proposals(suite: Suite, kind: 'ike' | 'esp'): string {
  const cbc = suite.encryption.filter((e) => !e.endsWith('gcm16')).map((e) => SWAN_ENCRYPTION[e]);
  const gcm = suite.encryption.filter((e) => e.endsWith('gcm16')).map((e) => SWAN_ENCRYPTION[e]);
  const dh = suite.dhGroups.map((g) => SWAN_DH[g]);
  const out: string[] = [];
  if (cbc.length > 0 && suite.integrity.length > 0) {
    out.push([...cbc, ...suite.integrity.map((i) => SWAN_INTEGRITY[i]), ...dh].join('-'));
  }
  if (gcm.length > 0) {
    const prf = kind === 'ike' ? suite.integrity.map((i) => SWAN_PRF[i]) : [];
    out.push([...gcm, ...prf, ...dh].join('-'));
  }
  return out.join(',');
}

export interface CharonOptions {
  stateDir: string;
  /** Log level for the ike and chd groups (4 logs key material: lab only). */
  logLevel?: number;
  /** MTU of the libipsec TUN. */
  mtu?: number;
}

export function strongswanConf(opts: CharonOptions): string {
  const level = opts.logLevel ?? 1;
  return `charon {
  load_modular = no
  load = random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey gmp hmac kdf kernel-libipsec kernel-netlink socket-default vici updown
  install_routes = no
  install_virtual_ip = no
  port = 500
  port_nat_t = 4500
  # DPD gives up about 30 s after its first unanswered probe, like AWS's default DPD timeout.
  retransmit_tries = 5
  retransmit_timeout = 2.0
  retransmit_base = 1.4
  filelog {
    log {
      path = ${opts.stateDir}/charon.log
      default = 1
      ike = ${level}
      chd = ${level}
      cfg = 1
      time_format = %b %e %T
      flush_line = yes
    }
  }
  syslog {
  }
  plugins {
    vici {
      socket = unix://${opts.stateDir}/charon.vici
    }
    kernel-libipsec {
      mtu = ${opts.mtu ?? 1400}
    }
  }
}
`;
}

export interface SwanConnection {
  name: string;
  version: 0 | 1 | 2;
  localAddress: string;
  remoteAddress: string;
  localId: string;
  remoteId: string;
  psk: string;
  ike: Suite;
  esp: Suite;
  ikeLifetime: number;
  childLifetime: number;
  dpdDelay: number;
  role: 'responder' | 'initiator';
  /** Script strongSwan runs when the CHILD SA comes up or goes down. */
  updown?: string;
}

/** One swanctl.conf holding connections and their PSKs. */
export function swanctlConf(connections: readonly SwanConnection[]): string {
  const conns = connections
    .map(
      (c) => `  ${c.name} {
    version = ${c.version}
    local_addrs = ${c.localAddress}
    remote_addrs = ${c.role === 'responder' ? '%any' : c.remoteAddress}
    proposals = ${proposals(c.ike, 'ike')}
    rekey_time = ${c.ikeLifetime}s
    dpd_delay = ${c.dpdDelay}s
    unique = replace
    encap = yes
    local {
      auth = psk
      id = ${c.localId}
    }
    remote {
      auth = psk
      id = ${c.remoteId}
    }
    children {
      ${c.name} {
        local_ts = 0.0.0.0/0
        remote_ts = 0.0.0.0/0
        esp_proposals = ${proposals(c.esp, 'esp')}
        rekey_time = ${c.childLifetime}s
        mode = tunnel
        start_action = none
        dpd_action = ${c.role === 'responder' ? 'clear' : 'restart'}${c.updown ? `\n        updown = ${c.updown}` : ''}
      }
    }
  }`,
    )
    .join('\n');
  const secrets = connections
    .map(
      (c, i) => `  ike-${i + 1} {
    id-1 = ${c.localId}
    id-2 = ${c.remoteId}
    secret = "${c.psk}"
  }`,
    )
    .join('\n');
  return `connections {\n${conns}\n}\nsecrets {\n${secrets}\n}\n`;
}
