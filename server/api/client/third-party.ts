import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { thirdPartyLookup, thirdPartyProtocol, thirdPartyProtocols } from '../../appservices/third-party.ts';

const ProtocolParams = z.object({ protocol: z.string().min(1).max(255) });
/** Search fields are protocol-defined strings; bound how many and how long. */
const LookupQuery = z.record(z.string().max(64), z.string().max(1024)).refine((query) => Object.keys(query).length <= 20, 'at most 20 search fields');

export function mountThirdParty(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/thirdparty/protocols — what the appservices' protocols declare. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/thirdparty/protocols', auth: 'user' }, ({ app }) => thirdPartyProtocols(app));

  /** GET /_matrix/client/v3/thirdparty/protocol/{protocol} — 404 when no appservice offers it. */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/thirdparty/protocol/:protocol', auth: 'user', params: ProtocolParams }, ({ app, params }) =>
    thirdPartyProtocol(app, params.protocol),
  );

  for (const kind of ['location', 'user'] as const) {
    /** GET /_matrix/client/v3/thirdparty/{location,user}/{protocol} — search by the protocol's fields. */
    route(router, app, { method: 'GET', path: `/_matrix/client/v3/thirdparty/${kind}/:protocol`, auth: 'user', params: ProtocolParams, query: LookupQuery }, ({ app, params, query }) =>
      thirdPartyLookup(app, kind, params.protocol, query),
    );
    /** GET /_matrix/client/v3/thirdparty/location?alias= and /thirdparty/user?userid= — reverse lookups across protocols. */
    const key = kind === 'location' ? 'alias' : 'userid';
    route(router, app, { method: 'GET', path: `/_matrix/client/v3/thirdparty/${kind}`, auth: 'user', query: z.looseObject({ [key]: z.string().min(1).max(1024) }) }, ({ app, query }) =>
      thirdPartyLookup(app, kind, undefined, { [key]: String(query[key]) }),
    );
  }
}
