import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { notFound } from '../../errors.ts';
import { Reply, route } from '../../http/route.ts';
import { describeRegistration, putManagedRegistration, removeManagedRegistration } from '../../appservices/managed.ts';

const IdParams = z.object({ appserviceId: z.string().min(1).max(255) });
const BASE = '/_palisade/admin/v1/appservices';

export function mountAppserviceAdmin(router: Router, app: AppContext): void {
  /** GET /_palisade/admin/v1/appservices — every registration (files and admin API), without tokens. Admins only. */
  route(router, app, { method: 'GET', path: BASE, auth: 'admin' }, ({ app }) => ({
    appservices: app.appservices.all().map((registration) => describeRegistration(app, registration)),
  }));

  route(router, app, { method: 'GET', path: `${BASE}/:appserviceId`, auth: 'admin', params: IdParams }, ({ app, params }) => {
    const registration = app.appservices.byId(params.appserviceId);
    if (!registration) throw notFound(`No appservice ${params.appserviceId}`);
    return describeRegistration(app, registration);
  });

  /**
   * PUT /_palisade/admin/v1/appservices/{appserviceId} — add or replace a
   * registration (the registration file's keys, as JSON), validated with the
   * others as at start-up; in force at once in every process. 201 when new.
   */
  route(router, app, { method: 'PUT', path: `${BASE}/:appserviceId`, auth: 'admin', params: IdParams, body: z.record(z.string(), z.unknown()) }, async ({ app, params, body }) => {
    const { created } = await putManagedRegistration(app, params.appserviceId, body);
    return new Reply(created ? 201 : 200, {});
  });

  /** DELETE /_palisade/admin/v1/appservices/{appserviceId} — remove one added through this API. */
  route(router, app, { method: 'DELETE', path: `${BASE}/:appserviceId`, auth: 'admin', params: IdParams }, async ({ app, params }) => {
    await removeManagedRegistration(app, params.appserviceId);
    return {};
  });
}
