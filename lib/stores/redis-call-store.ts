import type { Redis } from 'ioredis'
import { IntercomError } from '../errors'
import { TIMERS, UNRUNG_LEG_STATES, type CallSession, type TimerName } from '../calls/session'
import { closeRedis, openRedis, redisFailure, type RedisTarget } from '../cluster/redis-connection'
import { hasResidual, planListing, type CallListPage, type CallListQuery } from '../records/listing'
import { LIST_SCAN_LIMIT, type CallStore, type DueTimer } from './call-store'

export type RedisCallStoreOptions = RedisTarget & {
  /** How long an ended call stays readable. */
  retentionMs: number
  /**
   * Longest time from a call's start to its end (ring, talk, offline grace): a listing
   * entry older than this plus the retention names a call that is gone for sure.
   */
  longestCallMs?: number
  /** Index entries one listing page may examine. */
  scanLimit?: number
  /** Put before every key, so deployments (or tests) can share one Redis. Default `intercom:`. */
  prefix?: string
}

/**
 * Index upkeep shared by the writing scripts: `write` stores a session and brings
 * the device, resident and timer indexes in line with it, comparing with `prev`
 * (the stored session, nil on create). Keys are `base .. kind .. ':' .. id`; every
 * base carries the `{calls}` hash tag, so one script's keys share a cluster slot.
 */
const WRITE_LUA = `
local TIMERS = { ${TIMERS.map(timer => `'${timer}'`).join(', ')} }

local function connected_resident (s)
  if s ~= nil and s.status == 'connected' and type(s.resident_id) == 'string' then return s.resident_id end
  return nil
end

local function ringing_residents (s)
  local found = {}
  if s ~= nil and s.status ~= 'ended' then
    for _, leg in ipairs(s.legs) do
      if leg.state == 'ringing' then found[leg.resident_id] = true end
    end
  end
  return found
end

local function write (call_key, timers_key, base, prev, json, s, retention_ms)
  local id = s.call_id
  local device_key = base .. 'device:' .. s.device_device_id
  if s.status ~= 'ended' then
    redis.call('SET', device_key, id)
  elseif redis.call('GET', device_key) == id then
    redis.call('DEL', device_key)
  end

  local was_in = connected_resident(prev)
  local is_in = connected_resident(s)
  if was_in ~= nil and was_in ~= is_in then redis.call('SREM', base .. 'resident:' .. was_in, id) end
  if is_in ~= nil then redis.call('SADD', base .. 'resident:' .. is_in, id) end

  local was_ringing = ringing_residents(prev)
  local is_ringing = ringing_residents(s)
  for r in pairs(was_ringing) do
    if not is_ringing[r] then redis.call('SREM', base .. 'ringing:' .. r, id) end
  end
  for r in pairs(is_ringing) do
    if not was_ringing[r] then redis.call('SADD', base .. 'ringing:' .. r, id) end
  end

  for _, timer in ipairs(TIMERS) do
    local deadline = s.deadlines[timer]
    -- an unchanged deadline keeps its entry, and with it any lease on it
    if prev == nil or prev.deadlines[timer] ~= deadline then
      local member = id .. '|' .. timer
      if type(deadline) == 'number' then
        redis.call('ZADD', timers_key, string.format('%.0f', deadline), member)
      else
        redis.call('ZREM', timers_key, member)
      end
    end
  end

  -- the request id names the call for as long as the call is kept
  if type(s.request_id) == 'string' and (prev == nil or (s.status == 'ended' and prev.status ~= 'ended')) then
    local request_key = base .. 'request:' .. s.device_device_id .. ':' .. s.request_id
    if s.status ~= 'ended' then
      redis.call('SET', request_key, id)
    else
      redis.call('SET', request_key, id, 'PX', retention_ms)
    end
  end

  if s.status ~= 'ended' then
    redis.call('SET', call_key, json)
  elseif prev ~= nil and prev.status == 'ended' then
    redis.call('SET', call_key, json, 'KEEPTTL')
  else
    redis.call('SET', call_key, json, 'PX', retention_ms)
  end
end
`

/** Leg states of residents the call never rang: they are in no resident listing. */
const UNRUNG_LUA = `local UNRUNG = { ${UNRUNG_LEG_STATES.map((state) => `${state} = true`).join(', ')} }
`

/**
 * Listing indexes, kept apart from \`write\`: \`records:<name>\` sorted sets of call ids
 * scored by start time, one per name of \`indexesOf\` (lib/records/listing.ts), which
 * \`record_indexes\` mirrors. An index that gains a call drops the entries older than
 * the horizon (retention + longest call) and expires a horizon after its newest call,
 * so retention trims them without a sweep over every key.
 */
