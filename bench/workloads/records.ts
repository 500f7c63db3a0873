import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { startCall, transition, type CallEvent } from '../../lib/calls/machine'
import type { CallSession } from '../../lib/calls/session'
import { indexesOf } from '../../lib/records/listing'
import { ONE_ADDRESS_SIGN_INS, startNode } from '../brokers/embedded'
import { callDirectory } from '../generators/call-directory'
import { loadAverage } from '../report/machine'
import { redisMissing, startRedis } from '../brokers/redis'
import { median, percentiles, ratio } from '../report/stats'
import { figure, times, type Table } from '../report/table'
import { cpuSeconds } from '../system/proc'
import { failureCount, measure, withGenerators, type Figures, type Rig } from './calls'
import type { TargetCheck, Workload, WorkloadContext } from './workload'

/** The issue's target: a page of 50 at 200 requests/s, p99 ≤ 20 ms, with a million calls stored on Redis. */
const TARGET = { rate: 200, p99Ms: 20, setUpRatio: 1.1 } as const
/** The set-up phase: the calls workload's open loop at 100 calls/s over MQTT, with and without listing. */
const SETUP = { rate: 100, quick: { warmupMs: 1000, measureMs: 3000, rounds: 2 }, full: { warmupMs: 1000, measureMs: 5000, rounds: 3 } } as const
const MEASURE_MS = { quick: 5_000, full: 15_000 }
const DEVICES = 1000
const TOKEN = 'bench-records-token'
const MACHINE = { ringTimeoutMs: 30_000, maxCallMs: 7_200_000, offlineGraceMs: 30_000, unlockCooldownMs: 2_000, unlockHangupMs: 0 }
/** Stored calls started over the last six days, inside the default seven-day retention. */
const SPAN_MS = 6 * 24 * 3600 * 1000
const SEED_BATCH = 5000
/** Older than the listing horizon (7 days + the longest call, about 2 h): left in the indexes for the first writes to trim. */
const STALE_AGE_MS = 8 * 24 * 3600 * 1000
/** Stale entries per stored call. */
const STALE_SHARE = 0.1
const SEQUENTIAL = 300
const RETENTION_MS = 7 * 24 * 3600 * 1000
/** The node's default key prefix and hash tag (lib/stores/redis-call-store.ts). */
const BASE = 'intercom:{calls}:'

/**
 * The service that lists, and the call workload's doors and residents for the set-up
 * phase; the stored calls' doors `d<i>`, flats `h<i>` and residents `r<i>a`, `r<i>b`
 * need no identity.
 */
function directory (devices: number): string {
  return JSON.stringify({ ...JSON.parse(callDirectory(devices)) as object, services: [{ name: 'bench', token: TOKEN }] })
}

interface SetUp { label: string, f: Figures }

/**
 * Call set-up at 100 calls/s over MQTT on the node that holds the stored calls: first
 * the calls that trim the stale index entries, then rounds without and with the
 * listing load (200 pages/s), alternating which goes first.
 */
async function setUpWithListing (rig: Rig, agent: Agent, queries: Query[], context: WorkloadContext): Promise<SetUp[]> {
  const ms = context.options.quick ? SETUP.quick : SETUP.full
  const step = (): Promise<Figures> => measure(rig, { transport: 'mqtt', mode: 'rate', rate: SETUP.rate, concurrency: 0, ...ms })
  context.log(`records: first calls after the idle spell (${SETUP.rate} calls/s), trimming the stale index entries`)
  const runs: SetUp[] = [{ label: 'first calls (trim the stale entries)', f: await step() }]
  for (let round = 0; round < ms.rounds; round++) {
    for (const listing of round % 2 === 0 ? [false, true] : [true, false]) {
      context.log(`records: call set-up at ${SETUP.rate}/s, ${listing ? 'with' : 'without'} the listing load, round ${round + 1} of ${ms.rounds}`)
      if (!listing) {
        runs.push({ label: 'without listing', f: await step() })
        continue
      }
      const load = openLoop(agent, rig.node.httpPort, queries, TARGET.rate, ms.warmupMs + ms.measureMs + 1000)
      runs.push({ label: 'with listing', f: await step() })
      const { failures } = await load
      if (failures > 0) context.log(`records: ${failures} listing requests failed during the set-up step`)
    }
  }
  return runs
}

