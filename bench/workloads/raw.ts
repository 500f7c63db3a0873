import { BENCH_IDENTITY } from '../brokers/broker'
import { Generator } from '../generators/runner-side'
import type { RawSpec } from '../generators/protocol'
import { cpuSeconds } from '../system/proc'
import { median, ratio } from '../report/stats'
import { figure, times, type Table } from '../report/table'
import { withBrokers, type Side, type TargetCheck, type Workload, type WorkloadContext } from './workload'

const PAYLOAD_BYTES = 64
const RATE = 1000

export interface Case { qos: 0 | 1, subscribers: number }

export const CASES: readonly Case[] = [
  { qos: 0, subscribers: 1 },
  { qos: 1, subscribers: 1 },
  { qos: 0, subscribers: 10 },
  { qos: 1, subscribers: 10 }
]

export const caseName = (c: Case): string => `QoS ${c.qos}, 1→${c.subscribers}`

/** What one run yields; a row of the tables is the median of its rounds. */
export interface Figures {
  published: number
  delivered: number
  brokerCpuPct: number
  generatorCpuPct: number
  /** Broker CPU µs per published message and per delivery. */
  cpuPerMessage: number
  cpuPerDelivery: number
  lost: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** One generator run; the CPU of broker and generator is read when the generator marks its window. */
async function measure (side: Side, spec: RawSpec): Promise<Figures> {
  const generator = new Generator('raw')
  try {
    generator.send({ type: 'raw', spec })
    await generator.next('window-start', spec.warmupMs + 30_000)
    const before = [cpuSeconds(side.broker.pid), cpuSeconds(generator.pid)] as const
    await generator.next('window-end', spec.measureMs + 10_000)
    const cpu = cpuSeconds(side.broker.pid) - before[0]
    const generatorCpu = cpuSeconds(generator.pid) - before[1]
    const { result: r } = await generator.next('raw-result', 30_000)
    return {
      published: r.published / r.seconds,
      delivered: r.delivered / r.seconds,
      brokerCpuPct: cpu * 100 / r.seconds,
      generatorCpuPct: generatorCpu * 100 / r.seconds,
      cpuPerMessage: cpu * 1e6 / r.published,
      cpuPerDelivery: cpu * 1e6 / r.delivered,
      lost: r.lost,
      p50: r.latency?.p50 ?? Number.NaN,
      p95: r.latency?.p95 ?? Number.NaN,
      p99: r.latency?.p99 ?? Number.NaN,
      max: r.latency?.max ?? Number.NaN
    }
  } finally {
    await generator.stop()
  }
}

function medianFigures (runs: Figures[]): Figures {
  const m = (key: keyof Figures): number => median(runs.map((r) => r[key]))
  return {
    published: m('published'),
    delivered: m('delivered'),
    brokerCpuPct: m('brokerCpuPct'),
    generatorCpuPct: m('generatorCpuPct'),
    cpuPerMessage: m('cpuPerMessage'),
    cpuPerDelivery: m('cpuPerDelivery'),
    lost: runs.reduce((a, r) => a + r.lost, 0),
    p50: m('p50'),
    p95: m('p95'),
    p99: m('p99'),
    max: m('max')
  }
}

function spec (side: Side, c: Case, mode: RawSpec['mode'], context: WorkloadContext): RawSpec {
  return {
    port: side.broker.port,
    username: BENCH_IDENTITY.username,
    password: BENCH_IDENTITY.password,
    qos: c.qos,
    subscribers: c.subscribers,
    mode,
    warmupMs: context.timing.warmupMs,
    measureMs: mode === 'throughput' ? context.timing.throughputMs : context.timing.latencyMs,
    window: context.options.window,
    rate: RATE,
    payloadBytes: PAYLOAD_BYTES,
    topic: `${BENCH_IDENTITY.topicRoot}/${mode}/q${c.qos}/${c.subscribers}`
  }
}

export interface Row { c: Case, kind: Side['kind'], label: string, f: Figures }

/**
 * Each case on every broker, `rounds` times, alternating which broker goes
 * first: a burst of other work on the machine lands on one round of one
 * broker, and the median leaves it out.
 */
export async function measureAll (sides: Side[], mode: RawSpec['mode'], context: WorkloadContext, cases: readonly Case[] = CASES): Promise<Row[]> {
  const rows: Row[] = []
  for (const c of cases) {
    const runs = new Map<Side, Figures[]>(sides.map((s) => [s, []]))
    for (let round = 0; round < context.timing.rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        context.log(`raw: ${caseName(c)}, ${mode === 'rate' ? `${RATE} msg/s` : 'max throughput'}, ${side.broker.label}, round ${round + 1}/${context.timing.rounds}`)
        runs.get(side)?.push(await measure(side, spec(side, c, mode, context)))
      }
    }
    for (const side of sides) rows.push({ c, kind: side.kind, label: side.broker.label, f: medianFigures(runs.get(side) ?? []) })
  }
  return rows
}

