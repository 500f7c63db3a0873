import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { ONE_ADDRESS_SIGN_INS, startNode, type RunningNode } from '../brokers/embedded'
import { redisMissing, startRedis, type RunningRedis } from '../brokers/redis'
import { callDirectory, RESIDENTS_PER_HOUSEHOLD, SEQUENTIAL_EVERY, type CallMix } from '../generators/call-directory'
import type { CallsResult, CallStep, CallTransport } from '../generators/protocol'
import { Generator } from '../generators/runner-side'
import { summariseProfiles } from '../report/profile'
import { percentiles, type Percentiles } from '../report/stats'
import { figure, type Table } from '../report/table'
import { cpuSeconds } from '../system/proc'
import { sleep } from '../system/processes'
import type { TargetCheck, Workload, WorkloadContext } from './workload'

/** Generator processes, each driving its share of the households (a call's messages stay in one process and clock); one leaves the most CPU to the node on 2 cores. */
const GENERATORS = 1
/** Devices calling again as soon as their call ended, in the closed-loop cycles. */
const CYCLING_DEVICES = 50
const P99_BOUND_MS = 50
const TARGET = { p99At100Ms: 10, rate: { memory: 1000, redis: 500 } } as const
const RATES = { quick: [100, 500, 1000, 1500], full: [50, 100, 200, 500, 800, 1000, 1500] }
const STEP_MS = { quick: { warmupMs: 500, measureMs: 1500 }, full: { warmupMs: 1000, measureMs: 3000 } }
const TRANSPORTS: readonly CallTransport[] = ['http', 'mqtt']
/** Pause after an overloaded step, so that its backlog does not spill into the next one. */
const SETTLE_MS = 2000

export type StoreName = 'memory' | 'redis'

/** One step, all generators merged. */
export interface Figures {
  step: CallStep
  seconds: number
  started: number
  ended: number
  latency: Percentiles
  nodeCpu: number
  redisCpu: number | null
  generatorCpu: number
  failures: Record<string, number>
  skippedBusy: number
  stray: number
}

interface StoreRun {
  store: StoreName
  mix: CallMix
  label: string
  /** Why this store was not measured. */
  missing: string | null
  rates: Figures[]
  cycles: Figures[]
  profile: Table[]
}

export interface Rig {
  node: RunningNode
  redis: RunningRedis | null
  generators: Generator[]
}

export interface RigOptions {
  store: StoreName
  mix: CallMix
  /** Metrics off and warnings only (see startNode). */
  quiet?: boolean
  profileDir?: string
}

export const failureCount = (f: Figures): number => Object.values(f.failures).reduce((a, b) => a + b, 0)
const overBound = (f: Figures): boolean => failureCount(f) > 0 || !(f.latency.p99 <= P99_BOUND_MS)
const transportName = (t: CallTransport): string => (t === 'http' ? 'HTTP' : 'MQTT')

/** Every generator runs its share of the step; CPU is read between the window marks. */
export async function measure (rig: Rig, step: CallStep): Promise<Figures> {
  const { node, redis, generators } = rig
  const share: CallStep = { ...step, rate: step.rate / generators.length, concurrency: Math.ceil(step.concurrency / generators.length) }
  for (const g of generators) g.send({ type: 'calls-step', step: share })
  await Promise.all(generators.map((g) => g.next('window-start', step.warmupMs + 30_000)))
  const cpu = (): number[] => [node.pid, redis?.pid, ...generators.map((g) => g.pid)].map((pid) => (pid === undefined ? 0 : cpuSeconds(pid)))
  const before = cpu()
  await Promise.all(generators.map((g) => g.next('window-end', step.measureMs + 30_000)))
  const used = cpu().map((c, i) => c - (before[i] as number))
  const results: CallsResult[] = await Promise.all(generators.map((g) => g.next('calls-result', 60_000).then((m) => m.result)))
  const failures: Record<string, number> = {}
  for (const r of results) for (const [code, n] of Object.entries(r.failures)) failures[code] = (failures[code] ?? 0) + n
  const sum = (key: 'started' | 'ended' | 'skippedBusy' | 'stray'): number => results.reduce((a, r) => a + r[key], 0)
  return {
    step,
    seconds: Math.max(...results.map((r) => r.seconds)),
    started: sum('started'),
    ended: sum('ended'),
    latency: percentiles(Float64Array.from(results.flatMap((r) => r.samples))),
    nodeCpu: used[0] as number,
    redisCpu: redis === null ? null : used[1] as number,
    generatorCpu: used.slice(2).reduce((a, b) => a + b, 0),
    failures,
    skippedBusy: sum('skippedBusy'),
    stray: sum('stray')
  }
}