/** An ended call of door `n % DEVICES`, one outcome of four. */
function endedCall (n: number, startTime: number): CallSession {
  const d = n % DEVICES
  const started = startCall({
    callId: `call-20261125-${n.toString(16).padStart(16, '0')}`,
    provider: 'trtc',
    deviceId: `d${d}`,
    targets: [`r${d}a`, `r${d}b`],
    busy: [],
    activeCall: null,
    householdNumber: `h${d}`
  }, startTime, MACHINE)
  if (!started.ok) throw started.error
  const events: CallEvent[][] = [
    [{ type: 'action', actor: { kind: 'device', id: `d${d}` }, action: 'cancelled' }],
    [{ type: 'action', actor: { kind: 'resident', id: `r${d}a` }, action: 'rejected' }, { type: 'action', actor: { kind: 'resident', id: `r${d}b` }, action: 'rejected' }],
    [{ type: 'timer', timer: 'ring' }],
    [{ type: 'action', actor: { kind: 'resident', id: `r${d}b` }, action: 'answered' }, { type: 'action', actor: { kind: 'device', id: `d${d}` }, action: 'hangup' }]
  ]
  let session = started.session
  let at = startTime
  for (const event of events[n % events.length] as CallEvent[]) {
    at += event.type === 'timer' ? MACHINE.ringTimeoutMs : 2_000
    const result = transition(session, event, at, MACHINE)
    if (!result.ok) throw result.error
    session = result.session
  }
  return session
}

/**
 * Stores `count` ended calls as the Redis call store lays them out (`call:<id>` with its
 * retention, one `records:<index>` entry per name of `indexesOf`), pipelined in
 * batches with one ZADD per index and batch; the next batch is built while Redis runs
 * the last one. This is a bulk insert of the store's key layout, not its create
 * script (which would take many minutes for a million); the listing checks before
 * the measurement fail if the two layouts ever drift apart.
 *
 * `stale` more calls are older than the listing horizon (retention + longest call):
 * their `call:` keys are gone, only their index entries are left, as after an idle
 * spell. The first write to each index trims them (ZREMRANGEBYSCORE in the store's
 * script): the set-up phase measures what that does to the first new calls.
 */
async function seed (url: string, count: number, stale: number, log: (line: string) => void): Promise<number> {
  const redis = new Redis(url)
  const now = Date.now()
  const started = performance.now()
  let inFlight: Promise<unknown> = Promise.resolve()
  try {
    for (let from = 0; from < count + stale; from += SEED_BATCH) {
      const batch = redis.pipeline()
      const members = new Map<string, Array<number | string>>()
      for (let n = from; n < Math.min(count + stale, from + SEED_BATCH); n++) {
        const startTime = n < count ? now - SPAN_MS + Math.floor(n * SPAN_MS / count) : now - STALE_AGE_MS - (n - count)
        const session = endedCall(n, startTime)
        if (n < count) batch.set(`${BASE}call:${session.call_id}`, JSON.stringify(session), 'PX', RETENTION_MS - (now - (session.end_time ?? now)))
        for (const index of indexesOf(session)) {
          const list = members.get(index) ?? []
          list.push(session.start_time, session.call_id)
          members.set(index, list)
        }
      }
      for (const [index, list] of members) batch.zadd(`${BASE}records:${index}`, ...list)
      await inFlight
      inFlight = batch.exec()
      if ((from + SEED_BATCH) % 100_000 === 0) log(`records: ${(from + SEED_BATCH).toLocaleString('en-US')} calls stored`)
    }
    await inFlight
    return (performance.now() - started) / 1000
  } finally {
    redis.disconnect()
  }
}

interface Query { name: string, path: string }

