import { BENCH_IDENTITY } from '../brokers/broker'
import { startNode, type RunningNode } from '../brokers/embedded'
import { callDirectory } from '../generators/call-directory'
import type { CallsResult } from '../generators/protocol'
import { Generator } from '../generators/runner-side'
import { loadAverage } from '../report/machine'
import { percentiles, ratio } from '../report/stats'
import { figure, times, type Table } from '../report/table'
import { cpuSeconds } from '../system/proc'
import { sleep } from '../system/processes'
import type { TargetCheck, Workload, WorkloadContext } from './workload'

const DEVICES = 100
const CALL_RATE = 100
const FLOOD = { rate: 5000, payloadBytes: 512, topic: `${BENCH_IDENTITY.topicRoot}/flood` }
const STEP = { quick: { warmupMs: 1000, measureMs: 3000, rounds: 1 }, full: { warmupMs: 2000, measureMs: 5000, rounds: 2 } }
const GOAL_RATIO = 2
/** After the calls, a stalled QoS 1 subscriber's flood goes on until the node cuts it off, or this long: loopback buffers take tens of MB first. */
const CUT_OFF_WAIT_MS = { quick: 20_000, full: 40_000 }

interface Case { qos: 0 | 1, stalled: boolean }

interface Measured extends Case {
  round: number
  load: string
  calls: CallsResult
  nodeCpuPercent: number
  published: number
  /** Ms from the flood's start to the node's first "dropping QoS 0" and "disconnected" log lines about the stalled client. */
  droppingAfterMs: number | null
  cutOffAfterMs: number | null
}

const CASES: readonly Case[] = [{ qos: 0, stalled: false }, { qos: 0, stalled: true }, { qos: 1, stalled: false }, { qos: 1, stalled: true }]

