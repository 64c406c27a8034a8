import type { Db, Tx } from './database.ts';

/**
 * Hooks a transaction's work registers: `onCommit` runs only once the data is
 * visible to other connections (wake the notifier, enqueue jobs, publish to
 * Redis there, never before); `onEnd` runs whether it committed or not (release
 * a stream position it reserved).
 */
export interface TxHooks {
  onCommit(hook: () => void): void;
  onEnd(hook: (committed: boolean) => void): void;
}

/**
 * Runs `work` in one transaction. Hooks run after it ends, in registration
 * order: `onEnd` hooks first (so stream positions are settled), then on commit
 * the `onCommit` hooks. A hook that throws is reported after the others ran.
 */
export async function withTransaction<T>(db: Db, work: (tx: Tx, hooks: TxHooks) => Promise<T>): Promise<T> {
  const commitHooks: Array<() => void> = [];
  const endHooks: Array<(committed: boolean) => void> = [];
  let finished = false;
  const hooks: TxHooks = {
    onCommit(hook) {
      if (finished) throw new Error('onCommit registered after the transaction finished');
      commitHooks.push(hook);
    },
    onEnd(hook) {
      if (finished) throw new Error('onEnd registered after the transaction finished');
      endHooks.push(hook);
    },
  };
  let result: T;
  try {
    result = await db.transaction().execute((tx) => work(tx, hooks));
  } catch (error) {
    finished = true;
    runHooks(endHooks.map((hook) => () => hook(false)));
    throw error;
  }
  finished = true;
  runHooks([...endHooks.map((hook) => () => hook(true)), ...commitHooks]);
  return result;
}

function runHooks(hooks: Array<() => void>): void {
  const errors: unknown[] = [];
  for (const hook of hooks) {
    try {
      hook();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'transaction hooks failed');
}