export async function withRig<T> (options: RigOptions, context: WorkloadContext, fn: (rig: Rig) => Promise<T>): Promise<T> {
  const { profileDir } = options
  const redis = options.store === 'redis' ? await startRedis() : null
  try {
    const node = await startNode({
      directory: callDirectory(context.options.devices, options.mix),
      quiet: options.quiet,
      // A cycling door acts far more often than a person: the per-identity limit would measure itself.
      env: { RATE_LIMIT_PER_SECOND: '100000', ...ONE_ADDRESS_SIGN_INS, ...(redis === null ? {} : { REDIS_URL: redis.url }) },
      ...(profileDir === undefined ? {} : { profileDir }),
      ...(context.options.nodeBin === undefined ? {} : { bin: path.resolve(context.options.nodeBin) })
    })
    try {
      return await withGenerators({ node, redis }, options.mix, context, fn)
    } finally {
      await node.stop()
    }
  } finally {
    await redis?.stop()
  }
}

/** The call generators, every party of `callDirectory(devices, mix)` logged in to a running node, for as long as fn runs. */
export async function withGenerators<T> (running: Omit<Rig, 'generators'>, mix: CallMix, context: WorkloadContext, fn: (rig: Rig) => Promise<T>): Promise<T> {
  const generators = Array.from({ length: GENERATORS }, () => new Generator('calls'))
  try {
    generators.forEach((g, i) => g.send({
      type: 'calls-connect',
      spec: {
        mqttPort: running.node.port,
        httpPort: running.node.httpPort,
        devices: Array.from({ length: context.options.devices }, (_, d) => d).filter((d) => d % GENERATORS === i),
        mix
      }
    }))
    await Promise.all(generators.map((g) => g.next('ready', 120_000)))
    const result = await fn({ ...running, generators })
    for (const g of generators) g.send({ type: 'close' })
    await Promise.all(generators.map((g) => g.next('closed', 10_000)))
    return result
  } finally {
    await Promise.all(generators.map((g) => g.stop()))
  }
}

const mixName = (mix: CallMix): string => (mix === 'plain' ? 'every household rings in parallel' : `one household in ${SEQUENTIAL_EVERY} rings sequentially`)

async function measureStore (store: StoreName, mix: CallMix, context: WorkloadContext): Promise<StoreRun> {
  const missing = store === 'redis' ? redisMissing() : null
  const run: StoreRun = { store, mix, label: store === 'memory' ? 'memory store' : 'Redis store', missing, rates: [], cycles: [], profile: [] }
  if (missing !== null) {
    context.log(`calls: skipping the Redis store: ${missing}`)
    return run
  }
  const quick = context.options.quick
  const ms = quick ? STEP_MS.quick : STEP_MS.full
  const profileDir = context.profileDir === undefined ? undefined : path.join(context.profileDir, `${store}-${mix}`)
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true })
  await withRig({ store, mix, profileDir }, context, async (rig) => {
    if (rig.redis !== null) run.label = `Redis store (${rig.redis.label})`
    run.label += `, ${mix} mix`
    for (const transport of TRANSPORTS) {
      for (const rate of quick ? RATES.quick : RATES.full) {
        let f: Figures | undefined
        // A step over the bound runs once more after a pause: on a shared machine one burst of outside work should not end the search.
        for (let attempt = 1; attempt <= 2 && (f === undefined || overBound(f)); attempt++) {
          if (f !== undefined) await sleep(SETTLE_MS)
          context.log(`calls: ${run.label}, started over ${transportName(transport)}, ${rate} calls/s${attempt > 1 ? ', again' : ''}`)
          f = await measure(rig, { transport, mode: 'rate', rate, concurrency: 0, ...ms })
          run.rates.push(f)
        }
        if (f === undefined || overBound(f)) break
      }
      await sleep(SETTLE_MS)
    }
    for (const transport of TRANSPORTS) {
      const concurrency = Math.min(CYCLING_DEVICES, context.options.devices)
      context.log(`calls: ${run.label}, full cycles started over ${transportName(transport)}, ${concurrency} devices`)
      run.cycles.push(await measure(rig, { transport, mode: 'cycles', rate: 0, concurrency, ...ms }))
    }
  })
  if (profileDir !== undefined) run.profile = summariseProfiles(profileDir, `calls, ${run.label}`)
  return run
}

