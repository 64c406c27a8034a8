import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { finishUia, requireUia, UiaAuth } from '../../accounts/uia.ts';
import { crossSigningUploadNeedsUia, uploadCrossSigningKeys } from '../../e2ee/cross-signing.ts';
import { uploadSignatures } from '../../e2ee/signature-upload.ts';
import { announceDeviceListChange } from '../../e2ee/e2ee-streams.ts';
import { CrossSigningKey, MAX_IDENTIFIER_LENGTH, MAX_KEY_ID_LENGTH } from '../../e2ee/key-json.ts';

const PASSWORD_FLOWS = [['m.login.password']];
/** Signing many devices and users at once stays well under this. */
const MAX_SIGNATURE_UPLOAD_BYTES = 4 * 1024 * 1024;

const DeviceSigningBody = z.looseObject({
  master_key: CrossSigningKey.optional(),
  self_signing_key: CrossSigningKey.optional(),
  user_signing_key: CrossSigningKey.optional(),
  auth: UiaAuth.optional(),
});
const SignaturesBody = z.record(
  z.string().regex(/^@[^:]+:.+$/, 'expected a user ID').max(MAX_IDENTIFIER_LENGTH),
  z.record(z.string().min(1).max(MAX_KEY_ID_LENGTH), z.looseObject({})),
);

export function mountCrossSigning(router: Router, app: AppContext): void {
  /**
   * POST /_matrix/client/v3/keys/device_signing/upload — behind UIA (m.login.password)
   * unless there is no master key yet or the request repeats the stored keys. An
   * appservice acting as one of its users skips UIA, as in Synapse (MSC4190): its
   * users have no password, and its as_token already speaks for them.
   */
  route(router, app, { method: 'POST', path: '/_matrix/client/v3/keys/device_signing/upload', auth: 'user', body: DeviceSigningBody }, async ({ app, caller, body }) => {
    const { auth, ...keys } = body;
    const byAppservice = caller.appservice !== undefined;
    let uiaSession: string | undefined;
    if (!byAppservice && (await crossSigningUploadNeedsUia(app.db, caller.userId, keys))) {
      uiaSession = (await requireUia(app, { requestKey: 'POST /keys/device_signing/upload', flows: PASSWORD_FLOWS, userId: caller.userId, auth })).sessionId;
    }
    await uploadCrossSigningKeys(app.db, caller.userId, keys, byAppservice || uiaSession !== undefined);
    if (uiaSession) await finishUia(app, uiaSession);
    await announceDeviceListChange(app, [caller.userId]);
    return {};
  });

  /** POST /_matrix/client/v3/keys/signatures/upload — verified signatures are stored; the rest come back in `failures`. Wakes the signed users' peers. */
  route(
    router,
    app,
    { method: 'POST', path: '/_matrix/client/v3/keys/signatures/upload', auth: 'user', body: SignaturesBody, maxBodyBytes: MAX_SIGNATURE_UPLOAD_BYTES },
    async ({ app, caller, body }) => {
      const result = await uploadSignatures(app.db, caller.userId, app.config.server_name, body);
      await announceDeviceListChange(app, [caller.userId, ...Object.keys(body).filter((userId) => userId.endsWith(`:${app.config.server_name}`))]);
      return result;
    },
  );
}
