import { invalidParam } from '../errors.ts';

/**
 * A sync token: the position of every stream the client has seen, as
 * `s<room>_<next>_...` in the order of STREAMS. New streams are appended to
 * STREAMS; a token from before a stream existed has fewer parts and that
 * stream reads as 0 (from the start). Anything else is refused with a 400.
 */
export const STREAMS = ['room', 'to_device', 'device_lists', 'account_data', 'receipt', 'typing', 'presence'] as const;

export type StreamName = (typeof STREAMS)[number];
export type StreamToken = Readonly<Record<StreamName, number>>;

/** Positions fit in 2^53; longer digit runs are not tokens we issued. */
const MAX_PART_DIGITS = 15;
const PART = new RegExp(`^\\d{1,${MAX_PART_DIGITS}}$`);

export function formatStreamToken(token: StreamToken): string {
  return `s${STREAMS.map((name) => token[name]).join('_')}`;
}

export function parseStreamToken(text: string, parameter = 'since'): StreamToken {
  const parts = text.startsWith('s') ? text.slice(1).split('_') : [];
  if (parts.length === 0 || parts.length > STREAMS.length || !parts.every((part) => PART.test(part))) {
    throw invalidParam(`${parameter} is not a valid sync token: ${JSON.stringify(text.slice(0, 64))}`);
  }
  const token = {} as Record<StreamName, number>;
  STREAMS.forEach((name, i) => (token[name] = parts[i] === undefined ? 0 : Number(parts[i])));
  return token;
}

/**
 * A position in one room's timeline for /messages and `prev_batch`: `t<pos>`,
 * "after the event at pos". /messages also takes sync tokens, whose room
 * stream position means the same.
 */
export function formatRoomPosition(position: number): string {
  return `t${position}`;
}

export function parseRoomPosition(text: string, parameter: string): number {
  if (text.startsWith('t') && PART.test(text.slice(1))) return Number(text.slice(1));
  if (text.startsWith('s')) return parseStreamToken(text, parameter).room;
  throw invalidParam(`${parameter} is not a valid pagination token: ${JSON.stringify(text.slice(0, 64))}`);
}