const RECORDS_LUA = `${UNRUNG_LUA}
local function record_indexes (s)
  local names = { 'all', 'device:' .. s.device_device_id }
  if type(s.household_number) == 'string' then names[#names + 1] = 'household:' .. s.household_number end
  for _, leg in ipairs(s.legs) do
    if not UNRUNG[leg.state] then names[#names + 1] = 'resident:' .. leg.resident_id end
  end
  if s.status ~= 'ended' then
    names[#names + 1] = 'active'
  elseif type(s.end_reason) == 'string' then
    names[#names + 1] = 'end_reason:' .. s.end_reason
  end
  return names
end

local function index_records (base, prev, s, horizon_ms)
  local was, is = {}, {}
  if prev ~= nil then for _, name in ipairs(record_indexes(prev)) do was[name] = true end end
  for _, name in ipairs(record_indexes(s)) do is[name] = true end
  for name in pairs(was) do
    if not is[name] then redis.call('ZREM', base .. 'records:' .. name, s.call_id) end
  end
  local score = string.format('%.0f', s.start_time)
  local cutoff = '(' .. string.format('%.0f', s.start_time - horizon_ms)
  for name in pairs(is) do
    if not was[name] then
      local key = base .. 'records:' .. name
      redis.call('ZADD', key, score, s.call_id)
      redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
      redis.call('PEXPIRE', key, horizon_ms)
    end
  end
end
`

/**
 * KEYS: call, timers. ARGV: session JSON, base, retention, listing horizon. Nil when
 * stored; else \`{'retry', id}\` (the request id already started call id) or
 * \`{'busy', id}\` (the device's active call). A retry is checked first: the
 * first request's call keeps the device busy.
 */
const CREATE_LUA = `${WRITE_LUA}${RECORDS_LUA}
local s = cjson.decode(ARGV[1])
if type(s.request_id) == 'string' then
  local known = redis.call('GET', ARGV[2] .. 'request:' .. s.device_device_id .. ':' .. s.request_id)
  if known then return { 'retry', known } end
end
local device_key = ARGV[2] .. 'device:' .. s.device_device_id
if not redis.call('SET', device_key, s.call_id, 'NX') then
  return { 'busy', redis.call('GET', device_key) }
end
write(KEYS[1], KEYS[2], ARGV[2], nil, ARGV[1], s, ARGV[3])
index_records(ARGV[2], nil, s, tonumber(ARGV[4]))
return false
`

/** KEYS: call, timers. ARGV: session JSON, expected version, base, retention, listing horizon. 1 when written. */
const COMPARE_AND_SET_LUA = `${WRITE_LUA}${RECORDS_LUA}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local prev = cjson.decode(raw)
if prev.version ~= tonumber(ARGV[2]) then return 0 end
local s = cjson.decode(ARGV[1])
write(KEYS[1], KEYS[2], ARGV[3], prev, ARGV[1], s, ARGV[4])
index_records(ARGV[3], prev, s, tonumber(ARGV[5]))
return 1
`

/**
 * One listing page. KEYS: the index. ARGV: call key prefix, since, until, after
 * score, after id, limit, scan limit, residual filter JSON, trim cutoff ('' for
 * none). Returns the next position (score, id; '' when complete), then the
 * sessions' JSON. The walk goes by rank from the cursor's place, found with
 * ZREVRANK (or, when the cursor's call is gone, counted from its score), so
 * calls stored meanwhile neither repeat nor skip an item.
 */
