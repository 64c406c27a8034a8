/** What one item of a batch came to: its own value or its own refusal. */
export type BatchOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface KeyedBatcher<In, Out> {
  /** Queues `item` behind the others of `key` and resolves with its own outcome. */
  submit(key: string, item: In): Promise<Out>;
}

interface Pending<In, Out> {
  item: In;
  resolve(value: Out): void;
  reject(error: unknown): void;
}

/**
 * Runs the items of one key one batch at a time, in submission order: while a
 * batch of a key is running, newly submitted items of that key wait and form
 * the next batch (up to `maxBatch`). Sends to one room share a lock anyway;
 * batching lets the ones that queued behind it share a transaction and a
 * commit instead of each waiting for its own.
 *
 * `run` gives one outcome per item, in order; if it throws, every item of the
 * batch is refused with that error.
 */
export function createKeyedBatcher<In, Out>(
  maxBatch: number,
  run: (key: string, items: In[]) => Promise<Array<BatchOutcome<Out>>>,
): KeyedBatcher<In, Out> {
  const queues = new Map<string, Array<Pending<In, Out>>>();

  async function drain(key: string, queue: Array<Pending<In, Out>>): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        const outcomes = await run(key, batch.map((pending) => pending.item));
        batch.forEach((pending, index) => {
          const outcome = outcomes[index];
          if (outcome?.ok) pending.resolve(outcome.value);
          else pending.reject(outcome ? outcome.error : new Error('the batch gave no outcome for this item'));
        });
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    queues.delete(key);
  }

  return {
    submit(key, item) {
      return new Promise<Out>((resolve, reject) => {
        const queue = queues.get(key);
        if (queue) {
          queue.push({ item, resolve, reject });
          return;
        }
        const fresh = [{ item, resolve, reject }];
        queues.set(key, fresh);
        void drain(key, fresh);
      });
    },
  };
}
