import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { startCall, transition, type CallEvent } from '../../lib/calls/machine'
import type { CallSession } from '../../lib/calls/session'
import { indexesOf } from '../../lib/records/listing'
import { startNode } from '../brokers/embedded'
import { redisMissing, startRedis } from '../brokers/redis'
import { percentiles } from '../report/stats'
import { figure, type Table } from '../report/table'
import { cpuSeconds } from '../system/proc'
import type { TargetCheck, Workload, WorkloadContext } from './workload'

/** The issue's target: a page of 50 at 200 requests/s, p99 ≤ 20 ms, with a million calls stored on Redis. */
const TARGET = { rate: 200, p99Ms: 20 } as const
const MEASURE_MS = { quick: 5_000, full: 15_000 }
const DEVICES = 1000
const TOKEN = 'bench-records-token'
const MACHINE = { ringTimeoutMs: 30_000, maxCallMs: 7_200_000, offlineGraceMs: 30_000, unlockCooldownMs: 2_000, unlockHangupMs: 0 }
/** Stored calls started over the last six days, inside the default seven-day retention. */
const SPAN_MS = 6 * 24 * 3600 * 1000
const SEED_BATCH = 1000
const SEQUENTIAL = 300
const RETENTION_MS = 7 * 24 * 3600 * 1000
/** The node's default key prefix and hash tag (lib/stores/redis-call-store.ts). */
const BASE = 'intercom:{calls}:'

/** Only the service that lists: the stored calls' doors `d<i>`, flats `h<i>` and residents `r<i>a`, `r<i>b` need no identity. */
function directory (): string {
  return JSON.stringify({ services: [{ name: 'bench', token: TOKEN }] })
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
 * batches: the store's own create script would take many minutes for a million. The
 * listing checks before the measurement fail if this layout ever drifts from the store's.
 */
async function seed (url: string, count: number, log: (line: string) => void): Promise<number> {
  const redis = new Redis(url)
  const now = Date.now()
  const started = performance.now()
  try {
    for (let from = 0; from < count; from += SEED_BATCH) {
      const batch = redis.pipeline()
      for (let n = from; n < Math.min(count, from + SEED_BATCH); n++) {
        const session = endedCall(n, now - SPAN_MS + Math.floor(n * SPAN_MS / count))
        batch.set(`${BASE}call:${session.call_id}`, JSON.stringify(session), 'PX', RETENTION_MS - (now - (session.end_time ?? now)))
        for (const index of indexesOf(session)) batch.zadd(`${BASE}records:${index}`, session.start_time, session.call_id)
      }
      await batch.exec()
      if ((from + SEED_BATCH) % 100_000 === 0) log(`records: ${(from + SEED_BATCH).toLocaleString('en-US')} calls stored`)
    }
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

async function run (context: WorkloadContext): Promise<{ tables: Table[], targets: TargetCheck[] }> {
  const count = context.options.storedCalls
  const missing = redisMissing()
  if (missing !== null) {
    return { tables: [], targets: [{ target: `GET /api/calls p99 ≤ ${TARGET.p99Ms} ms at ${TARGET.rate}/s`, measured: missing, met: null }] }
  }
  const redis = await startRedis()
  try {
    context.log(`records: storing ${count.toLocaleString('en-US')} calls in ${redis.label}`)
    const seedSeconds = await seed(redis.url, count, context.log)
    const node = await startNode({ directory: directory(), env: { REDIS_URL: redis.url, RATE_LIMIT_PER_SECOND: '100000' } })
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
          `Seeded (pipelined bulk insert, the store's key layout) in ${figure(seedSeconds)} s; ${failures} failed. ` +
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
      return {
        tables: [table],
        targets: [{
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
