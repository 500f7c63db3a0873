import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { startNode } from '../brokers/embedded'
import type { CallStep } from '../generators/protocol'
import { loadAverage } from '../report/machine'
import { summariseProfiles } from '../report/profile'
import { median, ratio } from '../report/stats'
import { figure, times, type Table } from '../report/table'
import { failureCount, measure, withRig, type Figures as CallFigures, type Rig } from './calls'
import { caseName, measureAll, type Case, type Row } from './raw'
import type { Side, TargetCheck, Workload, WorkloadContext } from './workload'

/** The bound: with metrics and info logging on, within 5 % of both off. */
const TARGET_RATIO = 1.05
const RAW_CASES: readonly Case[] = [{ qos: 1, subscribers: 1 }, { qos: 0, subscribers: 10 }]
const CALL_STEPS: ReadonlyArray<Pick<CallStep, 'transport' | 'rate'>> = [
  { transport: 'mqtt', rate: 100 },
  { transport: 'http', rate: 100 },
  { transport: 'mqtt', rate: 500 }
]
const STEP_MS = { quick: { warmupMs: 500, measureMs: 2000 }, full: { warmupMs: 1000, measureMs: 3000 } }
const ROUNDS = { quick: 2, full: 3 }

type Setting = 'on' | 'off'
const SETTINGS: readonly Setting[] = ['on', 'off']

/** With --profile, each setting's nodes write their CPU profiles to a directory of its own, summarised apart. */
function profileDirOf (context: WorkloadContext, setting: Setting): { profileDir?: string } {
  if (context.profileDir === undefined) return {}
  const profileDir = path.join(context.profileDir, setting)
  mkdirSync(profileDir, { recursive: true })
  return { profileDir }
}

/** Raw publish → subscribe on two nodes side by side, one with metrics and info logs, one without; rounds interleaved by measureAll. */
async function raw (context: WorkloadContext): Promise<{ throughput: Row[], latency: Row[] }> {
  const on = await startNode(profileDirOf(context, 'on'))
  try {
    const off = await startNode({ quiet: true, ...profileDirOf(context, 'off') })
    try {
      const sides: Side[] = [{ kind: 'embedded', broker: on }, { kind: 'embedded', broker: off }]
      const throughput = await measureAll(sides, 'throughput', context, RAW_CASES)
      const latency = await measureAll(sides, 'rate', context, RAW_CASES)
      return { throughput, latency }
    } finally {
      await off.stop()
    }
  } finally {
    await on.stop()
  }
}

interface CallRun { setting: Setting, step: Pick<CallStep, 'transport' | 'rate'>, f: CallFigures }

/** Call set-up (memory store, plain mix) on two rigs side by side; each step alternates which rig goes first. */
async function calls (context: WorkloadContext): Promise<CallRun[]> {
  const ms = context.options.quick ? STEP_MS.quick : STEP_MS.full
  const rounds = context.options.quick ? ROUNDS.quick : ROUNDS.full
  const runs: CallRun[] = []
  await withRig({ store: 'memory', mix: 'plain', ...profileDirOf(context, 'on') }, context, async (onRig) => {
    await withRig({ store: 'memory', mix: 'plain', quiet: true, ...profileDirOf(context, 'off') }, context, async (offRig) => {
      const rigs: Record<Setting, Rig> = { on: onRig, off: offRig }
      for (const step of CALL_STEPS) {
        for (let round = 0; round < rounds; round++) {
          for (const setting of round % 2 === 0 ? SETTINGS : [...SETTINGS].reverse()) {
            context.log(`observability: calls over ${step.transport} at ${step.rate}/s, metrics and logs ${setting}, round ${round + 1} of ${rounds}`)
            runs.push({ setting, step, f: await measure(rigs[setting], { ...step, mode: 'rate', concurrency: 0, ...ms }) })
          }
        }
      }
    })
  })
  return runs
}

const stepName = (s: Pick<CallStep, 'transport' | 'rate'>): string => `${s.transport === 'http' ? 'HTTP' : 'MQTT'}, ${s.rate} calls/s`
const cpuPerCall = (f: CallFigures): number => f.nodeCpu * 1e6 / Math.max(1, f.ended)