async function get (agent: Agent, port: number, path: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Open loop: requests leave on a fixed schedule, and latency counts from the scheduled time (no coordinated omission). */
async function openLoop (agent: Agent, port: number, queries: Query[], rate: number, ms: number): Promise<{ latencies: Map<string, number[]>, failures: number }> {
  const latencies = new Map<string, number[]>(queries.map((q) => [q.name, []]))
  let failures = 0
  const total = Math.round(rate * ms / 1000)
  const start = performance.now()
  const pending: Array<Promise<void>> = []
  for (let i = 0; i < total; i++) {
    const due = start + i * 1000 / rate
    const wait = due - performance.now()
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    const query = queries[i % queries.length] as Query
    pending.push(get(agent, port, query.path).then((r) => {
      if (r.status !== 200) failures++
      else latencies.get(query.name)?.push(performance.now() - due)
    }, () => { failures++ }))
  }
  await Promise.all(pending)
  return { latencies, failures }
}

/** Index entries older than the listing horizon still stored after the run. */
async function countStale (url: string): Promise<number> {
  const redis = new Redis(url)
  try {
    let left = 0
    const cutoff = Date.now() - STALE_AGE_MS + 3600_000
    for (let cursor = '0'; ;) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${BASE}records:*`, 'COUNT', 1000)
      for (const key of keys) left += await redis.zcount(key, '-inf', cutoff)
      cursor = next
      if (cursor === '0') return left
    }
  } finally {
    redis.disconnect()
  }
}

async function run (context: WorkloadContext): Promise<{ tables: Table[], targets: TargetCheck[] }> {
  const count = context.options.storedCalls
  const missing = redisMissing()
  if (missing !== null) {
    return { tables: [], targets: [{ target: `GET /api/calls p99 ≤ ${TARGET.p99Ms} ms at ${TARGET.rate}/s`, measured: missing, met: null }] }
  }
  const redis = await startRedis()
  try {
    context.log(`records: storing ${count.toLocaleString('en-US')} calls in ${redis.label}`)
    const stale = Math.round(count * STALE_SHARE)
    const seedSeconds = await seed(redis.url, count, stale, context.log)
    const node = await startNode({ directory: directory(context.options.devices), env: { REDIS_URL: redis.url, RATE_LIMIT_PER_SECOND: '100000', ...ONE_ADDRESS_SIGN_INS } })
    try {
      const agent = new Agent({ keepAlive: true, maxSockets: 64 })
      const port = node.httpPort
      // A cursor deep in the listing: the page after the middle of the stored calls.
      const middle = JSON.parse((await get(agent, port, `/api/calls?limit=1&until=${Date.now() - SPAN_MS / 2}`)).body) as { data: { next_cursor: string } }
      const queries: Query[] = [
        { name: 'every call, first page', path: '/api/calls?limit=50' },
        { name: 'every call, a page in the middle (cursor)', path: `/api/calls?limit=50&cursor=${middle.data.next_cursor}` },
        { name: 'one door', path: `/api/calls?limit=50&device_id=d${DEVICES / 2}` },
        { name: 'one resident', path: `/api/calls?limit=50&resident_id=r${DEVICES / 4}a` },
        { name: 'one flat, ended, since 3 days', path: `/api/calls?limit=50&household_number=h7&status=ended&since=${Date.now() - SPAN_MS / 2}` },
        { name: 'one end reason', path: '/api/calls?limit=50&end_reason=rejected' }
      ]
      for (const q of queries) {
        const r = await get(agent, port, q.path)
        const items = (JSON.parse(r.body) as { data?: { items: unknown[] } }).data?.items.length
        if (r.status !== 200 || items === undefined || items === 0) throw new Error(`${q.name}: ${r.status}, ${String(items)} items: ${r.body.slice(0, 300)}`)
      }
      const ms = context.options.quick ? MEASURE_MS.quick : MEASURE_MS.full
      // One request at a time first: the service time of a page, and its CPU cost, without any queue.
      const cpuAtStart = [cpuSeconds(node.pid), cpuSeconds(redis.pid)]
      const alone: number[] = []
      for (let i = 0; i < SEQUENTIAL; i++) {
        const query = queries[i % queries.length] as Query
        const sent = performance.now()
        await get(agent, port, query.path)
        alone.push(performance.now() - sent)
      }
      const cpuPerRequest = [cpuSeconds(node.pid), cpuSeconds(redis.pid)].map((c, i) => (c - (cpuAtStart[i] as number)) * 1000 / SEQUENTIAL)
      await openLoop(agent, port, queries, TARGET.rate, 1000)
      const { latencies, failures } = await openLoop(agent, port, queries, TARGET.rate, ms)
      // A rare combination makes a page examine its full 1,000 entries: the worst case, apart.
      const worst = await openLoop(agent, port, [{ name: 'rare filter', path: '/api/calls?limit=50&device_id=d3&end_reason=forced' }], 20, 3000)
      const setUps = await withGenerators({ node, redis }, 'plain', context, (rig) => setUpWithListing(rig, agent, queries, context))
      const staleLeft = await countStale(redis.url)
      agent.destroy()
      const row = (name: string, samples: number[]): string[] => {
        const p = percentiles(Float64Array.from(samples))
        return [name, figure(p.count), figure(p.p50), figure(p.p95), figure(p.p99), figure(p.max)]
      }
      const all = [...latencies.values()].flat()
      const overall = percentiles(Float64Array.from(all))
      const table: Table = {
        title: `Call records: GET /api/calls, pages of 50, ${count.toLocaleString('en-US')} calls stored on ${redis.label}`,
        note: `Open loop at ${TARGET.rate} requests/s for ${ms / 1000} s over one node (HTTP keep-alive, service Bearer token), the six queries in turn; latency from each request's scheduled time to its last byte, in ms. ` +
          `Seeded (pipelined bulk insert, the store's key layout; plus ${stale.toLocaleString('en-US')} stale index entries past retention) in ${figure(seedSeconds)} s (${figure((count + stale) / seedSeconds)} calls/s); ${failures} failed. ` +
          `One request at a time (${SEQUENTIAL}, the same queries): CPU per request node ${figure(cpuPerRequest[0] as number)} ms, Redis ${figure(cpuPerRequest[1] as number)} ms. ` +
          'Last rows: those requests one at a time, then a filter combination that matches nothing, so each page examines its full 1,000 entries, at 20 requests/s.',
        columns: ['query', 'requests', 'p50', 'p95', 'p99', 'max'],
        rows: [
          ...[...latencies].map(([name, samples]) => row(name, samples)),
          row('**all of the above**', all),
          row('the six, one request at a time (service time)', alone),
          row('rare filter (door + end reason forced): worst case', worst.latencies.get('rare filter') ?? [])
        ]
      }
      const med = (label: string, f: (x: Figures) => number): number => median(setUps.filter((u) => u.label === label).map((u) => f(u.f)))
      const p99Ratio = ratio(med('with listing', (f) => f.latency.p99), med('without listing', (f) => f.latency.p99))
      const setUpFailures = setUps.reduce((n, u) => n + failureCount(u.f), 0)
      const setUpTable: Table = {
        title: `Call set-up with and without a listing load, ${count.toLocaleString('en-US')} calls stored`,
        note: `The same node and Redis, ${context.options.devices} doors of 4 residents logged in; the calls workload's open loop at ${SETUP.rate} calls/s over MQTT (request → last invite), ` +
          `${(context.options.quick ? SETUP.quick : SETUP.full).measureMs / 1000} s measured per step; "with listing" runs the six queries at ${TARGET.rate} requests/s meanwhile. ` +
          `First row: the first calls after seeding, whose writes trim the ${stale.toLocaleString('en-US')} stale entries from the indexes they touch (${staleLeft.toLocaleString('en-US')} stale entries left at the end, in indexes no new call wrote to). ` +
          `Then interleaved rounds. Node and Redis CPU from /proc. Load average ${loadAverage()} at the end.`,
        columns: ['step', 'started calls/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'node CPU %', 'Redis CPU %', 'failed'],
        rows: [
          ...setUps.map((u) => [u.label, figure(u.f.started / u.f.seconds), figure(u.f.latency.p50), figure(u.f.latency.p95), figure(u.f.latency.p99), figure(u.f.latency.max),
            figure(u.f.nodeCpu * 100 / u.f.seconds), figure((u.f.redisCpu ?? Number.NaN) * 100 / u.f.seconds),
            Object.entries(u.f.failures).map(([code, n]) => `${figure(n)} ${code}`).join('; ') || '0']),
          ['median p99, with ÷ without listing', '', '', '', `**${times(p99Ratio)}**`, '', '', '', '']
        ]
      }
      return {
        tables: [table, setUpTable],
        targets: [{
          target: `call set-up p99 at ${SETUP.rate} calls/s with a listing load at ${TARGET.rate}/s: within ${TARGET.setUpRatio}× of without`,
          measured: `${times(p99Ratio)} (${figure(med('with listing', (f) => f.latency.p99))} vs ${figure(med('without listing', (f) => f.latency.p99))} ms)${setUpFailures > 0 ? `, ${setUpFailures} failed` : ''}`,
          met: setUpFailures === 0 && p99Ratio <= TARGET.setUpRatio
        }, {
          target: `GET /api/calls page of 50, ${count.toLocaleString('en-US')} calls on Redis: p99 ≤ ${TARGET.p99Ms} ms at ${TARGET.rate}/s`,
          measured: `p99 ${figure(overall.p99)} ms${failures > 0 ? `, ${failures} failed` : ''}`,
          met: count < 1_000_000 ? null : failures === 0 && overall.p99 <= TARGET.p99Ms
        }]
      }
    } finally {
      await node.stop()
    }
  } finally {
    await redis.stop()
  }
}

export const recordsWorkload: Workload = {
  name: 'records',
  summary: 'call records (GET /api/calls) over a large Redis call store',
  run
}