const LIST_LUA = `${UNRUNG_LUA}
local key = KEYS[1]
local since = tonumber(ARGV[2])
local limit = tonumber(ARGV[6])
local budget = tonumber(ARGV[7])
local filter = nil
if ARGV[8] ~= '' then filter = cjson.decode(ARGV[8]) end

local function matches (s)
  if filter.deviceId and s.device_device_id ~= filter.deviceId then return false end
  if filter.householdNumber and s.household_number ~= filter.householdNumber then return false end
  if filter.status and s.status ~= filter.status then return false end
  if filter.endReason and s.end_reason ~= filter.endReason then return false end
  if filter.residentId then
    for _, leg in ipairs(s.legs) do
      if leg.resident_id == filter.residentId and not UNRUNG[leg.state] then return true end
    end
    return false
  end
  return true
end

local rank = 0
if ARGV[3] ~= '' then rank = redis.call('ZCOUNT', key, ARGV[3], '+inf') end
if ARGV[5] ~= '' then
  local from = redis.call('ZREVRANK', key, ARGV[5])
  if from then
    from = from + 1
  else
    from = redis.call('ZCOUNT', key, '(' .. ARGV[4], '+inf')
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, ARGV[4], ARGV[4])) do
      if member > ARGV[5] then from = from + 1 end
    end
  end
  if from > rank then rank = from end
end

local out = { '', '' }
local found, examined, gone = 0, 0, {}
local last_score, last_id, last_found_score, last_found_id = nil, nil, nil, nil
local walking = true
while walking do
  local entries = redis.call('ZREVRANGE', key, rank, rank + limit, 'WITHSCORES')
  if #entries == 0 then break end
  for i = 1, #entries, 2 do
    local id, score = entries[i], entries[i + 1]
    if since ~= nil and tonumber(score) < since then walking = false break end
    if examined == budget then
      out[1], out[2] = last_score, last_id
      walking = false
      break
    end
    examined = examined + 1
    local json = redis.call('GET', ARGV[1] .. id)
    if not json then
      gone[#gone + 1] = id
    elseif filter == nil or matches(cjson.decode(json)) then
      if found == limit then
        out[1], out[2] = last_found_score, last_found_id
        walking = false
        break
      end
      found = found + 1
      out[#out + 1] = json
      last_found_score, last_found_id = score, id
    end
    last_score, last_id = score, id
  end
  rank = rank + limit + 1
end

if #gone > 0 then redis.call('ZREM', key, unpack(gone)) end
if ARGV[9] ~= '' then redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[9]) end
return out
`

/**
 * KEYS: timers. ARGV: now, lease, limit, base. The claimed members, earliest first.
 * A member whose call is gone (it cannot happen through \`write\`) is dropped, not claimed.
 */
