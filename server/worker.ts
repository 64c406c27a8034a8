import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config.ts';
import { createLogger } from './logger.ts';
import { startWorker } from './start-worker.ts';
import { reloadAppservices } from './appservices/setup.ts';

/** Worker process entry: `npm run worker -- [--config FILE] [--metrics-port N]`. Runs job handlers only. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, 'metrics-port': { type: 'string' } } });
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
  const metricsPort = values['metrics-port'];
  if (metricsPort !== undefined && !/^\d+$/.test(metricsPort)) {
    process.stderr.write(`--metrics-port: expected a port number, got "${metricsPort}"\n`);
    process.exit(2);
  }
  const logger = createLogger(config.log_level);
  const worker = await startWorker(config, logger, { metricsPort: metricsPort === undefined ? undefined : Number(metricsPort) });
  process.on('SIGHUP', () => {
    reloadAppservices(worker.app).then(
      () => logger.info('appservice registrations reloaded'),
      (error) => logger.error({ err: error }, 'appservice registrations not reloaded'),
    );
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'signal received');
      worker.stop().then(
        () => process.exit(0),
        (error) => {
          logger.error({ err: error }, 'worker shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error) => {
  process.stderr.write(`Palisade worker failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
