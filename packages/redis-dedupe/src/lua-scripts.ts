// The Lua scripts that make each store operation atomic on the Redis server. A key is a hash:
// s = state (p in-progress, d done, f free), t = fencing token of the claim, x = lease end in ms
// of server time (meaningful only while s is p), v = last applied entity version (kept as the string the caller sent, so
// versions up to 2^53 keep every digit). Redis's own clock (TIME) decides lease expiry, so clock
// skew between consumer machines cannot make two of them hold one key. Numbers written back are
// formatted with %d or passed through as the caller's strings: Lua numbers are doubles, and
// Redis would otherwise be free to print them in exponent form.
import { createHash } from 'node:crypto';

/** A script with its SHA1, for EVALSHA. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

const NOW = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/**
 * Claims every key of KEYS. ARGV[1] = lease ms, ARGV[2] = token base (the token of KEYS[i] is
 * base:i), ARGV[2 + i] = entity version of KEYS[i] or '' (absent means no version for all).
 * Returns one status per key: 'c' claimed, 'p' in progress, 'd' done, 's<applied>' stale.
 * A claim resent with the same token (ioredis re-sends unanswered commands after a reconnect)
 * finds its own token and answers 'c' again instead of 'p'.
 */
export const CLAIM_SCRIPT = script(
  'claim',
  `${NOW}
local lease = tonumber(ARGV[1])
local results = {}
for i, key in ipairs(KEYS) do
  local token = ARGV[2] .. ':' .. i
  local version = ARGV[2 + i] or ''
  local f = redis.call('HMGET', key, 's', 't', 'x', 'v')
  local state, holder, leaseEnd, applied = f[1], f[2], tonumber(f[3]), f[4]
  if state == 'p' and (leaseEnd == nil or leaseEnd <= now) then state = 'f' end
  if version ~= '' and applied and tonumber(version) <= tonumber(applied) then
    results[i] = 's' .. applied
  elseif state == 'p' and holder ~= token then
    results[i] = 'p'
  elseif state == 'd' and version == '' then
    results[i] = 'd'
  else
    redis.call('HSET', key, 's', 'p', 't', token, 'x', string.format('%d', now + lease))
    -- A new key takes the lease as its expiry; an existing one (a versioned key kept for its
    -- retention) is only ever extended, never shortened.
    if not f[1] or redis.call('PTTL', key) < lease then redis.call('PEXPIRE', key, ARGV[1]) end
    results[i] = 'c'
  end
end
return results`,
);

/**
 * Completes every key of KEYS. ARGV[1] = retention ms, then per key ARGV[2i] = token and
 * ARGV[2i + 1] = version or ''. Returns 1 per completed key, 0 where another claim took the key
 * over. A completion resent after it already ran answers 1 again.
 *
 * A lease that ran out is not a takeover: the handler was slow, but if nobody claimed the key
 * since (it still holds this token, or it expired away, or a taker released it), the side effect
 * happened once and must be remembered, or a later duplicate would apply it again. Only a key
 * held or completed under another token refuses the completion. An applied version only rises.
 */
export const COMPLETE_SCRIPT = script(
  'complete',
  `local results = {}
for i, key in ipairs(KEYS) do
  local token = ARGV[2 * i]
  local version = ARGV[2 * i + 1] or ''
  local f = redis.call('HMGET', key, 's', 't', 'v')
  local state, holder, applied = f[1], f[2], f[3]
  if state == 'd' and holder == token then
    results[i] = 1
  elseif (state == 'p' or state == 'd') and holder ~= token then
    results[i] = 0
  else
    -- Ours ('p' with this token, lease over or not), gone, or free ('f'). One HSET for the
    -- state, the token (so a resent completion answers 1) and a newer version. The lease end x
    -- stays: only a 'p' key's is ever read, and the next claim overwrites it.
    if version ~= '' and (not applied or tonumber(version) > tonumber(applied)) then
      redis.call('HSET', key, 's', 'd', 't', token, 'v', version)
    else
      redis.call('HSET', key, 's', 'd', 't', token)
    end
    redis.call('PEXPIRE', key, ARGV[1])
    results[i] = 1
  end
end
return results`,
);

/**
 * Releases KEYS[1] held by token ARGV[1] so the next delivery is processed. A key that has an
 * applied version keeps it (state free); any other key is deleted. Returns 1, or 0 when the
 * token no longer holds the claim.
 */
export const RELEASE_SCRIPT = script(
  'release',
  `${NOW}
local key = KEYS[1]
local f = redis.call('HMGET', key, 's', 't', 'x', 'v')
local state, holder, leaseEnd, applied = f[1], f[2], tonumber(f[3]), f[4]
if state ~= 'p' or holder ~= ARGV[1] or leaseEnd == nil or leaseEnd <= now then return 0 end
if applied then
  redis.call('HSET', key, 's', 'f')
  redis.call('HDEL', key, 't', 'x')
else
  redis.call('DEL', key)
end
return 1`,
);
