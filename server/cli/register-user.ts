/**
 * `npm run register-user -- -u NAME [-p PASSWORD] [-a|--admin] [-c CONFIG] [--url BASE_URL] [--shared-secret SECRET]`
 *
 * Creates a user on a running server through Synapse's shared-secret
 * registration API, like Synapse's `register_new_matrix_user`. The secret and
 * the server's address come from the config (no `-c`: the defaults): the
 * `registration_shared_secret`, or the file at `registration_shared_secret_path`,
 * or `<data_dir>/registration_shared_secret`, which the server writes on first start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { registrationMac } from '../accounts/shared-secret.ts';

const USAGE =
  'usage: npm run register-user -- -u NAME [-p PASSWORD] [-a|--admin] [-c CONFIG] [--url BASE_URL] [--shared-secret SECRET]';

class CliError extends Error {}

function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        user: { type: 'string', short: 'u' },
        password: { type: 'string', short: 'p' },
        admin: { type: 'boolean', short: 'a', default: false },
        config: { type: 'string', short: 'c' },
        url: { type: 'string' },
        'shared-secret': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`);
  }
}

function loadConfigOrExplain(file: string | undefined): Readonly<Config> {
  try {
    return loadConfig({ file });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
}

function sharedSecret(config: Readonly<Config>, override: string | undefined): string {
  if (override) return override;
  if (config.registration_shared_secret) return config.registration_shared_secret;
  const path = config.registration_shared_secret_path ?? resolve(config.data_dir, 'registration_shared_secret');
  if (!existsSync(path)) {
    throw new CliError(
      `no registration shared secret: ${path} does not exist. Start the server once (it creates the file), ` +
        'set registration_shared_secret in the config given with -c, or pass --shared-secret.',
    );
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (!secret) throw new CliError(`the registration shared secret file ${path} is empty`);
  return secret;
}

/** The first http listener, reached over loopback when it binds every address. */
function baseUrl(config: Readonly<Config>, override: string | undefined): string {
  if (override) return override.replace(/\/+$/, '');
  const listener = config.listeners.find((candidate) => candidate.type === 'http')!;
  const address = listener.bind_addresses[0];
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${listener.port}`;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolveLine, reject) => {
    const input = process.stdin;
    process.stderr.write(question);
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    let line = '';
    const finish = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolveLine(line);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new CliError('cancelled'));
        if (char === '\u007f' || char === '\b') line = line.slice(0, -1);
        else line += char;
      }
    };
    input.on('data', onData);
  });
}

async function passwordFromTerminal(): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new CliError('no password given: pass -p PASSWORD, or run this in a terminal to be asked for one');
  }
  const password = await promptHidden('Password: ');
  if (!password) throw new CliError('the password cannot be empty');
  if ((await promptHidden('Confirm password: ')) !== password) throw new CliError('the passwords do not match');
  return password;
}

async function call(url: string, init?: RequestInit): Promise<Record<string, any>> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new CliError(`cannot reach the server at ${url}: ${(error as Error).cause ?? (error as Error).message}`);
  }
  const text = await response.text();
  let body: Record<string, any>;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError(`the server answered ${response.status} with something other than JSON: ${text.slice(0, 200)}`);
  }
  if (!response.ok) throw new CliError(`the server refused (${response.status} ${body.errcode ?? ''}): ${body.error ?? text}`);
  return body;
}

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.user) throw new CliError(`-u NAME is required\n${USAGE}`);
  const config = loadConfigOrExplain(values.config);
  const secret = sharedSecret(config, values['shared-secret']);
  const base = baseUrl(config, values.url ?? positionals[0]);
  const password = values.password ?? (await passwordFromTerminal());

  const endpoint = `${base}/_synapse/admin/v1/register`;
  const { nonce } = await call(endpoint);
  const mac = registrationMac(secret, nonce, values.user, password, values.admin);
  const created = await call(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nonce, username: values.user, password, admin: values.admin, mac }),
  });
  process.stdout.write(`${created.user_id}\n`);
}

main().catch((error) => {
  process.stderr.write(`register-user: ${error instanceof CliError ? error.message : (error as Error).stack}\n`);
  process.exitCode = 1;
});
