import type { Redis } from 'ioredis'
import { IntercomError } from '../errors'
import { TIMERS, type CallSession, type TimerName } from '../calls/session'
import { closeRedis, openRedis, redisFailure, type RedisTarget } from '../cluster/redis-connection'
import type { CallStore, DueTimer } from './call-store'

export type RedisCallStoreOptions = RedisTarget & {
  /** How long an ended call stays readable. */
  retentionMs: number
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

  if s.status ~= 'ended' then
    redis.call('SET', call_key, json)
  elseif prev ~= nil and prev.status == 'ended' then
    redis.call('SET', call_key, json, 'KEEPTTL')
  else
    redis.call('SET', call_key, json, 'PX', retention_ms)
  end
end
`

/** KEYS: call, timers. ARGV: session JSON, base, retention. Nil when stored, else the device's active call. */
const CREATE_LUA = `${WRITE_LUA}
local s = cjson.decode(ARGV[1])
local device_key = ARGV[2] .. 'device:' .. s.device_device_id
if not redis.call('SET', device_key, s.call_id, 'NX') then
  return redis.call('GET', device_key)
end
write(KEYS[1], KEYS[2], ARGV[2], nil, ARGV[1], s, ARGV[3])
return false
`

/** KEYS: call, timers. ARGV: session JSON, expected version, base, retention. 1 when written. */
const COMPARE_AND_SET_LUA = `${WRITE_LUA}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local prev = cjson.decode(raw)
if prev.version ~= tonumber(ARGV[2]) then return 0 end
write(KEYS[1], KEYS[2], ARGV[3], prev, ARGV[1], cjson.decode(ARGV[1]), ARGV[4])
return 1
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
  intercomCallCreate (call: string, timers: string, json: string, base: string, retentionMs: number): Promise<string | null>
  intercomCallCompareAndSet (call: string, timers: string, json: string, expected: number, base: string, retentionMs: number): Promise<number>
  intercomCallClaim (timers: string, now: number, leaseMs: number, limit: number, base: string): Promise<string[]>
  intercomCallConnected (keyCount: number, ...keysThenIds: string[]): Promise<string[]>
}

/** Defining the same scripts twice on a shared connection is harmless: same names, same code. */
function defineScripts (redis: Redis): Redis & Scripts {
  redis.defineCommand('intercomCallCreate', { numberOfKeys: 2, lua: CREATE_LUA })
  redis.defineCommand('intercomCallCompareAndSet', { numberOfKeys: 2, lua: COMPARE_AND_SET_LUA })
  redis.defineCommand('intercomCallClaim', { numberOfKeys: 1, lua: CLAIM_LUA })
  redis.defineCommand('intercomCallConnected', { lua: CONNECTED_LUA })
  return redis as Redis & Scripts
}

/**
 * Call state in Redis, shared by the nodes of a cluster. Each write is one Lua
 * script, so a node that dies or loses Redis mid-request leaves nothing half-applied.
 *
 * Keys (base = `<prefix>{calls}:`): `call:<id>` session JSON, with a TTL once ended;
 * `device:<id>` its active call id; `resident:<id>` set of its connected call ids;
 * `ringing:<id>` set of the calls ringing that resident;
 * `timers` sorted set of `<callId>|<timer>` scored by deadline or lease end.
 */
export class RedisCallStore implements CallStore {
  readonly #redis: Redis & Scripts
  readonly #owned: boolean
  readonly #base: string
  readonly #timers: string
  readonly #retentionMs: number

  constructor (options: RedisCallStoreOptions) {
    const { redis, owned } = openRedis(options, 'intercom-calls')
    this.#redis = defineScripts(redis)
    this.#owned = owned
    this.#base = `${options.prefix ?? 'intercom:'}{calls}:`
    this.#timers = `${this.#base}timers`
    this.#retentionMs = options.retentionMs
  }

  async create (session: CallSession): Promise<void> {
    const active = await this.#run('storing a new call', () =>
      this.#redis.intercomCallCreate(this.#callKey(session.call_id), this.#timers, JSON.stringify(session), this.#base, this.#retentionMs))
    if (active !== null) {
      throw new IntercomError('device_busy', `Device ${session.device_device_id} is already in call ${active}: end it first.`)
    }
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
      this.#redis.intercomCallCompareAndSet(this.#callKey(next.call_id), this.#timers, JSON.stringify(next), expectedVersion, this.#base, this.#retentionMs))
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
