import type Router from '@koa/router';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { route } from '../../http/route.ts';
import { RULE_KINDS } from '../../push/default-rules.ts';
import { changeRule, deleteRule, findRule, loadRuleset, putRule } from '../../push/push-rules.ts';

const RuleParams = z.object({ kind: z.enum(RULE_KINDS), ruleId: z.string().min(1).max(255) });
const PlaceQuery = z.object({ before: z.string().max(255).optional(), after: z.string().max(255).optional() });
const RuleBody = z.looseObject({ actions: z.array(z.unknown()), conditions: z.array(z.unknown()).optional(), pattern: z.string().max(1024).optional() });
const BASE = '/_matrix/client/v3/pushrules/global/:kind/:ruleId';

export function mountPushRules(router: Router, app: AppContext): void {
  /** GET /_matrix/client/v3/pushrules/ — the spec's default rules merged with the user's own (clients read this before their first sync). */
  route(router, app, { method: 'GET', path: ['/_matrix/client/v3/pushrules', '/_matrix/client/v3/pushrules/'], auth: 'user' }, async ({ app, caller }) => ({
    global: await loadRuleset(app.db, caller.userId),
  }));

  /** GET /_matrix/client/v3/pushrules/global/ */
  route(router, app, { method: 'GET', path: '/_matrix/client/v3/pushrules/global/', auth: 'user' }, ({ app, caller }) => loadRuleset(app.db, caller.userId));

  /** GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId} */
  route(router, app, { method: 'GET', path: BASE, auth: 'user', params: RuleParams }, async ({ app, caller, params }) =>
    findRule(await loadRuleset(app.db, caller.userId), params.kind, params.ruleId),
  );

  /** PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId} — user rules only (no "." IDs); `before`/`after` place it among the user's rules. */
  route(router, app, { method: 'PUT', path: BASE, auth: 'user', params: RuleParams, query: PlaceQuery, body: RuleBody }, async ({ app, caller, params, query, body }) => {
    await putRule(app, caller.userId, params.kind, params.ruleId, body, query);
    return {};
  });

  /** DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId} — user rules only. */
  route(router, app, { method: 'DELETE', path: BASE, auth: 'user', params: RuleParams }, async ({ app, caller, params }) => {
    await deleteRule(app, caller.userId, params.kind, params.ruleId);
    return {};
  });

  /** GET/PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled */
  route(router, app, { method: 'GET', path: `${BASE}/enabled`, auth: 'user', params: RuleParams }, async ({ app, caller, params }) => ({
    enabled: findRule(await loadRuleset(app.db, caller.userId), params.kind, params.ruleId).enabled,
  }));
  route(router, app, { method: 'PUT', path: `${BASE}/enabled`, auth: 'user', params: RuleParams, body: z.looseObject({ enabled: z.boolean() }) }, async ({ app, caller, params, body }) => {
    await changeRule(app, caller.userId, params.kind, params.ruleId, { enabled: body.enabled });
    return {};
  });

  /** GET/PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions */
  route(router, app, { method: 'GET', path: `${BASE}/actions`, auth: 'user', params: RuleParams }, async ({ app, caller, params }) => ({
    actions: findRule(await loadRuleset(app.db, caller.userId), params.kind, params.ruleId).actions,
  }));
  route(router, app, { method: 'PUT', path: `${BASE}/actions`, auth: 'user', params: RuleParams, body: z.looseObject({ actions: z.array(z.unknown()) }) }, async ({ app, caller, params, body }) => {
    await changeRule(app, caller.userId, params.kind, params.ruleId, { actions: body.actions });
    return {};
  });
}