function directory (): string {
  const dir = JSON.parse(callDirectory(DEVICES)) as Record<string, unknown>
  dir.clients = [{
    name: BENCH_IDENTITY.username.replace(/^client\//, ''),
    secret: BENCH_IDENTITY.password,
    publish: [`${BENCH_IDENTITY.topicRoot}/#`],
    subscribe: [`${BENCH_IDENTITY.topicRoot}/#`]
  }]
  return JSON.stringify(dir)
}

/** The node's log lines about slow clients, with the time they were seen. */
class SlowClientLog {
  readonly dropping: number[] = []
  readonly disconnected: number[] = []
  see (line: string): void {
    if (line.includes('slow MQTT client disconnected')) this.disconnected.push(Date.now())
    else if (line.includes('slow MQTT client: dropping')) this.dropping.push(Date.now())
  }

  firstAfter (list: number[], since: number): number | null {
    const at = list.find((t) => t >= since)
    return at === undefined ? null : at - since
  }
}

async function measureCase (context: WorkloadContext, node: RunningNode, callers: Generator, log: SlowClientLog, c: Case, round: number): Promise<Measured> {
  const { warmupMs, measureMs } = context.options.quick ? STEP.quick : STEP.full
  const flood = new Generator('stalled')
  try {
    const load = loadAverage()
    const since = Date.now()
    flood.send({ type: 'flood-start', spec: { port: node.port, username: BENCH_IDENTITY.username, password: BENCH_IDENTITY.password, qos: c.qos, stalled: c.stalled, ...FLOOD } })
    await flood.next('ready', 30_000)
    callers.send({ type: 'calls-step', step: { transport: 'mqtt', mode: 'rate', rate: CALL_RATE, concurrency: 0, warmupMs, measureMs } })
    await callers.next('window-start', warmupMs + 30_000)
    const cpuBefore = cpuSeconds(node.pid)
    const t0 = Date.now()
    await callers.next('window-end', measureMs + 30_000)
    const nodeCpuPercent = (cpuSeconds(node.pid) - cpuBefore) * 100_000 / (Date.now() - t0)
    const calls = (await callers.next('calls-result', 60_000)).result
    if (c.stalled && c.qos === 1) {
      const deadline = Date.now() + CUT_OFF_WAIT_MS[context.options.quick ? 'quick' : 'full']
      while (log.firstAfter(log.disconnected, since) === null && Date.now() < deadline) await sleep(250)
    }
    flood.send({ type: 'close' })
    const { published } = await flood.next('flood-result', 10_000)
    await flood.next('closed', 10_000)
    return {
      ...c,
      round,
      load,
      calls,
      nodeCpuPercent,
      published,
      droppingAfterMs: c.stalled ? log.firstAfter(log.dropping, since) : null,
      cutOffAfterMs: c.stalled ? log.firstAfter(log.disconnected, since) : null
    }
  } finally {
    await flood.stop()
  }
}

const label = (c: Case): string => `QoS ${c.qos} flood, stalled subscriber ${c.stalled ? 'present' : 'absent'}`
const failed = (m: Measured): number => Object.values(m.calls.failures).reduce((a, b) => a + b, 0)
const p99Of = (list: Measured[]): number => percentiles(Float64Array.from(list.flatMap((m) => m.calls.samples))).p99

function tables (measured: Measured[], context: WorkloadContext): Table[] {
  const { warmupMs, measureMs } = context.options.quick ? STEP.quick : STEP.full
  const rows = measured.map((m) => {
    const lat = percentiles(Float64Array.from(m.calls.samples))
    const after = (ms: number | null): string => (ms === null ? 'no' : `after ${figure(ms / 1000)} s`)
    return [label(m), String(m.round), m.load, figure(m.published), figure(m.calls.started), figure(lat.p50), figure(lat.p99), figure(lat.max), String(failed(m)),
      figure(m.nodeCpuPercent), m.stalled ? after(m.droppingAfterMs) : '', m.stalled ? after(m.cutOffAfterMs) : '']
  })
  const ratios = ([0, 1] as const).map((qos) => {
    const of = (stalled: boolean): Measured[] => measured.filter((m) => m.qos === qos && m.stalled === stalled)
    const r = ratio(p99Of(of(true)), p99Of(of(false)))
    return [`QoS ${qos}: present ÷ absent (all rounds pooled)`, '', '', '', '', figure(ratio(percentiles(Float64Array.from(of(true).flatMap((m) => m.calls.samples))).p50, percentiles(Float64Array.from(of(false).flatMap((m) => m.calls.samples))).p50)) + '×', `**${times(r)}**`, '', '', '', '', '']
  })
  return [{
    title: 'Invite latency with a stalled subscriber (memory store)',
    note: `${DEVICES} devices with 4 residents each start ${CALL_RATE} calls/s over MQTT (set-up = request → 4th invite, ${measureMs / 1000} s window after ${warmupMs / 1000} s warm-up) while a publisher floods ` +
      `\`${FLOOD.topic}\` with ${figure(FLOOD.rate)} msg/s of ${FLOOD.payloadBytes} B. "Present": an integration client subscribed to it (same QoS) signs in and then never reads its socket again; ` +
      '"absent": the same flood with no subscriber. Cases interleaved, a fresh flood process each; "dropping" and "cut off" are the node\'s own log lines about the stalled client, timed from the flood\'s start ' +
      `(a stalled QoS 1 subscriber's flood goes on after the calls until it is cut off, at most ${CUT_OFF_WAIT_MS[context.options.quick ? 'quick' : 'full'] / 1000} s). ` +
      'Node limits as shipped (MQTT_CLIENT_QUEUE_BYTES, MQTT_CLIENT_QUEUE_MESSAGES defaults).',
    columns: ['case', 'round', 'load average', 'flood msgs', 'calls', 'p50 ms', 'p99 ms', 'max ms', 'failed calls', 'node CPU %', 'its QoS 0 dropped', 'cut off'],
    rows: [...rows, ...ratios]
  }]
}

function targets (measured: Measured[]): TargetCheck[] {
  return ([0, 1] as const).map((qos) => {
    const of = (stalled: boolean): Measured[] => measured.filter((m) => m.qos === qos && m.stalled === stalled)
    const r = ratio(p99Of(of(true)), p99Of(of(false)))
    const lost = of(true).reduce((a, m) => a + failed(m), 0)
    return {
      target: `invite p99 with a stalled QoS ${qos} subscriber ≤ ${GOAL_RATIO}× without`,
      measured: `${times(r)} (p99 ${figure(p99Of(of(true)))} vs ${figure(p99Of(of(false)))} ms${lost > 0 ? `, ${lost} failed calls` : ''})`,
      met: Number.isFinite(r) ? r <= GOAL_RATIO && lost === 0 : null
    }
  })
}

export const stalledWorkload: Workload = {
  name: 'stalled',
  summary: 'call invites while a subscriber has stopped reading a flood (one slow consumer must cost only itself)',
  async run (context) {
    const log = new SlowClientLog()
    const node = await startNode({ directory: directory(), env: { RATE_LIMIT_PER_SECOND: '100000' }, onLine: (line) => log.see(line) })
    const callers = new Generator('calls')
    const measured: Measured[] = []
    try {
      callers.send({ type: 'calls-connect', spec: { mqttPort: node.port, httpPort: node.httpPort, devices: Array.from({ length: DEVICES }, (_, d) => d) } })
      await callers.next('ready', 120_000)
      // A fresh node is slow until compiled: the first case would pay for it.
      context.log('stalled: warming the node up with calls, no flood')
      callers.send({ type: 'calls-step', step: { transport: 'mqtt', mode: 'rate', rate: CALL_RATE, concurrency: 0, warmupMs: 0, measureMs: 2000 } })
      for (const mark of ['window-start', 'window-end'] as const) await callers.next(mark, 30_000)
      await callers.next('calls-result', 60_000)
      const rounds = context.options.quick ? STEP.quick.rounds : STEP.full.rounds
      for (let round = 1; round <= rounds; round++) {
        for (const c of CASES) {
          context.log(`stalled: ${label(c)}, round ${round}/${rounds}`)
          measured.push(await measureCase(context, node, callers, log, c, round))
        }
      }
      callers.send({ type: 'close' })
      await callers.next('closed', 10_000)
    } finally {
      await callers.stop()
      await node.stop()
    }
    return { tables: tables(measured, context), targets: targets(measured) }
  }
}