function remarks (f: Figures, again: boolean): string {
  const notes = again ? ['second run of the step'] : []
  notes.push(...Object.entries(f.failures).map(([code, n]) => `**${figure(n)} failed: ${code}**`))
  if (f.skippedBusy > 0) notes.push(`${figure(f.skippedBusy)} busy devices passed over`)
  if (f.stray > 0) notes.push(`${figure(f.stray)} stray messages`)
  return notes.join('; ')
}

const secondRun = (rates: Figures[], i: number): boolean =>
  rates[i - 1]?.step.transport === rates[i]?.step.transport && rates[i - 1]?.step.rate === rates[i]?.step.rate

const pct = (cpuSeconds: number, f: Figures): string => figure(cpuSeconds * 100 / f.seconds)
const perEnded = (cpuSeconds: number, f: Figures): string => figure(f.ended === 0 ? Number.NaN : cpuSeconds * 1e6 / f.ended)

function storeTable (run: StoreRun, context: WorkloadContext): Table {
  const { warmupMs, measureMs } = context.options.quick ? STEP_MS.quick : STEP_MS.full
  const redis = run.store === 'redis'
  return {
    title: `Call set-up: ${run.label}`,
    note: `${context.options.devices} devices, each with a household of ${RESIDENTS_PER_HOUSEHOLD} residents (${mixName(run.mix)}), all logged in over MQTT with their own credentials ` +
      `(QoS 1 subscriptions to their own topics, noDelay), driven by ${GENERATORS === 1 ? 'one generator process' : `${GENERATORS} generator processes`}. Open loop: calls started at a fixed rate ` +
      '(1 ms pacer with catch-up), over `POST /api/mqtt/call` (keep-alive sockets) or `calls/request/D`, devices taken round-robin and passed over while their last call is still up; ' +
      'once the 4th invite is in (a sequential household: the first resident\'s, as only the first rings before then), the device cancels over MQTT and its call ends at its `cancelled`. ' +
      `Latency: request sent → last resident's invite received, every call started in the ${measureMs / 1000} s window after ${warmupMs / 1000} s warm-up. ` +
      `A step with p99 > ${P99_BOUND_MS} ms or a failed call runs once more after a ${SETTLE_MS / 1000} s pause; the stepping stops when it fails again. CPU from /proc over the window; µs / call = CPU ÷ calls ended in the window.`,
    columns: ['started over', 'offered calls/s', 'started calls/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'node CPU %', 'node CPU µs / call',
      ...(redis ? ['Redis CPU %'] : []), 'generator CPU %', 'remarks'],
    rows: run.rates.map((f, i) => [
      transportName(f.step.transport), figure(f.step.rate), figure(f.started / f.seconds),
      figure(f.latency.p50), figure(f.latency.p95), f.latency.p99 > P99_BOUND_MS ? `**${figure(f.latency.p99)}**` : figure(f.latency.p99), figure(f.latency.max),
      pct(f.nodeCpu, f), perEnded(f.nodeCpu, f), ...(redis ? [pct(f.redisCpu ?? Number.NaN, f)] : []), pct(f.generatorCpu, f), remarks(f, secondRun(run.rates, i))
    ])
  }
}

