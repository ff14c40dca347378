/**
 * The one Lua script every Redis append commits through. Redis runs a script atomically, so
 * "head unchanged → write entries, tiles, erasures and the new head" is a compare-and-swap: a writer
 * whose head went stale gets 0 back and rebuilds on the fresh head.
 *
 * KEYS: head, entries, data, ids, times, tiles, stats (byte counters for stats())
 * ARGV: expectedSize, expectedLast ('' = none), newSize, newLast, frontier, root,
 *       n, then n × (index, id, ts, entryJson, dataJson ('' = none)),
 *       m, then m × (tileField, tileBlob), k, then k × eraseIndex
 * Returns 1 on success, 0 on conflict, -1 when an erased index does not exist (nothing written).
 * All checks happen before the first write: a Redis script is not rolled back on error.
 */
export const COMMIT_LUA = `
local size = redis.call('HGET', KEYS[1], 'size')
local last = redis.call('HGET', KEYS[1], 'last')
if size == false then return -2 end
if size ~= ARGV[1] then return 0 end
if (last or '') ~= ARGV[2] then return 0 end
local n = tonumber(ARGV[7])
local p = 8
local mpos = p + n * 5
local m = tonumber(ARGV[mpos])
local kpos = mpos + 1 + m * 2
local k = tonumber(ARGV[kpos])
for i = 1, k do
  if redis.call('HEXISTS', KEYS[2], ARGV[kpos + i]) == 0 then return -1 end
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
for i = 1, k do
  eb = eb - redis.call('HSTRLEN', KEYS[3], ARGV[kpos + i])
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
for i = 1, k do
  redis.call('HDEL', KEYS[3], ARGV[kpos + i])
end
if ARGV[4] == '' then
  redis.call('HSET', KEYS[1], 'size', ARGV[3], 'frontier', ARGV[5], 'root', ARGV[6])
  redis.call('HDEL', KEYS[1], 'last')
else
  redis.call('HSET', KEYS[1], 'size', ARGV[3], 'last', ARGV[4], 'frontier', ARGV[5], 'root', ARGV[6])
end
return 1
`;

/** Create the ledger if absent. KEYS: meta, head. ARGV: metaJson, emptyRoot. Returns the stored meta. */
export const CREATE_LUA = `
local m = redis.call('GET', KEYS[1])
if m then return m end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'size', '0', 'frontier', '', 'root', ARGV[2])
return ARGV[1]
`;
