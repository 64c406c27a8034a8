import pg from 'pg';
import { request } from '../../test/support/http.ts';
import { benchUser, expectOk, summarise, type BenchServer } from '../support.ts';
import { createRoom, sendText } from './rooms-api.ts';

/** Distinct filler words; each message has a few, so a word matches about events * 3 / VOCABULARY of them. */
const VOCABULARY = 20_000;

/**
 * POST /search latency over a history of `events` messages spread over 10
 * rooms the user is in. The history is written straight into `events` (as
 * copies of one real message with new IDs, positions and bodies: the send
 * path is measured elsewhere, and a million API sends would take most of an
 * hour), then one API send makes it visible. Measured: a rare word (about
 * 150 matches), a common word (in every 10th message) by rank and by recency,
 * and a word with no match.
 */
export async function searchLatency(server: BenchServer, databaseUrl: string, options: { events: number; samples: number }) {
  const user = await benchUser(server, 'searcher');
  const roomIds: string[] = [];
  for (let r = 0; r < 10; r++) roomIds.push(await createRoom(server.url, user, { preset: 'private_chat', name: `search ${r}` }));
  const template = await sendText(server.url, user, roomIds[0], 'template');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const started = performance.now();
    await client.query(
      `INSERT INTO events (event_id, room_id, stream_ordering, depth, type, state_key, sender, origin_server_ts, json)
       SELECT '$bench' || g, ($2::text[])[1 + g % 10], nextval('room_event_stream_seq'), t.depth, t.type, NULL, t.sender, t.origin_server_ts,
              jsonb_set(jsonb_set(t.json, '{event_id}', to_jsonb('$bench' || g)), '{content,body}',
                to_jsonb('w' || (g * 7919) % $3 || ' w' || (g * 104729) % $3 || ' w' || (g * 1299709) % $3 || CASE WHEN g % 10 = 0 THEN ' common' ELSE '' END))
       FROM generate_series(1::bigint, $1::bigint) g, (SELECT * FROM events WHERE event_id = $4) t`,
      [options.events, roomIds, VOCABULARY, template],
    );
    const insertSeconds = (performance.now() - started) / 1000;
    // The copies are history, not news: push evaluation starts after them.
    await client.query(`UPDATE push_progress SET announced = greatest(announced, (SELECT max(stream_ordering) FROM events)), evaluated = greatest(evaluated, (SELECT max(stream_ordering) FROM events))`);
    await client.query('ANALYZE events');
    await sendText(server.url, user, roomIds[0], 'the history is in');
    const measure = async (term: string, orderBy: 'rank' | 'recent', expectResults: boolean) => {
      const times: number[] = [];
      for (let s = 0; s < options.samples; s++) {
        const begin = performance.now();
        const body = await expectOk(
          request(server.url, 'POST', '/_matrix/client/v3/search', { token: user.accessToken, body: { search_categories: { room_events: { search_term: term, order_by: orderBy } } } }),
          'search',
        );
        times.push(performance.now() - begin);
        const found = body.search_categories.room_events.results.length;
        if (expectResults !== found > 0) throw new Error(`search for ${term} returned ${found} results`);
      }
      return summarise(times, 1);
    };
    const rare = await measure('w4242', 'rank', true);
    const commonRank = await measure('common', 'rank', true);
    const commonRecent = await measure('common', 'recent', true);
    const none = await measure('nosuchword', 'rank', false);
    return {
      events: options.events,
      insert_seconds: Math.round(insertSeconds),
      rare_word_p50_ms: rare.p50_ms,
      rare_word_p99_ms: rare.p99_ms,
      common_word_rank_p50_ms: commonRank.p50_ms,
      common_word_recent_p50_ms: commonRecent.p50_ms,
      no_match_p50_ms: none.p50_ms,
    };
  } finally {
    await client.end();
  }
}