const CLAIM_LUA = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local lease_end = string.format('%.0f', tonumber(ARGV[1]) + tonumber(ARGV[2]))
local claimed = {}
for _, member in ipairs(due) do
  local id = string.match(member, '^(.*)|[^|]*$')
  if redis.call('EXISTS', ARGV[4] .. 'call:' .. id) == 1 then
    redis.call('ZADD', KEYS[1], lease_end, member)
    claimed[#claimed + 1] = member
  else
    redis.call('ZREM', KEYS[1], member)
  end
end
return claimed
`

/** KEYS: resident indexes. ARGV: the resident ids, in the same order. Those in a connected call. */
const CONNECTED_LUA = `
local found = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then found[#found + 1] = ARGV[i] end
end
return found
`

interface Scripts {
  intercomCallCreate (call: string, timers: string, json: string, base: string, retentionMs: number, horizonMs: number): Promise<['retry' | 'busy', string] | null>
  intercomCallCompareAndSet (call: string, timers: string, json: string, expected: number, base: string, retentionMs: number, horizonMs: number): Promise<number>
  intercomCallList (index: string, callPrefix: string, since: number | '', until: number | '', afterScore: number | '', afterId: string,
    limit: number, scanLimit: number, residual: string, cutoff: number): Promise<string[]>
  intercomCallClaim (timers: string, now: number, leaseMs: number, limit: number, base: string): Promise<string[]>
  intercomCallConnected (keyCount: number, ...keysThenIds: string[]): Promise<string[]>
}

/** Defining the same scripts twice on a shared connection is harmless: same names, same code. */
function defineScripts (redis: Redis): Redis & Scripts {
  redis.defineCommand('intercomCallCreate', { numberOfKeys: 2, lua: CREATE_LUA })
  redis.defineCommand('intercomCallCompareAndSet', { numberOfKeys: 2, lua: COMPARE_AND_SET_LUA })
  redis.defineCommand('intercomCallClaim', { numberOfKeys: 1, lua: CLAIM_LUA })
  redis.defineCommand('intercomCallConnected', { lua: CONNECTED_LUA })
  redis.defineCommand('intercomCallList', { numberOfKeys: 1, lua: LIST_LUA })
  return redis as Redis & Scripts
}

/** Ring timeout, longest talk and offline grace, at their defaults. */
const DEFAULT_LONGEST_CALL_MS = 30_000 + 7_200_000 + 30_000

/**
 * Call state in Redis, shared by the nodes of a cluster. Each write is one Lua
 * script, so a node that dies or loses Redis mid-request leaves nothing half-applied.
 *
 * Keys (base = `<prefix>{calls}:`): `call:<id>` session JSON, with a TTL once ended;
 * `device:<id>` its active call id; `request:<device>:<request_id>` the call it started; `resident:<id>` set of its connected call ids;
 * `ringing:<id>` set of the calls ringing that resident;
 * `timers` sorted set of `<callId>|<timer>` scored by deadline or lease end;
 * `records:<index>` the listing indexes (RECORDS_LUA).
 */
export class RedisCallStore implements CallStore {
  readonly #redis: Redis & Scripts
  readonly #owned: boolean
  readonly #base: string
  readonly #timers: string
  readonly #retentionMs: number
  readonly #horizonMs: number
  readonly #scanLimit: number

  constructor (options: RedisCallStoreOptions) {
    const { redis, owned } = openRedis(options, 'intercom-calls')
    this.#redis = defineScripts(redis)
    this.#owned = owned
    this.#base = `${options.prefix ?? 'intercom:'}{calls}:`
    this.#timers = `${this.#base}timers`
    this.#retentionMs = options.retentionMs
    this.#horizonMs = options.retentionMs + (options.longestCallMs ?? DEFAULT_LONGEST_CALL_MS)
    this.#scanLimit = options.scanLimit ?? LIST_SCAN_LIMIT
  }

  async create (session: CallSession): Promise<string | null> {
    const refused = await this.#run('storing a new call', () =>
      this.#redis.intercomCallCreate(this.#callKey(session.call_id), this.#timers, JSON.stringify(session), this.#base, this.#retentionMs, this.#horizonMs))
    if (refused === null) return null
    const [why, callId] = refused
    if (why === 'retry') return callId
    throw new IntercomError('device_busy', `Device ${session.device_device_id} is already in call ${callId}: end it first.`)
  }

  async callOfRequest (deviceId: string, requestId: string): Promise<string | null> {
    return this.#run('reading a call request', () => this.#redis.get(`${this.#base}request:${deviceId}:${requestId}`))
  }

  async get (callId: string): Promise<CallSession | null> {
    const json = await this.#run('reading a call', () => this.#redis.get(this.#callKey(callId)))
    return json === null ? null : JSON.parse(json) as CallSession
  }

  async compareAndSet (next: CallSession, expectedVersion: number): Promise<boolean> {
    if (next.version !== expectedVersion + 1) {
      throw new IntercomError('internal', `Call ${next.call_id}: a write must carry version ${expectedVersion + 1}, not ${next.version}.`)
    }
    const written = await this.#run('updating a call', () =>
      this.#redis.intercomCallCompareAndSet(this.#callKey(next.call_id), this.#timers, JSON.stringify(next), expectedVersion, this.#base, this.#retentionMs, this.#horizonMs))
    return written === 1
  }

  async activeCallOfDevice (deviceId: string): Promise<string | null> {
    return this.#run('reading a device\'s call', () => this.#redis.get(`${this.#base}device:${deviceId}`))
  }

  async connectedResidents (residentIds: string[]): Promise<Set<string>> {
    if (residentIds.length === 0) return new Set()
    const keys = residentIds.map(id => `${this.#base}resident:${id}`)
    const found = await this.#run('reading residents\' calls', () =>
      this.#redis.intercomCallConnected(keys.length, ...keys, ...residentIds))
    return new Set(found)
  }

  async ringingCallsOfResident (residentId: string): Promise<string[]> {
    return this.#run('reading a resident\'s ringing calls', () => this.#redis.smembers(`${this.#base}ringing:${residentId}`))
  }

  async claimDueTimers (now: number, leaseMs: number, limit: number): Promise<DueTimer[]> {
    const members = await this.#run('claiming timers', () =>
      this.#redis.intercomCallClaim(this.#timers, now, leaseMs, limit, this.#base))
    return members.map(member => {
      const at = member.lastIndexOf('|')
      return { callId: member.slice(0, at), timer: member.slice(at + 1) as TimerName }
    })
  }

  async nextDeadline (): Promise<number | null> {
    const first = await this.#run('reading timers', () => this.#redis.zrange(this.#timers, 0, 0, 'WITHSCORES'))
    return first[1] === undefined ? null : Number(first[1])
  }

  async list (query: CallListQuery): Promise<CallListPage> {
    const { index, residual } = planListing(query)
    const [score, id, ...sessions] = await this.#run('listing calls', () => this.#redis.intercomCallList(
      `${this.#base}records:${index}`, `${this.#base}call:`,
      query.since ?? '', query.until ?? '', query.after?.startTime ?? '', query.after?.callId ?? '',
      query.limit, this.#scanLimit, hasResidual(residual) ? JSON.stringify(residual) : '', Date.now() - this.#horizonMs))
    return {
      sessions: sessions.map((json) => JSON.parse(json) as CallSession),
      next: id === undefined || id === '' ? null : { startTime: Number(score), callId: id }
    }
  }

  async close (): Promise<void> {
    if (this.#owned) await closeRedis(this.#redis)
  }

  #callKey (callId: string): string {
    return `${this.#base}call:${callId}`
  }

  async #run<T> (what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command()
    } catch (err) {
      throw redisFailure(err, `Call store ${what}`)
    }
  }
}
