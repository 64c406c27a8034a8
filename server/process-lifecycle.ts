import type { Logger } from 'pino';
import type { AppContext } from './app-context.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { reloadAppservices } from './appservices/setup.ts';

/** Loads `--config FILE`; a bad file stops the process with its message (exit 2), naming the key. */
export function loadConfigOrExit(file: string | undefined): Readonly<Config> {
  try {
    return loadConfig({ file });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/**
 * What a running server or worker does on signals: SIGHUP re-reads the
 * appservice registration files (a bad set is refused and the old one kept);
 * SIGTERM/SIGINT stop it gracefully and exit.
 */
export function handleSignals(running: { app: AppContext; stop(): Promise<void> }, logger: Logger, what: string): void {
  process.on('SIGHUP', () => {
    reloadAppservices(running.app).then(
      () => logger.info({ appservices: running.app.appservices.all().map((registration) => registration.id) }, 'appservice registrations reloaded'),
      (error) => logger.error({ err: error }, 'appservice registrations not reloaded'),
    );
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      running.stop().then(
        () => process.exit(0),
        (error) => {
          logger.error({ err: error }, `${what} shutdown failed`);
          process.exit(1);
        },
      );
    });
  }
}
