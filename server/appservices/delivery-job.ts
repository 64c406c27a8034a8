import type { AppContext } from '../app-context.ts';
import { deleteAppserviceTransaction } from '../storage/queries/appservices.ts';
import { ensureDeliveryState } from './setup.ts';
import { callAppservice } from './appservice-client.ts';
import type { Registration } from './registration.ts';
import { ownsUser } from './namespaces.ts';
import { nextTransaction, transactionBody } from './transactions.ts';

export const DELIVERY_JOB = 'appservices.deliver';
export const DELIVERY_SWEEP_JOB = 'appservices.sweep';
/** Safety net: picks up delivery that nothing woke (a job given up for good, a process that died mid-announce). */
const SWEEP_INTERVAL_MS = 60_000;
/** Transactions sent by one run before it yields to other jobs (it queues its own follow-up). */
const MAX_TRANSACTIONS_PER_RUN = 20;
/** Retries of an appservice that is down: 1 s doubling up to 5 min, for about a week before the sweep takes over. */
const DELIVERY_BACKOFF_MS = 1_000;
const DELIVERY_MAX_BACKOFF_MS = 5 * 60_000;
const DELIVERY_ATTEMPTS = 2_000;

interface DeliveryJob {
  appserviceId: string;
}

/** One job id per appservice: at most one delivery runs per appservice, and a wake-up during a run queues exactly one more. */
const deliveryJobId = (appserviceId: string) => `${DELIVERY_JOB}:${appserviceId}`;

export async function wakeDelivery(app: AppContext, appserviceId: string): Promise<void> {
  await app.jobs.enqueue<DeliveryJob>(DELIVERY_JOB, { appserviceId }, { jobId: deliveryJobId(appserviceId) });
}

/** The appservice answered a ping: a delivery backing off after failures is retried now rather than at its next attempt. */
export async function retryDeliveryNow(app: AppContext, appserviceId: string): Promise<void> {
  await app.jobs.runNow(DELIVERY_JOB, deliveryJobId(appserviceId));
}

/** To-device messages were sent to these users: wake the appservices that receive them (MSC2409). */
export async function wakeDeliveryForUsers(app: AppContext, userIds: Iterable<string>): Promise<void> {
  const users = [...new Set(userIds)];
  for (const registration of app.appservices.all()) {
    if (registration.url && registration.receiveEphemeral && users.some((userId) => ownsUser(registration, userId))) await wakeDelivery(app, registration.id);
  }
}

/**
 * Delivery of room events to appservices as jobs. Each run sends the pending
 * transaction (the same txnId and events as before if it was not
 * acknowledged), then builds and sends the next, in order, until nothing is
 * left. A failure throws, and the job retries with exponential backoff while
 * the appservice is down; wake-ups meanwhile do nothing (the retry covers them).
 * `recover` and the sweep re-derive everything from Postgres.
 */
export async function defineDeliveryJobs(app: AppContext): Promise<void> {
  app.jobs.define<DeliveryJob>({
    name: DELIVERY_JOB,
    concurrency: 8,
    attempts: DELIVERY_ATTEMPTS,
    backoffMs: DELIVERY_BACKOFF_MS,
    maxBackoffMs: DELIVERY_MAX_BACKOFF_MS,
    handle: async (data) => {
      const registration = app.appservices.byId(data.appserviceId);
      // Removed since it was queued, or nowhere to deliver to.
      if (!registration?.url) return;
      await deliverPending(app, registration);
    },
    recover: () => wakeAll(app),
  });
  app.jobs.define({ name: DELIVERY_SWEEP_JOB, handle: () => wakeAll(app) });
  await app.jobs.every(DELIVERY_SWEEP_JOB, SWEEP_INTERVAL_MS, {});
}

async function wakeAll(app: AppContext): Promise<void> {
  await ensureDeliveryState(app);
  for (const registration of app.appservices.all()) if (registration.url) await wakeDelivery(app, registration.id);
}

async function deliverPending(app: AppContext, registration: Registration): Promise<void> {
  for (let sent = 0; sent < MAX_TRANSACTIONS_PER_RUN; ) {
    const next = await nextTransaction(app, registration);
    if (next.kind === 'none') {
      if (!next.more) return;
      continue;
    }
    const { transaction } = next;
    const reply = await callAppservice(registration, {
      method: 'PUT',
      path: `/_matrix/app/v1/transactions/${transaction.txn_id}`,
      body: transactionBody(transaction),
      // A slow appservice gets this long before the attempt counts as failed (and backs off).
      timeoutMs: app.config.appservice_timeouts.transaction,
    });
    if (reply.kind !== 'answered' || reply.status < 200 || reply.status >= 300) {
      // Logged without the body: it may echo event content.
      const outcome = reply.kind === 'answered' ? `status ${reply.status}` : reply.kind === 'timeout' ? 'timed out' : `unreachable: ${reply.reason}`;
      throw new Error(`appservice ${registration.id} did not accept transaction ${transaction.txn_id} (${outcome})`);
    }
    await deleteAppserviceTransaction(app.db, registration.id, transaction.txn_id);
    app.logger.debug({ appservice: registration.id, txn_id: transaction.txn_id, events: transaction.events.length }, 'appservice transaction delivered');
    sent += 1;
  }
  // More may be waiting: this id is running, so this queues exactly one follow-up run.
  await wakeDelivery(app, registration.id);
}
