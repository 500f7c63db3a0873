import { createECDH, randomBytes } from 'node:crypto'
import path from 'node:path'
import { pushService, webhookReceiver, type Receiver } from '../brokers/endpoints'
import { startNode, type RunningNode } from '../brokers/embedded'
import { benchDevice, callDirectory } from '../generators/call-directory'
import type { CallsResult, CallStep } from '../generators/protocol'
import { Generator } from '../generators/runner-side'
import { loadAverage } from '../report/machine'
import { percentiles, ratio } from '../report/stats'
import { figure, times, type Table } from '../report/table'
import { cpuSeconds } from '../system/proc'
import type { TargetCheck, Workload, WorkloadContext } from './workload'

const DEVICES = 100
const SUBSCRIPTIONS_PER_RESIDENT = 2
const SERVICE = { name: 'bench-hooks', token: 'bench-hooks-token-0123456789abcdef' }
const STEP = { quick: { warmupMs: 1000, measureMs: 3000, rounds: 1 }, full: { warmupMs: 1000, measureMs: 5000, rounds: 2 } }
const FANOUT_RATES = { quick: [100, 300], full: [100, 200, 400] }
const WEBHOOK_RATES = { quick: [200], full: [200, 500] }
const GOAL_RATIO = 1.2
/** A receiver that got nothing new for this long has been sent all there was. */
const QUIET_MS = 2000

interface Side {
  name: string
  node: RunningNode
  callers: Generator
}

interface Step {
  side: string
  rate: number
  round: number
  load: string
  calls: CallsResult
  nodeCpuPercent: number
  /** Requests a receiver got during the window, and in all once it fell quiet after it. */
  inWindow: number
  total: number
  /** Seconds after the window's end until the receiver fell quiet (its backlog drained). */
  drainSeconds: number
}

function directory (): string {
  const dir = JSON.parse(callDirectory(DEVICES)) as Record<string, unknown>
  dir.services = [SERVICE]
  return JSON.stringify(dir)
}

/** What a browser's PushManager.subscribe() would hand the app: an endpoint and the keys to encrypt to. */
function browserKeys (): { p256dh: string, auth: string } {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') }
}

async function api (node: RunningNode, method: string, route: string, authorization: string, body: unknown): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${node.httpPort}${route}`, {
    method, headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${text}`)
  return JSON.parse(text)
}