/** Rows of one table: each case on every broker, then embedded ÷ Mosquitto. */
function rowsWithRatios (rows: Row[], keys: ReadonlyArray<keyof Figures>): string[][] {
  const out: string[][] = []
  for (const c of CASES) {
    const mine = rows.filter((r) => r.c === c)
    for (const r of mine) out.push([caseName(c), r.label, ...keys.map((k) => figure(r.f[k])), figure(r.f.lost)])
    const reference = mine.find((r) => r.kind === 'mosquitto')
    const embedded = mine.find((r) => r.kind === 'embedded')
    if (reference !== undefined && embedded !== undefined) {
      out.push([caseName(c), '**embedded ÷ Mosquitto**', ...keys.map((k) => `**${times(ratio(embedded.f[k], reference.f[k]))}**`), ''])
    }
  }
  return out
}

function targets (throughput: Row[], latency: Row[]): TargetCheck[] {
  const pick = (rows: Row[], kind: Side['kind']): Figures | undefined => rows.find((r) => r.kind === kind && r.c.qos === 1 && r.c.subscribers === 1)?.f
  const check = (target: string, rows: Row[], key: keyof Figures, unit: string, ok: (r: number) => boolean): TargetCheck => {
    const e = pick(rows, 'embedded')?.[key]
    const m = pick(rows, 'mosquitto')?.[key]
    const value = ratio(e, m)
    return { target, measured: `${times(value)} (${figure(e ?? Number.NaN)} vs ${figure(m ?? Number.NaN)} ${unit})`, met: Number.isFinite(value) ? ok(value) : null }
  }
  return [
    check('QoS 1 one-to-one throughput ≥ 1.0× Mosquitto', throughput, 'delivered', 'msg/s', (r) => r >= 1),
    check(`QoS 1 pub→sub p99 at ${RATE} msg/s ≤ 1.0× Mosquitto`, latency, 'p99', 'ms', (r) => r <= 1),
    check('broker CPU per message (QoS 1 one-to-one, max throughput) ≤ 1.2× Mosquitto', throughput, 'cpuPerMessage', 'µs', (r) => r <= 1.2),
    check(`broker CPU per message (QoS 1 one-to-one, ${RATE} msg/s) ≤ 1.2× Mosquitto`, latency, 'cpuPerMessage', 'µs', (r) => r <= 1.2)
  ]
}

export const rawWorkload: Workload = {
  name: 'raw',
  summary: 'plain MQTT publish → subscribe through the broker, no call logic',
  async run (context) {
    return withBrokers(context, async (sides) => {
      const throughput = await measureAll(sides, 'throughput', context)
      const latency = await measureAll(sides, 'rate', context)
      const { timing, options } = context
      const rounds = timing.rounds === 1 ? 'one round' : `median of ${timing.rounds} interleaved rounds`
      const tables: Table[] = [{
        title: 'Raw broker: throughput',
        note: `${PAYLOAD_BYTES} B payloads; one generator process (mqtt.js, publisher and subscribers) keeps ${options.window} published messages in flight to every subscriber; ` +
          `${timing.warmupMs / 1000} s warm-up, ${timing.throughputMs / 1000} s measured, ${rounds}. Broker CPU from /proc (all threads, 10 ms ticks). ` +
          'Both brokers are single-threaded: a CPU near 100 % means that side bounds the figure; the generator shares the 2 cores.',
        columns: ['case', 'broker', 'published msg/s', 'delivered msg/s', 'broker CPU %', 'generator CPU %', 'broker CPU µs / published msg', 'broker CPU µs / delivery', 'lost'],
        rows: rowsWithRatios(throughput, ['published', 'delivered', 'brokerCpuPct', 'generatorCpuPct', 'cpuPerMessage', 'cpuPerDelivery'])
      }, {
        title: `Raw broker: pub→sub latency at ${RATE} msg/s`,
        note: `${RATE} published msg/s (1 ms timer with catch-up), ${PAYLOAD_BYTES} B, send time in the payload, one clock; every delivery of a ${timing.latencyMs / 1000} s window ` +
          `(rate × seconds × subscribers samples) after ${timing.warmupMs / 1000} s warm-up, ${rounds}. Includes mqtt.js encoding and decoding in the generator.`,
        columns: ['case', 'broker', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'broker CPU µs / published msg', 'lost'],
        rows: rowsWithRatios(latency, ['p50', 'p95', 'p99', 'max', 'cpuPerMessage'])
      }]
      return { tables, targets: targets(throughput, latency) }
    })
  }
}
