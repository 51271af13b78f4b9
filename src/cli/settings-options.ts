/** The command-line flags for local settings, shared by validate, show and (later) up. */
import { Option, type Command } from 'commander';
import { SETTINGS_DEFAULTS, type SettingsFlags } from '../config/index.js';

export interface InputOptions extends SettingsFlags {
  config: string;
  settings?: string;
  connection?: string;
}

function list(value: string, previous: string[] | undefined): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return [...(previous ?? []), ...items];
}

export function addInputOptions(command: Command): Command {
  return command
    .requiredOption('-c, --config <file>', 'the AWS configuration: CustomerGatewayConfiguration XML, or the JSON of "aws ec2 describe-vpn-connections"')
    .option('--connection <vpn-id>', 'which VPN connection to use when the JSON holds several (e.g. vpn-0123456789abcdef0)')
    .option('-s, --settings <file>', 'local settings JSON (see configs/settings.example.json); flags below override it');
}

export function addSettingsOptions(command: Command): Command {
  return command
    .option('--advertise <prefixes>', 'site prefixes to announce to AWS over BGP, comma-separated or repeated (at most 100 toward a virtual private gateway)', list)
    .option('--static-route <prefixes>', 'VPC prefixes to route into the tunnels on a static-routing connection, comma-separated or repeated', list)
    .option('--local-address <ip|auto>', 'address to send IKE and ESP from (default auto: the customer gateway outside address if this host has it, else any)')
    .option('--local-id <id>', 'IKE identity to present (default: the customer gateway outside address; set it behind NAT)')
    .option('--interfaces <t1,t2>', `names of the two tunnel interfaces (default ${SETTINGS_DEFAULTS.interfaces.join(',')})`, list)
    .option('--keepalive-target <ip>', 'address the keepalive probes (ICMP echo through each tunnel) go to instead of the AWS inside address; AWS drops tunnels that stay idle')
    .option('--keepalive-interval <seconds>', `seconds between keepalive probes, 0.05 to 3600 (default ${SETTINGS_DEFAULTS.keepaliveIntervalSeconds})`)
    .option('--keepalive-window <probes>', `a tunnel is unhealthy after this many probes in a row go unanswered (default ${SETTINGS_DEFAULTS.keepaliveWindow})`)
    .option('--metrics-listen <addr:port>', `where to serve Prometheus metrics (default ${SETTINGS_DEFAULTS.metricsListen})`)
    .option('--control-socket <path>', `Unix socket for cgwd status (default ${SETTINGS_DEFAULTS.controlSocket})`)
    .addOption(new Option('--ike-version <version>', 'IKE version to run (default ikev2, unless TunnelOptions allow only ikev1)').choices(['ikev1', 'ikev2']))
    .addOption(
      new Option('--failback <mode>', 'after a failover, return to the preferred tunnel when it recovers (auto) or stay (manual); default auto').choices([
        'auto',
        'manual',
      ]),
    )
    .option('--accept-default-route', 'install a 0.0.0.0/0 learned over BGP (refused by default); the AWS outside addresses are then pinned to the underlay')
    .option('--default-route-metric <n>', `metric of an accepted default route (default ${SETTINGS_DEFAULTS.defaultRouteMetric}); a route of that metric cgwd did not create is never replaced`)
    .option('--route-metric <n>', `metric of the routes cgwd installs into the tunnels (default ${SETTINGS_DEFAULTS.routeMetric})`)
    .option('--as-path-prepend <n>', 'prepend our AS n more times on everything advertised (0–10, default 0): set it on the standby box of a redundant pair so AWS prefers the other box')
    .option('--dataplane-threads <1|2>', 'packet threads per data plane: 1 (default), or 2, one per direction (outbound: TUN reads and encryption; inbound: decryption and TUN writes); needs a restart to change')
    .addOption(
      new Option('--ecmp <mode>', 'use both tunnels at once (one multipath route, equal advertisements): auto = on for a transit gateway with BGP (default)').choices([
        'auto',
        'on',
        'off',
      ]),
    );
}

/** commander's option names → SettingsFlags (only what was given). */
export function settingsFlagsFrom(options: InputOptions & { staticRoute?: string[] }): SettingsFlags {
  const flags: SettingsFlags = {};
  if (options.advertise) flags.advertise = options.advertise;
  if (options.staticRoute) flags.staticRoutes = options.staticRoute;
  if (options.localAddress !== undefined) flags.localAddress = options.localAddress;
  if (options.localId !== undefined) flags.localId = options.localId;
  if (options.interfaces) flags.interfaces = options.interfaces;
  if (options.keepaliveTarget !== undefined) flags.keepaliveTarget = options.keepaliveTarget;
  if (options.keepaliveInterval !== undefined) flags.keepaliveInterval = options.keepaliveInterval;
  if (options.keepaliveWindow !== undefined) flags.keepaliveWindow = options.keepaliveWindow;
  if (options.metricsListen !== undefined) flags.metricsListen = options.metricsListen;
  if (options.controlSocket !== undefined) flags.controlSocket = options.controlSocket;
  if (options.ikeVersion !== undefined) flags.ikeVersion = options.ikeVersion;
  if (options.failback !== undefined) flags.failback = options.failback;
  if (options.acceptDefaultRoute === true) flags.acceptDefaultRoute = true;
  if (options.defaultRouteMetric !== undefined) flags.defaultRouteMetric = options.defaultRouteMetric;
  if (options.routeMetric !== undefined) flags.routeMetric = options.routeMetric;
  if (options.asPathPrepend !== undefined) flags.asPathPrepend = options.asPathPrepend;
  if (options.ecmp !== undefined) flags.ecmp = options.ecmp;
  if (options.dataplaneThreads !== undefined) flags.dataplaneThreads = options.dataplaneThreads;
  return flags;
}
