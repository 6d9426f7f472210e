import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { ensureAptPackages } from '../../services/local-stack/installers';

/** Debian's chromium, the only browser the browser tests use (playwright-core downloads none). */
export const CHROMIUM_PATH = process.env.DG_CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless Chromium for page tests: installs Debian's `chromium` with apt on a fresh machine (as the
 * local stack installs its apt packages), then launches it with flags for a sandbox-less container.
 */
export async function launchChromium(): Promise<Browser> {
  await ensureAptPackages(
    ['chromium'],
    () => existsSync(CHROMIUM_PATH),
    (line) => process.stderr.write(`browser: ${line}\n`),
  );
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}
