/** RedisStore's Lua scripts: each touches exactly one key, so each runs on any node of a Redis Cluster. */

import { createHash } from 'node:crypto';

/*
 * Keys, all under the store's prefix P (after an ioredis client's own keyPrefix, if any), as
 * earlier releases wrote them, so their data stays readable:
 *
 * - P<id>: one hash per session. d = the record bytes, e = expiry (ms since the epoch, as written),
 *   v = version, o = owner (absent for none). The key's PEXPIREAT is the same expiry, so Redis
 *   drops it on time; the scripts also compare `e` with the application's clock (ARGV now), so a
 *   record the app considers expired is missing for every operation even when the Redis clock lags.
 * - P"owner:"<owner>: a SET of ids that may belong to the owner. Ids are 43 characters of
 *   base64url and never contain ":", so the two kinds of keys never meet.
 *
 * Redis Cluster runs a script only when all its keys share a hash slot, and a record (found by its
 * id) and its owner's set hash to different slots unless the whole store is pinned to one slot. So
 * every script here touches one key, and the store keeps the two in step by ordering its commands
 * (see `redis.ts`): the record is the truth, the set is an index that may hold extra ids (which
 * listing checks against the records and skips) but never misses an id whose record names the owner.
 */

/** KEYS[1] record; ARGV: data, expires, expireAtMs, now, owner or ''. 1 when written, 0 when a live record holds the id. */
const CREATE_LUA = `
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) > tonumber(ARGV[4]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'e', ARGV[2], 'v', 1)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'o', ARGV[5]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1`;

/** KEYS[1] record; ARGV: data, expires, expireAtMs, now, owner or '', expectedVersion or ''. The new version or nil. */
const UPDATE_LUA = `
local f = redis.call('HMGET', KEYS[1], 'e', 'v', 'o')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[4]) then return false end
local v = tonumber(f[2])
if ARGV[6] ~= '' and v ~= tonumber(ARGV[6]) then return false end
v = v + 1
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'e', ARGV[2], 'v', v)
if ARGV[5] == '' then
  if f[3] then redis.call('HDEL', KEYS[1], 'o') end
elseif f[3] ~= ARGV[5] then
  redis.call('HSET', KEYS[1], 'o', ARGV[5])
end
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return v`;

/** KEYS[1] record; ARGV: expires, expireAtMs, now. The owner ('' for none) when touched, nil when missing; data untouched. */
const TOUCH_LUA = `
local f = redis.call('HMGET', KEYS[1], 'e', 'o')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[3]) then return false end
redis.call('HSET', KEYS[1], 'e', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return f[2] or ''`;

/** KEYS[1] record. Deletes it; returns its owner, '' for none (or no record). */
const DESTROY_LUA = `
local o = redis.call('HGET', KEYS[1], 'o')
redis.call('DEL', KEYS[1])
return o or ''`;

/**
 * KEYS[1] record; ARGV: owner, now. Deletes the record only while it names the owner: 1 when it
 * was live, 2 when expired, 0 when it is someone else's (kept), -1 when there is none.
 */
const DESTROY_IF_OWNED_LUA = `
local f = redis.call('HMGET', KEYS[1], 'e', 'o')
if not f[1] then return -1 end
if f[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if tonumber(f[1]) > tonumber(ARGV[2]) then return 1 end
return 2`;

/**
 * KEYS[1] owner set; ARGV: id, expireAtMs. Adds the id and keeps the set alive at least until
 * expireAtMs (never shortening it), so an owner who never comes back leaves nothing behind.
 */
const OWN_LUA = `
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl >= 0 then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl >= tonumber(ARGV[2]) then return 1 end
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`;

/** One of the store's scripts: its Lua, the SHA-1 that EVALSHA names it by, and a name for ioredis's defineCommand. */
export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

/*
 * The names carry the script generation (S3: scripts of one key each, on the v2 layout), so
 * another release's scripts never collide with these on a client both define them on.
 */
function script(name: string, lua: string): Script {
  return { name: `koaSessionKitS3${name}`, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

export const SCRIPTS = {
  create: script('Create', CREATE_LUA),
  update: script('Update', UPDATE_LUA),
  touch: script('Touch', TOUCH_LUA),
  destroy: script('Destroy', DESTROY_LUA),
  destroyIfOwned: script('DestroyIfOwned', DESTROY_IF_OWNED_LUA),
  own: script('Own', OWN_LUA),
} as const;

/** What the store passes to Redis: text, or bytes sent verbatim. */
export type Arg = string | Buffer;
