/**
 * Federation does not exist yet: keys of users on other servers cannot be
 * fetched. Queries and claims report those servers in `failures`, as the spec
 * does for unreachable servers, instead of failing the whole request.
 */
export function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

export function splitLocalAndRemote<T>(byUser: Record<string, T>, serverName: string): { local: [string, T][]; failures: Record<string, object> } {
  const local: [string, T][] = [];
  const failures: Record<string, object> = {};
  for (const [userId, value] of Object.entries(byUser)) {
    const server = serverOf(userId);
    if (server === serverName) local.push([userId, value]);
    else failures[server] = { status: 503, message: 'This server does not federate yet; keys of remote users cannot be fetched' };
  }
  return { local, failures };
}
