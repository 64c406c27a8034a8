/**
 * Reads that many /sync requests make alike at the same moment, shared for a
 * moment. One send to a room with many long-polling members wakes them all
 * at once, and each would read the same new events of the room (same room,
 * same token, same position): the first read is shared by the others.
 *
 * Only reads keyed by stream positions are shared, so an entry answers
 * exactly what a fresh read at those positions would have, except for
 * in-place changes to old rows (a redaction rewriting an event, a retention
 * purge) made while it is held: those can show up to SHARED_FOR_MS late, as
 * they would for a request that had read a moment earlier. Per owner (the
 * AppContext or its database handle: tests run several servers in one process).
 */
export const SHARED_FOR_MS = 1000;
/** A bound on memory: sync reads are small, but a flood of distinct keys must not grow without limit. */
const MAX_ENTRIES = 2000;

interface Entry {
  value: Promise<unknown>;
  expires: number;
}

const byOwner = new WeakMap<object, Map<string, Entry>>();

export function sharedRead<T>(owner: object, key: string, read: () => Promise<T>): Promise<T> {
  let entries = byOwner.get(owner);
  if (!entries) byOwner.set(owner, (entries = new Map()));
  const now = Date.now();
  const found = entries.get(key);
  if (found && found.expires > now) return found.value as Promise<T>;
  const value = read();
  entries.delete(key);
  entries.set(key, { value, expires: now + SHARED_FOR_MS });
  // A failed read is not shared: the next caller tries again.
  value.catch(() => entries.get(key)?.value === value && entries.delete(key));
  // Oldest first (Map order): drop what expired, then the oldest beyond the bound.
  for (const [oldKey, entry] of entries) {
    if (entry.expires > now && entries.size <= MAX_ENTRIES) break;
    entries.delete(oldKey);
  }
  return value;
}
