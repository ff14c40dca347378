/**
 * The Lua scripts the Redis backend writes through. Redis runs a script atomically, so
 * "head unchanged → write entries, tiles, erasures and the new head" is a compare-and-swap: a writer
 * whose head went stale gets 0 back and rebuilds on the fresh head.
 *
 * Redis does NOT roll back a script that fails after a write: every script here checks everything
 * that could make a write fail (key types, counters, argument shapes) before its first write.
 */

/**
 * Commit one batch.
 *
 * KEYS: head, entries, data, ids, times, tiles, stats (byte counters for stats())
 * ARGV: expectedSize, expectedLast ('' = none), newSize, newLast, frontier, root,
 *       n, then n × (index, id, ts, entryJson, dataJson ('' = none)),
 *       m, then m × (tileField, tileBlob), k, then k × eraseIndex
 * Returns 1 on success, 2 when this very batch is already stored (a resent or retried commit whose
 * first run's reply was lost: nothing written again), 0 on conflict (another writer moved the head),
 * -1 when an erased index does not exist, -3 when its data is already erased (another writer
 * redacted it first), -2 when the head is missing; an error reply (nothing
 * written) when a key has the wrong type, a counter is not an integer or the arguments are malformed.
 *
 * "Already stored" means: the head is the batch's new head (size and last hash), or the batch's last
 * entry id maps to the batch's last index, that row holds exactly the batch's entry text and the head
 * covers it (others appended after). An entry id and its hash are unique to one build, so no other
 * batch matches. The "already stored" branch rewrites the head's size with its own value so that the
 * script propagates a write: a WAIT / WAITAOF sent after it then also covers the earlier write.
 */
/**
 * Lua that refuses to run when KEYS[i] exists with another type than `types[i]`: a script must fail
 * before its first write, since Redis does not roll back a script that errors midway.
 */
function keyTypeCheck(types: readonly ('hash' | 'zset')[]): string {
  return `local WANT = {${types.map((t) => `'${t}'`).join(', ')}}
for i = 1, ${types.length} do
  local t = redis.call('TYPE', KEYS[i])
  if type(t) == 'table' then t = t.ok end
  if t ~= 'none' and t ~= WANT[i] then
    return redis.error_reply('WRONGTYPE signledger: key ' .. KEYS[i] .. ' holds a ' .. tostring(t) .. ', expected a ' .. WANT[i] .. ' (nothing was written)')
  end
end`;
}

