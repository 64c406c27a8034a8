import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config.ts';
import { createLogger } from './logger.ts';
import { startHomeserver } from './homeserver.ts';
import { RegistrationError } from './appservices/registration.ts';
import { reloadAppservices } from './appservices/setup.ts';

/** Process entry: `npm start -- [--config FILE]`. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  let config;
  try {
    config = loadConfig({ file: values.config });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.log_level);
  const homeserver = await startHomeserver(config, logger);
  // SIGHUP re-reads the appservice registration files (a bad set is refused; the old one stays).
  process.on('SIGHUP', () => {
    reloadAppservices(homeserver.app).then(
      () => logger.info({ appservices: homeserver.app.appservices.all().map((registration) => registration.id) }, 'appservice registrations reloaded'),
      (error) => logger.error({ err: error }, 'appservice registrations not reloaded'),
    );
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      homeserver.stop().then(
        () => process.exit(0),
        (error) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error) => {
  // A bad appservice registration is the admin's to fix: its message names the file and the problem.
  if (error instanceof RegistrationError) {
    process.stderr.write(`Palisade failed to start: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`Palisade failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
