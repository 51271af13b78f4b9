/**
 * BIRD 2 configuration for the lab: the AWS router (Amazon ASN, one eBGP
 * session per tunnel over its inside /30, advertising the VPC prefix) and, for
 * the reference run, a customer router advertising the on-prem prefix.
 */
export interface BgpNeighbor {
  name: string;
  localAddress: string;
  localAsn: number;
  neighborAddress: string;
  neighborAsn: number;
  interfaceName: string;
  holdTime: number;
  /** BIRD filter expression of what is exported to this neighbor (default: the originated prefixes). */
  exportWhere?: string;
}

export interface BirdRouter {
  routerId: string;
  /** Prefixes this router originates (exported over every session). */
  originate: readonly string[];
  neighbors: readonly BgpNeighbor[];
}

export function birdConf(router: BirdRouter): string {
  const statics = router.originate.map((p) => `  route ${p} unreachable;`).join('\n');
  const sessions = router.neighbors
    .map((n) => {
      const keepalive = n.holdTime === 0 ? 0 : Math.max(1, Math.floor(n.holdTime / 3));
      return `protocol bgp ${n.name} {
  local ${n.localAddress} as ${n.localAsn};
  neighbor ${n.neighborAddress} as ${n.neighborAsn};
  interface "${n.interfaceName}";
  hold time ${n.holdTime};
  keepalive time ${keepalive};
  connect retry time 2;
  error wait time 1, 5;
  ipv4 {
    import all;
    export where ${n.exportWhere ?? 'proto = "originated"'};
  };
}`;
    })
    .join('\n');
  return `router id ${router.routerId};
protocol device { scan time 2; }
protocol kernel {
  ipv4 { import none; export where source = RTS_BGP; };
  learn off;
  merge paths on;
}
protocol static originated {
  ipv4;
${statics}
}
${sessions}
`;
}
