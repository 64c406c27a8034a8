import type { AppContext } from '../app-context.ts';
import type { Caller } from './auth.ts';

/** The message rate limit, except for appservices registered with `rate_limited: false` (bridges relay many users' traffic). */
export async function consumeMessageRate(app: AppContext, caller: Caller): Promise<void> {
  if (caller.appservice && !caller.appservice.rateLimited) return;
  await app.rateLimits.message.consume(caller.userId);
}
