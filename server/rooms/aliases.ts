import type { AppContext } from '../app-context.ts';
import { ErrCode, MatrixError, forbidden, invalidParam, notFound } from '../errors.ts';
import { currentStateEvents, findMembership } from '../storage/queries/room-state.ts';
import { aliasesOfRoom, claimAlias, deleteAlias, findAlias, findRoom, findRoomIdByAlias } from '../storage/queries/rooms.ts';
import { stateKey, stateMapOf } from './event.ts';
import { domainOf, MAX_IDENTIFIER_BYTES } from './identifiers.ts';
import { powerLevelOf, requiredPowerLevel } from './power-levels.ts';
import { askAppservicesForAlias } from '../appservices/queries.ts';
import { assertMayClaimAlias } from '../appservices/namespaces.ts';
import type { Registration } from '../appservices/registration.ts';

/**
 * Room aliases of this server (spec: client-server-api "Room aliases"). An
 * alias maps to a room ID; creating one requires being in the room; deleting
 * one requires having created it, being a server admin, or having the power to
 * change the room's canonical alias (as Synapse does).
 */

/** `#localpart:server` with a non-empty localpart free of `:`, and at most 255 bytes. */
export function parseRoomAlias(alias: string, serverName: string): string {
  const match = /^#([^:\s]+):(.+)$/.exec(alias);
  if (!match || Buffer.byteLength(alias) > MAX_IDENTIFIER_BYTES) throw invalidParam(`${JSON.stringify(alias)} is not a valid room alias such as #name:${serverName}`);
  if (domainOf(alias) !== serverName) throw invalidParam(`Room alias ${alias} does not belong to this server (${serverName})`);
  return alias;
}

/** A room ID as is, or the room one of this server's aliases points to. */
export async function resolveRoomIdOrAlias(app: AppContext, roomIdOrAlias: string): Promise<string> {
  if (roomIdOrAlias.startsWith('!')) return roomIdOrAlias;
  if (!roomIdOrAlias.startsWith('#')) throw invalidParam(`${JSON.stringify(roomIdOrAlias)} is neither a room ID nor a room alias`);
  // An appservice may create the room on demand when asked (a portal room of a bridge).
  const roomId = (await findRoomIdByAlias(app.db, roomIdOrAlias)) ?? ((await askAppservicesForAlias(app, roomIdOrAlias)) ? await findRoomIdByAlias(app.db, roomIdOrAlias) : undefined);
  if (!roomId) throw notFound(`The alias ${roomIdOrAlias} is not known to this server`);
  return roomId;
}

export async function createAlias(app: AppContext, userId: string, alias: string, roomId: string, appservice?: Registration): Promise<void> {
  parseRoomAlias(alias, app.config.server_name);
  assertMayClaimAlias(app.appservices, alias, appservice);
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  if ((await findMembership(app.db, roomId, userId))?.membership !== 'join') throw forbidden(`You must be in room ${roomId} to give it an alias`);
  if (!(await claimAlias(app.db, { room_alias: alias, room_id: roomId, creator: userId, created_ts: Date.now() }))) {
    throw new MatrixError(ErrCode.UNKNOWN, `Room alias ${alias} already exists`, { status: 409 });
  }
}

/**
 * The aliases an `m.room.canonical_alias` event names (spec: "m.room.canonical_alias"):
 * each must be a valid alias (M_INVALID_PARAM), and each of this server's must
 * exist and point to this room (M_BAD_ALIAS). Other servers' aliases cannot be
 * checked without federation and are taken as they are.
 */
export async function assertCanonicalAliasesPointHere(app: AppContext, roomId: string, content: Record<string, unknown>): Promise<void> {
  const named: unknown[] = [];
  if (content.alias !== undefined && content.alias !== null) named.push(content.alias);
  if (content.alt_aliases !== undefined) {
    if (!Array.isArray(content.alt_aliases)) throw invalidParam('alt_aliases must be a list of room aliases');
    named.push(...content.alt_aliases);
  }
  for (const alias of named) {
    if (typeof alias !== 'string' || !/^#[^:\s]+:.+$/.test(alias) || Buffer.byteLength(alias) > MAX_IDENTIFIER_BYTES) {
      throw invalidParam(`${JSON.stringify(alias)} is not a valid room alias`);
    }
    if (domainOf(alias) !== app.config.server_name) continue;
    if ((await findRoomIdByAlias(app.db, alias)) !== roomId) {
      throw new MatrixError(ErrCode.BAD_ALIAS, `Room alias ${alias} does not point to this room`);
    }
  }
}

export async function lookUpAlias(app: AppContext, alias: string): Promise<{ room_id: string; servers: string[] }> {
  parseRoomAlias(alias, app.config.server_name);
  const row = (await findAlias(app.db, alias)) ?? ((await askAppservicesForAlias(app, alias)) ? await findAlias(app.db, alias) : undefined);
  if (!row) throw notFound(`Room alias ${alias} is not known to this server`);
  return { room_id: row.room_id, servers: [app.config.server_name] };
}

export async function removeAlias(app: AppContext, caller: { userId: string; isAdmin: boolean }, alias: string): Promise<void> {
  parseRoomAlias(alias, app.config.server_name);
  const row = await findAlias(app.db, alias);
  if (!row) throw notFound(`Room alias ${alias} is not known to this server`);
  if (row.creator !== caller.userId && !caller.isAdmin && !(await mayChangeCanonicalAlias(app, row.room_id, caller.userId))) {
    throw forbidden(`Only the alias's creator, a server admin or a room moderator may delete ${alias}`);
  }
  await deleteAlias(app.db, alias);
}

/** GET /rooms/{roomId}/aliases: for members, or anyone if the room is world-readable. */
export async function localAliases(app: AppContext, userId: string, roomId: string): Promise<string[]> {
  if (!(await findRoom(app.db, roomId))) throw notFound(`Room ${roomId} is not known to this server`);
  const membership = (await findMembership(app.db, roomId, userId))?.membership;
  if (membership !== 'join') {
    const [visibility] = await currentStateEvents(app.db, roomId, [{ type: 'm.room.history_visibility', state_key: '' }]);
    if (visibility?.json.content.history_visibility !== 'world_readable') throw forbidden(`You are not in room ${roomId}`);
  }
  return aliasesOfRoom(app.db, roomId);
}

/** Whether the user's power level allows changing the room's canonical alias (the moderator test for aliases and publishing). */
export async function mayChangeCanonicalAlias(app: AppContext, roomId: string, userId: string): Promise<boolean> {
  const pairs = [{ type: 'm.room.create', state_key: '' }, { type: 'm.room.power_levels', state_key: '' }];
  const state = stateMapOf((await currentStateEvents(app.db, roomId, pairs)).map((row) => row.json));
  const powerLevels = state.get(stateKey('m.room.power_levels', ''));
  const level = powerLevelOf(userId, powerLevels, state.get(stateKey('m.room.create', '')));
  return level >= requiredPowerLevel('m.room.canonical_alias', '', powerLevels);
}
