import { randomInt } from 'node:crypto'
import { BENCH_IDENTITY } from '../brokers/broker'
import { Generator } from '../generators/runner-side'
import type { ConnectResult } from '../generators/protocol'
import { cpuSeconds, openFileLimit, usage, type Usage } from '../system/proc'
import { sleep } from '../system/processes'
import { ratio } from '../report/stats'
import { figure, times, type Table } from '../report/table'
import { withBrokers, type Side, type TargetCheck, type Workload, type WorkloadContext } from './workload'

/** Per generator: well under the open-file limit a process may get here, and under one address's ephemeral ports. */
const PER_GENERATOR = 5000
/** Connections being opened at once across generators: below the listen backlogs (Mosquitto's is 100). */
const IN_PROGRESS = 96
/** File descriptors a broker needs besides its clients (listeners, logs, epoll...). */
const SPARE_FILES = 100
const KEEPALIVE_S = 60
const TARGET = { connections: 50_000, kbPerConnection: 20, perSecond: 2000 }

interface Measured {
  requested: number
  /** Connections attempted: the request, unless the broker's open-file limit is lower. */
  attempted: number
  limit: number
  result: ConnectResult
  seconds: number
  before: Usage
  /** Broker CPU seconds at the last CONNACK. */
  cpuConnected: number
  after: Usage
}

async function measure (side: Side, requested: number, context: WorkloadContext): Promise<Measured> {
  const pid = side.broker.pid
  const limit = openFileLimit(pid)
  await sleep(context.timing.settleMs)
  const before = usage(pid)
  const attempted = Math.min(requested, limit - before.files - SPARE_FILES)
  const count = Math.max(2, Math.ceil(attempted / PER_GENERATOR))
  // Closed client sockets linger in TIME_WAIT on their source address, and a bind to a crowded
  // address is slow: every run takes fresh addresses in 127.0.0.0/8.
  const network = 1 + randomInt(254)
  const generators = Array.from({ length: count }, () => new Generator('connections'))
  try {
    generators.forEach((g, i) => {
      const share = Math.floor(attempted / count) + (i < attempted % count ? 1 : 0)
      g.send({
        type: 'connect',
        spec: {
          port: side.broker.port,
          username: BENCH_IDENTITY.username,
          password: BENCH_IDENTITY.password,
          count: share,
          localAddress: `127.${network}.${i}.1`,
          concurrency: Math.ceil(IN_PROGRESS / count),
          idPrefix: `bench-idle-${i}`,
          keepalive: KEEPALIVE_S
        }
      })
    })
    await Promise.all(generators.map((g) => g.next('ready', 20_000)))
    const started = performance.now()
    for (const g of generators) g.send({ type: 'go' })
    const results = await Promise.all(generators.map((g) => g.next('connected', 300_000).then((m) => m.result)))
    const seconds = (performance.now() - started) / 1000
    const cpuConnected = cpuSeconds(pid)
    await sleep(context.timing.settleMs)
    const after = usage(pid)
    for (const g of generators) g.send({ type: 'close' })
    await Promise.all(generators.map((g) => g.next('closed', 30_000)))
    const result = results.reduce((a, r) => ({
      connected: a.connected + r.connected,
      failed: a.failed + r.failed,
      firstError: a.firstError ?? r.firstError
    }), { connected: 0, failed: 0, firstError: null })
    return { requested, attempted, limit, result, seconds, before, cpuConnected, after }
  } finally {
    await Promise.all(generators.map((g) => g.stop()))
  }
}

const rate = (m: Measured): number => m.result.connected / m.seconds
const kbPerConnection = (m: Measured): number => (m.after.rss - m.before.rss) / 1024 / m.result.connected
const cpuPerConnect = (m: Measured): number => (m.cpuConnected - m.before.cpu) * 1e6 / m.result.connected
const cpuBusy = (m: Measured): number => (m.cpuConnected - m.before.cpu) * 100 / m.seconds
const mb = (bytes: number): number => bytes / 2 ** 20