async function run (context: WorkloadContext): Promise<{ tables: Table[], targets: TargetCheck[] }> {
  const loadBefore = loadAverage()
  const r = await raw(context)
  const c = await calls(context)
  const loadAfter = loadAverage()
  const targets: TargetCheck[] = []
  const rawRows: string[][] = []
  for (const rc of RAW_CASES) {
    const pick = (rows: Row[], setting: Setting): Row | undefined => rows.find((row) => row.c === rc && row.label.includes('logs off') === (setting === 'off'))
    const cells = (setting: Setting): number[] => {
      const t = pick(r.throughput, setting)?.f
      const l = pick(r.latency, setting)?.f
      return [t?.delivered ?? Number.NaN, t?.cpuPerMessage ?? Number.NaN, l?.p99 ?? Number.NaN, l?.cpuPerMessage ?? Number.NaN]
    }
    const on = cells('on')
    const off = cells('off')
    rawRows.push([caseName(rc), 'on', ...on.map(figure)], [caseName(rc), 'off', ...off.map(figure)],
      [caseName(rc), '**on ÷ off**', ...on.map((v, i) => `**${times(ratio(v, off[i]))}**`)])
    targets.push({
      target: `raw ${caseName(rc)} with metrics and info logs on: throughput and CPU per message within ${Math.round((TARGET_RATIO - 1) * 100)} % of off`,
      measured: `throughput ${times(ratio(on[0], off[0]))}, CPU / msg ${times(ratio(on[1], off[1]))} (max throughput), ${times(ratio(on[3], off[3]))} (1,000 msg/s); p99 ${times(ratio(on[2], off[2]))}`,
      met: ratio(on[0], off[0]) >= 1 / TARGET_RATIO && ratio(on[1], off[1]) <= TARGET_RATIO && ratio(on[3], off[3]) <= TARGET_RATIO
    })
  }
  const callRows: string[][] = []
  for (const step of CALL_STEPS) {
    const of = (setting: Setting): CallRun[] => c.filter((x) => x.step === step && x.setting === setting)
    const med = (setting: Setting, f: (x: CallFigures) => number): number => median(of(setting).map((x) => f(x.f)))
    const cols = (setting: Setting): number[] => [med(setting, (f) => f.latency.p50), med(setting, (f) => f.latency.p99), med(setting, cpuPerCall)]
    const failed = (setting: Setting): number => of(setting).reduce((n, x) => n + failureCount(x.f), 0)
    const on = cols('on')
    const off = cols('off')
    callRows.push([stepName(step), 'on', ...on.map(figure), figure(failed('on'))], [stepName(step), 'off', ...off.map(figure), figure(failed('off'))],
      [stepName(step), '**on ÷ off**', ...on.map((v, i) => `**${times(ratio(v, off[i]))}**`), ''])
    targets.push({
      target: `call set-up ${stepName(step)} with metrics and info logs on: p99 and node CPU per call within ${Math.round((TARGET_RATIO - 1) * 100)} % of off`,
      measured: `p99 ${times(ratio(on[1], off[1]))} (${figure(on[1] as number)} vs ${figure(off[1] as number)} ms), CPU / call ${times(ratio(on[2], off[2]))}`,
      met: failed('on') + failed('off') === 0 && ratio(on[1], off[1]) <= TARGET_RATIO && ratio(on[2], off[2]) <= TARGET_RATIO
    })
  }
  const rounds = context.options.quick ? ROUNDS.quick : ROUNDS.full
  const tables: Table[] = [{
    title: 'Metrics and info logging on vs off: raw broker',
    note: 'Two nodes side by side, each alone with the bench client: `on` as deployed (metrics counted, `LOG_LEVEL=info`), `off` with `METRICS_ENABLED=false` and `LOG_LEVEL=warn`. ' +
      `Cases as in the raw workload (64 B, window ${context.options.window}; latency at 1,000 msg/s), median of ${context.timing.rounds} interleaved round(s). Load average ${loadBefore} before, ${loadAfter} after.`,
    columns: ['case', 'metrics + info logs', 'delivered msg/s', 'CPU µs / msg (max throughput)', 'p99 ms at 1,000 msg/s', 'CPU µs / msg at 1,000 msg/s'],
    rows: rawRows
  }, {
    title: 'Metrics and info logging on vs off: call set-up',
    note: `Memory store, ${context.options.devices} devices of 4 residents, plain mix, the calls workload's open loop (set-up = request → last invite); two rigs side by side, ` +
      `${rounds} interleaved round(s) per step, medians. CPU = node CPU ÷ calls ended. Load average ${loadBefore} before, ${loadAfter} after.`,
    columns: ['step', 'metrics + info logs', 'p50 ms', 'p99 ms', 'node CPU µs / call', 'failed'],
    rows: callRows
  }]
  if (context.profileDir !== undefined) {
    for (const setting of SETTINGS) tables.push(...summariseProfiles(path.join(context.profileDir, setting), `observability, metrics and info logs ${setting}`))
  }
  return { tables, targets }
}

export const observabilityWorkload: Workload = {
  name: 'observability',
  summary: 'what metrics and info logging cost: raw broker and call set-up, on vs off side by side',
  run
}
