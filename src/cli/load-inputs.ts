import {
  loadConfig,
  ProblemList,
  readBoundedFile,
  resolveSettings,
  SettingsError,
  type Settings,
  type VpnConfig,
} from '../config/index.js';
import type { Logger } from '../log/index.js';
import { settingsFlagsFrom, type InputOptions } from './settings-options.js';

export interface Inputs {
  config: VpnConfig;
  settings: Settings;
}

/** --config (+ --connection) and --settings + flags → validated inputs, or a ConfigError / SettingsError. */
export function loadInputs(options: InputOptions & { staticRoute?: string[] }, log: Logger): Inputs {
  log.debug({ file: options.config, connection: options.connection }, 'reading AWS configuration');
  const config = loadConfig(options.config, options.connection === undefined ? {} : { connectionId: options.connection });
  log.debug({ config }, 'AWS configuration parsed');

  let settingsText: string | undefined;
  if (options.settings !== undefined) {
    const problems = new ProblemList();
    settingsText = readBoundedFile(options.settings, problems);
    problems.throwIfAny((p) => new SettingsError(p));
  }
  const settings = resolveSettings(settingsText, settingsFlagsFrom(options), config);
  log.debug({ settings }, 'local settings resolved');
  return { config, settings };
}