function cyclesTable (runs: StoreRun[], context: WorkloadContext): Table {
  const { warmupMs, measureMs } = context.options.quick ? STEP_MS.quick : STEP_MS.full
  return {
    title: 'Full call cycles (closed loop)',
    note: 'Each cycling device calls; once its 4 invites are in (a sequential household: resident 0\'s, the first rung), resident 0 answers; at its `answered` the device hangs up; the cycle ends when the device (`hangup`), ' +
      'the answerer (`hangup`) and the others rung (`cancelled`, answered elsewhere) all got their end message, and the device calls again at once. ' +
      `Cycles ended in the ${measureMs / 1000} s window after ${warmupMs / 1000} s warm-up; cycle time is request → last end message. Actions after the start go over MQTT.`,
    columns: ['store', 'started over', 'devices cycling', 'cycles/s', 'cycle p50 ms', 'cycle p99 ms', 'node CPU %', 'node CPU µs / cycle', 'Redis CPU %', 'generator CPU %', 'remarks'],
    rows: runs.flatMap((run) => run.cycles.map((f) => [
      run.label, transportName(f.step.transport), figure(f.step.concurrency), figure(f.ended / f.seconds), figure(f.latency.p50), figure(f.latency.p99),
      pct(f.nodeCpu, f), perEnded(f.nodeCpu, f), f.redisCpu === null ? '' : pct(f.redisCpu, f), pct(f.generatorCpu, f), remarks(f, false)
    ]))
  }
}

function targets (runs: StoreRun[]): TargetCheck[] {
  return runs.flatMap((run) => TRANSPORTS.flatMap((transport): TargetCheck[] => {
    const over = `${run.store === 'memory' ? 'memory' : 'Redis'} store, ${run.mix} mix, started over ${transportName(transport)}`
    const all = run.rates.filter((f) => f.step.transport === transport)
    // The last run of a rate decides it: a step over the bound ran a second time.
    const steps = all.filter((f, i) => all[i + 1]?.step.rate !== f.step.rate)
    const at100 = steps.find((f) => f.step.rate === 100)
    const wanted = TARGET.rate[run.store]
    const passed = steps.filter((f) => !overBound(f)).at(-1)
    const stop = steps.find(overBound)
    const why = (f: Figures): string => `p99 ${figure(f.latency.p99)} ms${failureCount(f) > 0 ? `, ${figure(failureCount(f))} failed` : ''}`
    let measured: string
    if (steps.length === 0) measured = `not measured${run.missing === null ? '' : `: ${run.missing}`}`
    else if (passed === undefined) measured = `no step (first step ${figure(steps[0]?.step.rate ?? Number.NaN)}/s: ${why(steps[0] as Figures)})`
    else measured = `${figure(passed.step.rate)} calls/s (p99 ${figure(passed.latency.p99)} ms)` + (stop === undefined ? '; highest step tried' : `; at ${figure(stop.step.rate)}/s: ${why(stop)}`)
    return [{
      target: `p99 ≤ ${TARGET.p99At100Ms} ms at 100 calls/s (${over})`,
      measured: at100 === undefined ? 'not measured' : `p99 ${figure(at100.latency.p99)} ms${failureCount(at100) > 0 ? `, ${figure(failureCount(at100))} failed` : ''}`,
      met: at100 === undefined ? null : at100.latency.p99 <= TARGET.p99At100Ms && failureCount(at100) === 0
    }, {
      target: `highest rate with p99 ≤ ${P99_BOUND_MS} ms ≥ ${figure(wanted)} calls/s (${over})`,
      measured,
      met: steps.length === 0 ? null : (passed?.step.rate ?? 0) >= wanted
    }]
  }))
}

export const callsWorkload: Workload = {
  name: 'calls',
  summary: 'call set-up through the real node (call logic, credentials, store, fan-out), memory and Redis stores',
  async run (context) {
    const runs: StoreRun[] = []
    for (const store of ['memory', 'redis'] as const) {
      for (const mix of context.options.mixes) runs.push(await measureStore(store, mix, context))
    }
    const tables: Table[] = []
    for (const run of runs) {
      if (run.missing === null) tables.push(storeTable(run, context))
    }
    tables.push(cyclesTable(runs.filter((r) => r.missing === null), context))
    for (const run of runs) tables.push(...run.profile)
    return { tables, targets: targets(runs) }
  }
}
