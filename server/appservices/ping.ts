import { MatrixError, forbidden } from '../errors.ts';
import { callAppservice } from './appservice-client.ts';
import type { Registration } from './registration.ts';
import type { AppContext } from '../app-context.ts';
import { retryDeliveryNow } from './delivery-job.ts';

/** What of the appservice's reply body a failed ping reports back (to the appservice itself). */
const MAX_REPORTED_BODY = 1024;

/**
 * Spec: POST /_matrix/client/v1/appservice/{appserviceId}/ping. Only the
 * appservice itself may ask; the homeserver calls its `/_matrix/app/v1/ping`
 * with the hs_token and reports how it went; on success a delivery waiting
 * out a backoff is retried at once.
 */
export async function pingAppservice(
  app: AppContext,
  caller: Registration | undefined,
  appserviceId: string,
  transactionId: string | undefined,
): Promise<{ duration_ms: number }> {
  if (!caller || caller.id !== appserviceId) throw forbidden("Provided access token is not the appservice's as_token");
  if (!caller.url) throw new MatrixError('M_URL_NOT_SET', "Application service doesn't have a URL configured", { status: 400 });
  const started = performance.now();
  const reply = await callAppservice(caller, {
    method: 'POST',
    path: '/_matrix/app/v1/ping',
    body: transactionId === undefined ? {} : { transaction_id: transactionId },
    timeoutMs: app.config.appservice_timeouts.ping,
  });
  const duration = Math.round(performance.now() - started);
  if (reply.kind === 'timeout') throw new MatrixError('M_CONNECTION_TIMEOUT', 'Connection to application service timed out', { status: 504 });
  if (reply.kind === 'unreachable') throw new MatrixError('M_CONNECTION_FAILED', `Connection to application service failed: ${reply.reason}`, { status: 502 });
  if (reply.status < 200 || reply.status >= 300) {
    throw new MatrixError('M_BAD_STATUS', `Ping returned status ${reply.status}`, {
      status: 502,
      extra: { status: reply.status, body: reply.body.slice(0, MAX_REPORTED_BODY) },
    });
  }
  // It is up: whatever delivery is waiting out a backoff goes now (as Synapse does after a ping).
  await retryDeliveryNow(app, caller.id);
  return { duration_ms: duration };
}
