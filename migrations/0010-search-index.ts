import { sql, type Kysely } from 'kysely';

/**
 * A GIN index for POST /search over the expression the search query matches
 * (server/storage/queries/search.ts `DOCUMENT`; the two must stay identical
 * or the planner cannot use it). Encrypted events have no body, name or
 * topic, so their vector is empty: ciphertext is never indexed. A redaction
 * replaces the content, which takes the event out of the index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX events_search_idx ON events USING gin (
      to_tsvector('simple'::regconfig, coalesce(json->'content'->>'body', json->'content'->>'name', json->'content'->>'topic', '')))`.execute(db);
}