export const COMMIT_LUA = `
${keyTypeCheck(['hash', 'hash', 'hash', 'hash', 'zset', 'hash', 'hash'])}
local n = tonumber(ARGV[7])
local p = 8
if n == nil or n < 0 then return redis.error_reply('ERR signledger: malformed commit arguments') end
local mpos = p + n * 5
local m = tonumber(ARGV[mpos])
if m == nil or m < 0 then return redis.error_reply('ERR signledger: malformed commit arguments') end
local kpos = mpos + 1 + m * 2
local k = tonumber(ARGV[kpos])
if k == nil or k < 0 or #ARGV ~= kpos + k then
  return redis.error_reply('ERR signledger: malformed commit arguments')
end
local size = redis.call('HGET', KEYS[1], 'size')
if size == false then return -2 end
local last = redis.call('HGET', KEYS[1], 'last') or ''
if n > 0 then
  local lb = p + (n - 1) * 5
  local applied = size == ARGV[3] and last == ARGV[4]
  if not applied and tonumber(size) >= tonumber(ARGV[3]) and redis.call('HGET', KEYS[4], ARGV[lb + 1]) == ARGV[lb] then
    applied = redis.call('HGET', KEYS[2], ARGV[lb]) == ARGV[lb + 3]
  end
  if applied then
    redis.call('HSET', KEYS[1], 'size', size)
    return 2
  end
end
if size ~= ARGV[1] then return 0 end
if last ~= ARGV[2] then return 0 end
for i = 0, n - 1 do
  if tonumber(ARGV[p + i * 5 + 2]) == nil then return redis.error_reply('ERR signledger: malformed entry timestamp') end
end
local counters = redis.call('HMGET', KEYS[7], 'entryBytes', 'tileBytes')
for i = 1, 2 do
  if counters[i] and not string.match(counters[i], '^%-?%d+$') then
    return redis.error_reply('ERR signledger: stats counter in ' .. KEYS[7] .. ' is not an integer (nothing was written)')
  end
end
local erase, seen = {}, {}
for i = 1, k do
  local x = ARGV[kpos + i]
  if not seen[x] then
    seen[x] = true
    erase[#erase + 1] = x
  end
end
for _, x in ipairs(erase) do
  if redis.call('HEXISTS', KEYS[2], x) == 0 then return -1 end
end
for _, x in ipairs(erase) do
  if redis.call('HEXISTS', KEYS[3], x) == 0 then return -3 end
end
local CH = 500
local e, d, ids, ts = {}, {}, {}, {}
local function flush()
  if #e > 0 then redis.call('HSET', KEYS[2], unpack(e)) end
  if #d > 0 then redis.call('HSET', KEYS[3], unpack(d)) end
  if #ids > 0 then redis.call('HSET', KEYS[4], unpack(ids)) end
  if #ts > 0 then redis.call('ZADD', KEYS[5], unpack(ts)) end
  e, d, ids, ts = {}, {}, {}, {}
end
local eb, tb = 0, 0
for _, x in ipairs(erase) do
  eb = eb - redis.call('HSTRLEN', KEYS[3], x)
end
for i = 0, n - 1 do
  local b = p + i * 5
  eb = eb + #ARGV[b + 3] + #ARGV[b + 4]
  local idx = ARGV[b]
  e[#e + 1] = idx; e[#e + 1] = ARGV[b + 3]
  if ARGV[b + 4] ~= '' then d[#d + 1] = idx; d[#d + 1] = ARGV[b + 4] end
  ids[#ids + 1] = ARGV[b + 1]; ids[#ids + 1] = idx
  ts[#ts + 1] = ARGV[b + 2]; ts[#ts + 1] = idx
  if #e >= CH then flush() end
end
flush()
for i = 0, m - 1 do
  local f = ARGV[mpos + 1 + i * 2]
  local was = redis.call('HSTRLEN', KEYS[6], f)
  if was == 0 then was = 2 end
  tb = tb + #ARGV[mpos + 2 + i * 2] - was
  redis.call('HSET', KEYS[6], f, ARGV[mpos + 2 + i * 2])
end
redis.call('HINCRBY', KEYS[7], 'entryBytes', eb)
redis.call('HINCRBY', KEYS[7], 'tileBytes', tb)
if #erase > 0 then redis.call('HDEL', KEYS[3], unpack(erase)) end
if ARGV[4] == '' then
  redis.call('HSET', KEYS[1], 'size', ARGV[3], 'frontier', ARGV[5], 'root', ARGV[6])
  redis.call('HDEL', KEYS[1], 'last')
else
  redis.call('HSET', KEYS[1], 'size', ARGV[3], 'last', ARGV[4], 'frontier', ARGV[5], 'root', ARGV[6])
end
return 1
`;

/**
 * Create the ledger if absent. KEYS: meta, head. ARGV: metaJson, emptyRoot. Returns the stored meta.
 * Refuses (error reply, nothing written) when the meta key is not a string, or when there is no meta
 * but a head exists (a ledger whose meta was deleted must not be re-created under a new identity).
 */
export const CREATE_LUA = `
local mt = redis.call('TYPE', KEYS[1])
if type(mt) == 'table' then mt = mt.ok end
if mt ~= 'none' and mt ~= 'string' then
  return redis.error_reply('WRONGTYPE signledger: key ' .. KEYS[1] .. ' holds a ' .. tostring(mt) .. ', expected a string')
end
local m = redis.call('GET', KEYS[1])
if m then return m end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('ERR signledger: ' .. KEYS[2] .. ' exists but the ledger meta is missing: the store is corrupt')
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'size', '0', 'frontier', '', 'root', ARGV[2])
return ARGV[1]
`;

/**
 * Store a checkpoint once. KEYS: checkpoints (hash), checkpointSizes (sorted set). ARGV: size, json.
 * Returns 1 when stored (or the same checkpoint is already stored), 0 when a different checkpoint is
 * stored for that size. Both keys are written in one script, so a checkpoint is never stored without
 * being listed; one stored by an older version without its sorted-set member is listed again here.
 */
export const CHECKPOINT_LUA = `
${keyTypeCheck(['hash', 'zset'])}
local was = redis.call('HGET', KEYS[1], ARGV[1])
if was and redis.call('ZSCORE', KEYS[2], ARGV[1]) == false then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
end
if was then
  if was == ARGV[2] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
return 1
`;