/** Every resident of the node's directory registers SUBSCRIPTIONS_PER_RESIDENT Web Push subscriptions at the stand-in. */
async function registerPushes (node: RunningNode, push: Receiver): Promise<number> {
  const jobs = Array.from({ length: DEVICES }, (_, i) => benchDevice(i).residents).flat()
  let registered = 0
  const lane = async (): Promise<void> => {
    for (let r = jobs.shift(); r !== undefined; r = jobs.shift()) {
      for (let n = 0; n < SUBSCRIPTIONS_PER_RESIDENT; n++) {
        await api(node, 'POST', '/api/push/subscriptions', `Basic ${Buffer.from(`resident/${r.id}:${r.secret}`).toString('base64')}`,
          { kind: 'webpush', endpoint: `${push.origin}/push/${r.id}/${n}`, keys: browserKeys() })
        registered++
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, lane))
  return registered
}

async function step (context: WorkloadContext, side: Side, rate: number, round: number, receiver: Receiver | null): Promise<Step> {
  const { warmupMs, measureMs } = context.options.quick ? STEP.quick : STEP.full
  const load = loadAverage()
  const calls: CallStep = { transport: 'mqtt', mode: 'rate', rate, concurrency: 0, warmupMs, measureMs }
  // Counted from the step's start: the warm-up's calls push too, and are in "total".
  const before = receiver?.received() ?? 0
  side.callers.send({ type: 'calls-step', step: calls })
  await side.callers.next('window-start', warmupMs + 30_000)
  const cpu = cpuSeconds(side.node.pid)
  const atWindow = receiver?.received() ?? 0
  const t0 = Date.now()
  await side.callers.next('window-end', measureMs + 30_000)
  const t1 = Date.now()
  const nodeCpuPercent = (cpuSeconds(side.node.pid) - cpu) * 100_000 / (t1 - t0)
  const inWindow = (receiver?.received() ?? 0) - atWindow
  const result = (await side.callers.next('calls-result', 60_000)).result
  const total = receiver === null ? 0 : await receiver.quiet(QUIET_MS, 60_000) - before
  const drainSeconds = receiver === null ? 0 : Math.max(0, (Date.now() - QUIET_MS - t1) / 1000)
  return { side: side.name, rate, round, load, calls: result, nodeCpuPercent, inWindow, total, drainSeconds }
}

const p99 = (steps: Step[]): number => percentiles(Float64Array.from(steps.flatMap((s) => s.calls.samples))).p99
const failed = (s: Step): number => Object.values(s.calls.failures).reduce((a, b) => a + b, 0)

function tables (setUp: Step[], fanout: Step[], hooks: Step[], subscriptions: number, context: WorkloadContext): Table[] {
  const { warmupMs, measureMs } = context.options.quick ? STEP.quick : STEP.full
  const seconds = measureMs / 1000
  const on = setUp.filter((s) => s.side === 'pushes on')
  const off = setUp.filter((s) => s.side === 'pushes off')
  const latencyRow = (s: Step): string[] => {
    const lat = percentiles(Float64Array.from(s.calls.samples))
    return [s.side, String(s.round), s.load, figure(s.calls.started), figure(lat.p50), figure(lat.p99), figure(lat.max), String(failed(s)), figure(s.nodeCpuPercent), s.side === 'pushes on' ? figure(s.total) : '']
  }
  const r = ratio(p99(on), p99(off))
  // The warm-up's calls are in the total: per call and per second it is spread over warm-up and window alike.
  const span = (warmupMs + measureMs) / 1000
  const throughputRow = (s: Step): string[] => {
    const started = s.calls.started / seconds
    return [figure(s.rate), s.load, figure(started), figure(s.total / (started * span)), figure(s.inWindow / seconds), figure(s.total / span), figure(s.drainSeconds), figure(s.nodeCpuPercent), String(failed(s))]
  }
  return [{
    title: 'Call set-up with every resident offline: Web Push on vs off',
    note: `Two memory-store nodes side by side, ${DEVICES} devices each ringing 4 residents who are all offline; on one node every resident has ${SUBSCRIPTIONS_PER_RESIDENT} Web Push subscriptions ` +
      `(${figure(subscriptions)} in all) at a local HTTPS stand-in push service answering 201 at once; on the other none. 100 calls/s over MQTT, set-up = request → the device's \`ringing\`, ` +
      `then the device cancels (one \`call.cancelled\` push per subscription that got the invite). ${seconds} s window after ${warmupMs / 1000} s warm-up, sides interleaved.`,
    columns: ['side', 'round', 'load average', 'calls', 'p50 ms', 'p99 ms', 'max ms', 'failed calls', 'node CPU %', 'pushes received'],
    rows: [...setUp.map(latencyRow), ['**on ÷ off (pooled)**', '', '', '', '', `**${times(r)}**`, '', '', '', '']]
  }, {
    title: 'Push fan-out: what the push queue keeps up with',
    note: `The "pushes on" node at rising call rates; each call invites 4 offline residents with ${SUBSCRIPTIONS_PER_RESIDENT} subscriptions each, then is cancelled. ` +
      'Received/s in window = pushes the stand-in got during the window; total/s = all pushes caused by the step\'s calls (warm-up and window), once the stand-in fell quiet, over warm-up + window; drain = seconds after the window until then. ' +
      'The queue keeps up while received/s in the window is close to total/s and the drain stays near 0.',
    columns: ['calls/s offered', 'load average', 'calls/s started', 'pushes per call', 'pushes/s received in window', 'pushes/s total', 'drain s', 'node CPU %', 'failed calls'],
    rows: fanout.map(throughputRow)
  }, {
    title: 'Webhook deliveries',
    note: 'The "pushes off" node with one webhook (events `call.ringing` and `call.ended`) to a local HTTP receiver answering 200 at once, at rising call rates; columns as above, per delivery.',
    columns: ['calls/s offered', 'load average', 'calls/s started', 'deliveries per call', 'deliveries/s received in window', 'deliveries/s total', 'drain s', 'node CPU %', 'failed calls'],
    rows: hooks.map(throughputRow)
  }]
}

/** `profileDir`: where the node writes its V8 CPU profile (`--profile`). */
async function startSide (name: string, push: Receiver, context: WorkloadContext, profileDir?: string): Promise<Side> {
  const node = await startNode({
    directory: directory(),
    ...(profileDir === undefined ? {} : { profileDir }),
    ...(context.options.nodeBin === undefined ? {} : { bin: path.resolve(context.options.nodeBin) }),
    // The push stand-in and the webhook receiver listen on loopback, which the outbound guard refuses by default.
    env: { RATE_LIMIT_PER_SECOND: '100000', NODE_EXTRA_CA_CERTS: push.certPath as string, OUTBOUND_ALLOW_NETWORKS: '127.0.0.1/32' }
  })
  const callers = new Generator('calls')
  callers.send({ type: 'calls-connect', spec: { mqttPort: node.port, httpPort: node.httpPort, devices: Array.from({ length: DEVICES }, (_, d) => d), residentsOffline: true } })
  await callers.next('ready', 120_000)
  return { name, node, callers }
}

async function stopSide (side: Side | undefined): Promise<void> {
  if (side === undefined) return
  side.callers.send({ type: 'close' })
  await side.callers.stop()
  await side.node.stop()
}

export const pushWorkload: Workload = {
  name: 'push',
  summary: 'call set-up with offline residents reached by Web Push, push fan-out and webhook delivery rates',
  async run (context) {
    const quick = context.options.quick
    const push = await pushService()
    const hooks = await webhookReceiver()
    const sides: Side[] = []
    try {
      sides.push(await startSide('pushes off', push, context))
      // Profiled (--profile): the node that pushes, where call set-up and pushes share the event loop.
      sides.push(await startSide('pushes on', push, context, context.profileDir))
      const [off, on] = sides as [Side, Side]
      context.log('push: registering Web Push subscriptions')
      const subscriptions = await registerPushes(on.node, push)
      const setUp: Step[] = []
      const rounds = quick ? STEP.quick.rounds : STEP.full.rounds
      for (let round = 1; round <= rounds; round++) {
        for (const side of [off, on]) {
          context.log(`push: set-up at 100 calls/s, ${side.name}, round ${round}/${rounds}`)
          setUp.push(await step(context, side, 100, round, side === on ? push : null))
        }
      }
      const fanout: Step[] = []
      for (const rate of quick ? FANOUT_RATES.quick : FANOUT_RATES.full) {
        context.log(`push: fan-out at ${rate} calls/s`)
        fanout.push(await step(context, on, rate, 1, push))
      }
      await api(off.node, 'POST', '/api/webhooks', `Bearer ${SERVICE.token}`, { url: `${hooks.origin}/hook`, events: ['call.ringing', 'call.ended'] })
      const delivered: Step[] = []
      for (const rate of quick ? WEBHOOK_RATES.quick : WEBHOOK_RATES.full) {
        context.log(`push: webhook deliveries at ${rate} calls/s`)
        delivered.push(await step(context, off, rate, 1, hooks))
      }
      const on100 = setUp.filter((s) => s.side === 'pushes on')
      const off100 = setUp.filter((s) => s.side === 'pushes off')
      const r = ratio(p99(on100), p99(off100))
      const targets: TargetCheck[] = [{
        target: `call set-up p99 at 100 calls/s, every resident offline with ${SUBSCRIPTIONS_PER_RESIDENT} Web Push subscriptions, ≤ ${GOAL_RATIO}× pushes off`,
        measured: `${times(r)} (p99 ${figure(p99(on100))} vs ${figure(p99(off100))} ms)`,
        met: Number.isFinite(r) ? r <= GOAL_RATIO && [...on100, ...off100].every((s) => failed(s) === 0) : null
      }]
      return { tables: tables(setUp, fanout, delivered, subscriptions, context), targets }
    } finally {
      for (const side of sides) await stopSide(side)
      await push.close()
      await hooks.close()
    }
  }
}
