import { parseArgs } from 'node:util';
import { createLogger } from './logger.ts';
import { startWorker } from './start-worker.ts';
import { handleSignals, loadConfigOrExit } from './process-lifecycle.ts';

/** Worker process entry: `npm run worker -- [--config FILE] [--metrics-port N]`. Runs job handlers only. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, 'metrics-port': { type: 'string' } } });
  const config = loadConfigOrExit(values.config);
  const metricsPort = values['metrics-port'];
  if (metricsPort !== undefined && !/^\d+$/.test(metricsPort)) {
    process.stderr.write(`--metrics-port: expected a port number, got "${metricsPort}"\n`);
    process.exit(2);
  }
  const logger = createLogger(config.log_level);
  const worker = await startWorker(config, logger, { metricsPort: metricsPort === undefined ? undefined : Number(metricsPort) });
  handleSignals(worker, logger, 'worker');
}

main().catch((error) => {
  process.stderr.write(`Palisade worker failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
