export { loadConfig, parseConfig, type ParseOptions } from './load.js';
export type {
  TunnelIndex,
  BgpPeer,
  DpdTimeoutAction,
  IkeVersion,
  InsideIpv6,
  SettingOrigin,
  StartupAction,
  TunnelConfig,
  TunnelEndpoint,
  TunnelOrigins,
  TunnelSettingKey,
  VpnConfig,
} from './model.js';
export { TUNNEL_SETTING_KEYS, isXmlMinimum } from './model.js';
export { Secret, REDACTED, maskSecret } from './secret.js';
export { ConfigError, SettingsError, ProblemList, RULES, formatProblem, type Problem, type Rule } from './problems.js';
export { MAX_INPUT_BYTES, readBoundedFile } from './read-input.js';
export { AWS_DEFAULTS, AWS_RANGES } from './aws-limits.js';
export {
  resolveSettings,
  ecmpActive,
  SETTINGS_DEFAULTS,
  SETTING_FLAGS,
  SETTING_NAMES,
  type LocalAddress,
  type SettingName,
  type Settings,
  type SettingsFlags,
  type SettingsOrigin,
} from './settings.js';
