import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { wakeDeliveryForUsers } from '../../appservices/delivery-job.ts';
import { MAX_TO_DEVICE_BODY_BYTES, sendToDevice } from '../../e2ee/to-device.ts';
import { MAX_IDENTIFIER_LENGTH } from '../../e2ee/key-json.ts';
import { announceToDeviceSent } from '../../e2ee/e2ee-streams.ts';

const SendParams = z.object({ eventType: z.string().min(1).max(255), txnId: z.string().min(1).max(255) });
const SendBody = z.looseObject({
  messages: z.record(
    z.string().regex(/^@[^:]+:.+$/, 'expected a user ID such as @alice:example.org').max(MAX_IDENTIFIER_LENGTH),
    z.record(z.string().max(MAX_IDENTIFIER_LENGTH), z.record(z.string(), z.unknown())),
  ),
});

export function mountToDevice(router: Router, app: AppContext): void {
  /**
   * PUT /_matrix/client/v3/sendToDevice/{eventType}/{txnId} — into each recipient
   * device's inbox (`*`: all their devices), delivered by /sync, dropped after
   * `to_device_message_lifetime`. Idempotent per sending device and txnId.
   * After commit, each recipient device's long-polling /sync wakes.
   */
  route(
    router,
    app,
    { method: 'PUT', path: '/_matrix/client/v3/sendToDevice/:eventType/:txnId', auth: 'user', params: SendParams, body: SendBody, maxBodyBytes: MAX_TO_DEVICE_BODY_BYTES },
    async ({ app, caller, params, body }) => {
      const sent = await sendToDevice(
        app.db,
        app.config.server_name,
        { senderUserId: caller.userId, senderDeviceId: caller.deviceId, eventType: params.eventType, txnId: params.txnId, messages: body.messages },
        app.config.to_device_message_lifetime,
      );
      announceToDeviceSent(app, sent);
      // Committed: appservices receiving their users' to-device messages (MSC2409) are woken.
      await wakeDeliveryForUsers(app, sent.recipients.map((recipient) => recipient.userId));
      return {};
    },
  );
}
