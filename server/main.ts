import { parseArgs } from 'node:util';
import { createLogger } from './logger.ts';
import { startHomeserver } from './homeserver.ts';
import { RegistrationError } from './appservices/registration.ts';
import { handleSignals, loadConfigOrExit } from './process-lifecycle.ts';

/** Process entry: `npm start -- [--config FILE]`. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  const config = loadConfigOrExit(values.config);
  const logger = createLogger(config.log_level);
  const homeserver = await startHomeserver(config, logger);
  handleSignals(homeserver, logger, 'server');
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
