/** RedisStore's Lua scripts: each operation, its owner index included, atomic in one round trip. */

import type { Cluster, Redis } from 'ioredis';

/*
 * Keys, all under the store's prefix P (after the client's own keyPrefix, if any):
 *
 * - P<id>: one hash per session. d = the record bytes, e = expiry (ms since the epoch, as written),
 *   v = version, o = owner (absent for none). The key's PEXPIREAT is the same expiry, so Redis
 *   drops it on time; the scripts also compare `e` with the application's clock (ARGV now), so a
 *   record the app considers expired is missing for every operation even when the Redis clock lags.
 * - P"owner:"<owner>: a SET of the ids of the owner's sessions, written in the same script as the
 *   record, so the record and the index never disagree. The record keeps its owner so an update or
 *   destroy knows which set to leave. The set's own PEXPIREAT is at least its furthest record's
 *   expiry (create, update and touch extend it), so an owner who never comes back leaves nothing
 *   behind; listOwned removes the ids whose record expired or went. Ids are 43 characters of
 *   base64url and never contain ":", so the two kinds of keys never meet.
 *
 * Every script gets one declared key, and reaches others under the same P: it takes P from KEYS[1]
 * minus ARGV[1] (the part after P), so the client's keyPrefix is honoured. Redis Cluster demands
 * that every key of a script share one hash slot, and a record is found by its id alone while its
 * owner may change: records and their owner's set can only share a slot when the whole store does,
 * i.e. a hash tag in the prefix (`{sess}:`), which the key layout above already allows. Records
 * sharded across a Cluster are a later issue: there, the index could not change atomically with them.
 */

/** Shared head of every script: P, and the index key of an owner. */
const PRELUDE = `
local base = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1])
local function index(owner) return base .. 'owner:' .. owner end
local function extend(key, expireAt)
  local ttl = redis.call('PTTL', key)
  if ttl >= 0 then
    local t = redis.call('TIME')
    if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl >= tonumber(expireAt) then return end
  end
  redis.call('PEXPIREAT', key, expireAt)
end
local function own(id, owner, expireAt)
  local key = index(owner)
  redis.call('SADD', key, id)
  extend(key, expireAt)
end
`;

/** KEYS[1] record; ARGV: id, data, expires, expireAtMs, now, owner or ''. 1 when written, 0 when a live record holds the id. */
const CREATE_LUA = `${PRELUDE}
local f = redis.call('HMGET', KEYS[1], 'e', 'o')
if f[1] and tonumber(f[1]) > tonumber(ARGV[5]) then return 0 end
if f[2] then redis.call('SREM', index(f[2]), ARGV[1]) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'e', ARGV[3], 'v', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'o', ARGV[6])
  own(ARGV[1], ARGV[6], ARGV[4])
end
return 1`;

/** KEYS[1] record; ARGV: id, data, expires, expireAtMs, now, owner or '', expectedVersion or ''. The new version or nil. */
const UPDATE_LUA = `${PRELUDE}
local f = redis.call('HMGET', KEYS[1], 'e', 'v', 'o')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[5]) then return nil end
local v = tonumber(f[2])
if ARGV[7] ~= '' and v ~= tonumber(ARGV[7]) then return nil end
v = v + 1
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'e', ARGV[3], 'v', v)
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
local old, new = f[3], ARGV[6]
if old and old ~= new then redis.call('SREM', index(old), ARGV[1]) end
if new == '' then
  if old then redis.call('HDEL', KEYS[1], 'o') end
else
  if old ~= new then redis.call('HSET', KEYS[1], 'o', new) end
  own(ARGV[1], new, ARGV[4])
end
return v`;

/** KEYS[1] record; ARGV: id, expires, expireAtMs, now. Moves the stored expiry and the TTLs together; data untouched. */
const TOUCH_LUA = `${PRELUDE}
local f = redis.call('HMGET', KEYS[1], 'e', 'o')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
if f[2] then extend(index(f[2]), ARGV[3]) end
return 1`;

/** KEYS[1] record; ARGV: id. Removes the record and its id from its owner's set. */
const DESTROY_LUA = `${PRELUDE}
local o = redis.call('HGET', KEYS[1], 'o')
if o then redis.call('SREM', index(o), ARGV[1]) end
return redis.call('DEL', KEYS[1])`;

/**
 * KEYS[1] owner set; ARGV: 'owner:'..owner, owner, now. Returns {id, data, expires} per live record;
 * removes the ids whose record is gone, expired or now someone else's.
 */
const LIST_OWNED_LUA = `${PRELUDE}
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local f = redis.call('HMGET', base .. id, 'd', 'e', 'o')
  if f[1] and f[2] and f[3] == ARGV[2] and tonumber(f[2]) > tonumber(ARGV[3]) then
    out[#out + 1] = {id, f[1], f[2]}
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return out`;

/**
 * KEYS[1] owner set; ARGV: 'owner:'..owner, owner, now, except or ''. Deletes every record of the
 * owner but `except`, and their ids; returns how many of them were live.
 */
const DESTROY_OWNED_LUA = `${PRELUDE}
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[4] then
    local key = base .. id
    local f = redis.call('HMGET', key, 'e', 'o')
    if f[2] == ARGV[2] then
      redis.call('DEL', key)
      if f[1] and tonumber(f[1]) > tonumber(ARGV[3]) then n = n + 1 end
    end
    redis.call('SREM', KEYS[1], id)
  end
end
return n`;

/*
 * Commands registered with ioredis's defineCommand, which sends EVALSHA and falls back to EVAL on
 * NOSCRIPT (an empty script cache after SCRIPT FLUSH, a restart or a failover). The names carry
 * the format version so another release's scripts never collide with these on a shared client.
 */
const SCRIPTS = {
  koaSessionKitV2Create: CREATE_LUA,
  koaSessionKitV2Update: UPDATE_LUA,
  koaSessionKitV2Touch: TOUCH_LUA,
  koaSessionKitV2Destroy: DESTROY_LUA,
  koaSessionKitV2ListOwned: LIST_OWNED_LUA,
  koaSessionKitV2DestroyOwned: DESTROY_OWNED_LUA,
} as const;

export type Arg = string | Buffer;

/** The client as the store calls it: the commands it uses plus the scripts it defines. */
export interface ScriptedClient {
  hmgetBuffer(key: string, ...fields: string[]): Promise<(Buffer | null)[]>;
  readonly status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
  koaSessionKitV2Create(key: string, ...args: Arg[]): Promise<number>;
  koaSessionKitV2Update(key: string, ...args: Arg[]): Promise<number | null>;
  koaSessionKitV2Touch(key: string, ...args: Arg[]): Promise<number>;
  koaSessionKitV2Destroy(key: string, ...args: Arg[]): Promise<number>;
  /** The Buffer variant ioredis adds to every defined command: data stays binary. */
  koaSessionKitV2ListOwnedBuffer(key: string, ...args: Arg[]): Promise<[Buffer, Buffer, Buffer][]>;
  koaSessionKitV2DestroyOwned(key: string, ...args: Arg[]): Promise<number>;
}

/** Registers the scripts and returns the typed view the store calls through. */
export function prepare(client: Redis | Cluster): ScriptedClient {
  for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 1, lua });
  // defineCommand adds the methods at runtime; ioredis's types cannot know about them.
  return client as unknown as ScriptedClient;
}