function remark (m: Measured): string {
  const notes: string[] = []
  if (m.attempted < m.requested) notes.push(`capped by the open-file limit (${m.limit})`)
  if (m.result.failed > 0) notes.push(`${m.result.failed} failed: ${m.result.firstError ?? '?'}`)
  const open = m.after.files - m.before.files
  if (open < m.result.connected) notes.push(`broker holds only ${open} new sockets`)
  return notes.join('; ')
}

interface Row { kind: Side['kind'], label: string, m: Measured }

function targets (rows: Row[]): TargetCheck[] {
  const embedded = rows.filter((r) => r.kind === 'embedded').sort((a, b) => b.m.result.connected - a.m.result.connected)[0]
  if (embedded === undefined) return []
  const m = embedded.m
  const reached = m.result.connected >= TARGET.connections
  const fits = kbPerConnection(m) <= TARGET.kbPerConnection && rate(m) >= TARGET.perSecond
  const limited = m.attempted < TARGET.connections
  return [{
    target: `≥ ${figure(TARGET.connections)} connections at ≤ ${TARGET.kbPerConnection} KB RSS each, connecting at ≥ ${figure(TARGET.perSecond)}/s`,
    measured: `${figure(m.result.connected)} connections (largest run): ${figure(kbPerConnection(m))} KB each, ${figure(rate(m))}/s` +
      (limited ? `; ${figure(TARGET.connections)} not reachable on this machine (open-file limit ${m.limit})` : ''),
    met: reached ? fits : (fits ? null : false)
  }]
}

export const connectionsWorkload: Workload = {
  name: 'connections',
  summary: 'idle authenticated MQTT connections: connect rate and memory per connection',
  async run (context) {
    const rows: Row[] = []
    for (const n of context.options.connections) {
      // A fresh broker per count: the memory baseline is the idle process.
      for (const kind of context.brokers) {
        await withBrokers({ ...context, brokers: [kind] }, async (sides) => {
          for (const side of sides) {
            context.log(`connections: ${figure(n)} idle clients, ${side.broker.label}`)
            rows.push({ kind: side.kind, label: side.broker.label, m: await measure(side, n, context) })
          }
        })
      }
    }
    const out: string[][] = []
    for (const n of context.options.connections) {
      const mine = rows.filter((r) => r.m.requested === n)
      for (const { label, m } of mine) {
        out.push([figure(n), label, figure(m.result.connected), figure(rate(m)), figure(cpuBusy(m)), figure(cpuPerConnect(m)),
          figure(mb(m.before.rss)), figure(mb(m.after.rss)), figure(kbPerConnection(m)), remark(m)])
      }
      const e = mine.find((r) => r.kind === 'embedded')?.m
      const r = mine.find((r) => r.kind === 'mosquitto')?.m
      if (e !== undefined && r !== undefined) {
        const cell = (f: (m: Measured) => number): string => `**${times(ratio(f(e), f(r)))}**`
        out.push([figure(n), '**embedded ÷ Mosquitto**', '', cell(rate), '', cell(cpuPerConnect), '', cell((m) => m.after.rss), cell(kbPerConnection), ''])
      }
    }
    const table: Table = {
      title: 'Idle connections',
      note: `Fresh broker per row; clients authenticate as ${BENCH_IDENTITY.username} (clean session, keep-alive ${KEEPALIVE_S} s, no subscription) from ` +
        `${PER_GENERATOR} per generator process, each on its own fresh 127.x.y.1 source address, ${IN_PROGRESS} connects in progress in all. ` +
        'Rate = connections ÷ time from "go" to the last CONNACK; the generators share the 2 cores with the broker, so a broker well below 100 % CPU was not the bound. ' +
        `RSS from /proc VmRSS ${context.timing.settleMs / 1000} s after the last CONNACK, minus the idle broker's.`,
      columns: ['requested', 'broker', 'connected', 'connects/s', 'broker CPU % while connecting', 'broker CPU µs / connect', 'RSS idle MB', 'RSS connected MB', 'KB / connection', 'remarks'],
      rows: out
    }
    return { tables: [table], targets: targets(rows) }
  }
}
