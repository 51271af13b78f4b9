// Lets `npm test` and `npm run lab` work on a fresh clone: installs and builds
// (npm ci runs node-gyp and tsc) when dependencies or build outputs are missing.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const needed = [
  'node_modules/vitest/package.json',
  'dist/cli/main.js',
  'native/build/Release/cgwd_dataplane.node',
  'native/build/Release/cgwd_dataplane_testing.node',
];
if (needed.some((file) => !existsSync(file))) {
  console.error('cgwd: installing dependencies and building (npm ci)…');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
}
