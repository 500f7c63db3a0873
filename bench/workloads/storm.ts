import { randomInt } from 'node:crypto'
import { hashSecret } from '../../lib/directory/secrets'
import { BENCH_IDENTITY } from '../brokers/broker'
import { startNode, type RunningNode } from '../brokers/embedded'
import { redisMissing, startRedis } from '../brokers/redis'
import { callDirectory } from '../generators/call-directory'
import type { CallsResult, StormClientsResult } from '../generators/protocol'
import { Generator } from '../generators/runner-side'
import { percentiles } from '../report/stats'
import { figure, type Table } from '../report/table'
import { loadAverage } from '../report/machine'
import { cpuSeconds, rssBytes } from '../system/proc'
import { sleep } from '../system/processes'
import type { TargetCheck, Workload, WorkloadContext } from './workload'

const PER_GENERATOR = 5000
const CONNECTS_IN_PROGRESS = 96
/** Door devices (4 residents each) making calls through a node that stays up. */
const CALL_DEVICES = 100
const CALL_RATE = 20
const GOAL = { backWithinMs: 10_000, callP99Ms: 100 }
/** Longest wait for every dropped client to be back, per phase. */
const BACK_WITHIN_MS = { quick: 60_000, full: 180_000 }
const SAMPLE_MS = 250
/** Calls are started from the first event on for this long: the storm's 10 s goal, or the whole rolling restart. */
const CALL_WINDOW_MS = { quick: { kill: 10_000, rolling: 20_000 }, full: { kill: 20_000, rolling: 40_000 } }

type Mode = 'kill' | 'rolling'

interface Sample { at: number, cpu: number, rss: number }

interface Phase {
  /** What happened: "SIGKILL node A", "SIGTERM node B"... */
  event: string
  dropped: number
  attempts: number
  /** Ms from the event to each reconnection. */
  back: number[]
  /** Node CPU (% of a core) and peak RSS of the node taking the clients, from the event until the last was back. */
  cpuPercent: number
  rssBeforeMb: number
  rssPeakMb: number
  load: string
}

interface StormRun {
  mode: Mode
  /** Why the run stopped before its end; its phases so far are kept. */
  failure?: string
  clients: number
  hashed: boolean
  phases: Phase[]
  calls: CallsResult | null
  messages: StormClientsResult
  refusals: number
  loadStart: string
}

const MB = 1024 * 1024

/** The directory of the run: the call parties, and the one `client` identity every storm client signs in as. */
async function directory (hashed: boolean): Promise<string> {
  const dir = JSON.parse(callDirectory(CALL_DEVICES)) as Record<string, unknown>
  dir.clients = [{
    name: BENCH_IDENTITY.username.replace(/^client\//, ''),
    secret: hashed ? await hashSecret(BENCH_IDENTITY.password) : BENCH_IDENTITY.password,
    publish: [`${BENCH_IDENTITY.topicRoot}/#`],
    subscribe: [`${BENCH_IDENTITY.topicRoot}/#`]
  }]
  return JSON.stringify(dir)
}

/** CPU and RSS of one process every 250 ms, until stopped. */
function sampler (pid: number): { stop (): Sample[] } {
  const samples: Sample[] = []
  const take = (): void => { try { samples.push({ at: Date.now(), cpu: cpuSeconds(pid), rss: rssBytes(pid) }) } catch { /* the process is gone */ } }
  take()
  const timer = setInterval(take, SAMPLE_MS)
  return { stop: () => { clearInterval(timer); take(); return samples } }
}

async function reports (generators: Generator[], expectedSeqs: number[]): Promise<StormClientsResult[]> {
  for (const g of generators) g.send({ type: 'storm-report', expectedSeqs })
  return Promise.all(generators.map((g) => g.next('storm-result', 30_000).then((m) => m.result)))
}

function merge (results: StormClientsResult[]): StormClientsResult {
  const sum = (key: 'clients' | 'up' | 'dropsAfterMark' | 'attemptsAfterMark' | 'refusals' | 'lost' | 'duplicates' | 'unexpected'): number => results.reduce((a, r) => a + r[key], 0)
  return {
    clients: sum('clients'),
    up: sum('up'),
    dropsAfterMark: sum('dropsAfterMark'),
    attemptsAfterMark: sum('attemptsAfterMark'),
    backAfterMark: results.flatMap((r) => r.backAfterMark),
    refusals: sum('refusals'),
    lost: sum('lost'),
    duplicates: sum('duplicates'),
    unexpected: sum('unexpected')
  }
}

/**
 * Routes dropped clients to `to`, does `act` (kill or stop a node), and waits
 * until every client that dropped is back or the time is up; the node taking
 * the clients is sampled meanwhile.
 */
async function phase (context: WorkloadContext, generators: Generator[], to: RunningNode, event: string, act: () => Promise<void>): Promise<Phase> {
  const markAt = Date.now()
  for (const g of generators) g.send({ type: 'storm-route', port: to.port, markAt })
  await Promise.all(generators.map((g) => g.next('routed', 10_000)))
  const load = loadAverage()
  const watch = sampler(to.pid)
  context.log(`storm: ${event}`)
  await act()
  const deadline = Date.now() + (context.options.quick ? BACK_WITHIN_MS.quick : BACK_WITHIN_MS.full)
  let merged = merge(await reports(generators, []))
  // Wait until the drops have been noticed and every dropped client is back.
  while (Date.now() < deadline && (merged.dropsAfterMark === 0 || merged.up < merged.clients)) {
    await sleep(500)
    merged = merge(await reports(generators, []))
  }
  const samples = watch.stop()
  const first = samples[0] as Sample
  const lastBack = Math.max(0, ...merged.backAfterMark)
  const until = samples.find((s) => s.at - markAt >= lastBack) ?? samples[samples.length - 1] as Sample
  context.log(`storm: ${event}: ${merged.backAfterMark.length} of ${merged.dropsAfterMark} back`)
  return {
    event,
    dropped: merged.dropsAfterMark,
    attempts: merged.attemptsAfterMark,
    back: merged.backAfterMark,
    cpuPercent: until.at > first.at ? (until.cpu - first.cpu) * 100_000 / (until.at - first.at) : Number.NaN,
    rssBeforeMb: first.rss / MB,
    rssPeakMb: Math.max(...samples.map((s) => s.rss)) / MB,
    load
  }
}

async function publish (generators: Generator[], node: RunningNode, clients: number, seq: number): Promise<void> {
  const g = generators[0] as Generator
  g.send({ type: 'storm-publish', port: node.port, indices: Array.from({ length: clients }, (_, i) => i), seq })
  await g.next('published', 120_000)
}

async function runStorm (context: WorkloadContext, mode: Mode, phases: Phase[]): Promise<StormRun> {
  const { quick } = context.options
  const clients = context.options.stormClients
  const hashed = context.options.hashedSecrets
  const loadStart = loadAverage()
  const redis = await startRedis()
  const nodes: RunningNode[] = []
  const generators: Generator[] = []
  let callers: Generator | null = null
  try {
    const dir = await directory(hashed)
    // Each generator's clients share one source address, where real devices have one each: per-address bounds are not what is measured.
    const env = { REDIS_URL: redis.url, RATE_LIMIT_PER_SECOND: '100000', SIGN_IN_MAX_WAITING_PER_ADDRESS: '100000' }
    const start = async (name: string): Promise<RunningNode> => startNode({ directory: dir, env: { ...env, NODE_ID: name } })
    const a = await start('a')
    const b = await start('b')
    nodes.push(a, b)
    // The calls go through a node that stays up: the survivor, or in a rolling restart a third node.
    const callNode = mode === 'kill' ? b : await start('c')
    if (mode === 'rolling') nodes.push(callNode)

    const network = 1 + randomInt(254)
    const count = Math.ceil(clients / PER_GENERATOR)
    for (let i = 0; i < count; i++) {
      const g = new Generator('storm')
      generators.push(g)
      const firstIndex = Math.floor(clients * i / count)
      g.send({
        type: 'storm-connect',
        spec: {
          ports: [a.port, b.port],
          username: BENCH_IDENTITY.username,
          password: BENCH_IDENTITY.password,
          topicRoot: BENCH_IDENTITY.topicRoot,
          firstIndex,
          count: Math.floor(clients * (i + 1) / count) - firstIndex,
          localAddress: `127.${network}.${i}.1`,
          concurrency: Math.ceil(CONNECTS_IN_PROGRESS / count),
          idPrefix: 'storm'
        }
      })
    }
    context.log(`storm (${mode}): connecting ${figure(clients)} persistent sessions over nodes a and b${hashed ? ' (hashed secret: one scrypt per sign-in)' : ''}`)
    await Promise.all(generators.map((g) => g.next('ready', 900_000)))
    callers = new Generator('calls')
    callers.send({ type: 'calls-connect', spec: { mqttPort: callNode.port, httpPort: callNode.httpPort, devices: Array.from({ length: CALL_DEVICES }, (_, d) => d) } })
    await callers.next('ready', 120_000)
    await publish(generators, b, clients, 1)

    const window = CALL_WINDOW_MS[quick ? 'quick' : 'full'][mode]
    callers.send({ type: 'calls-step', step: { transport: 'mqtt', mode: 'rate', rate: CALL_RATE, concurrency: 0, warmupMs: 0, measureMs: window } })
    await callers.next('window-start', 30_000)
    // The node holding every storm client once the events are over.
    let home = b
    if (mode === 'kill') {
      phases.push(await phase(context, generators, b, 'SIGKILL node a', async () => {
        await a.kill()
        // Queued for the sessions now offline, delivered live to the others.
        await publish(generators, b, clients, 2)
      }))
    } else {
      phases.push(await phase(context, generators, b, 'SIGTERM node a', async () => {
        await a.stop()
        nodes.splice(nodes.indexOf(a), 1)
        await publish(generators, b, clients, 2)
      }))
      const a2 = await start('a')
      nodes.push(a2)
      home = a2
      phases.push(await phase(context, generators, a2, 'node a started again; SIGTERM node b', async () => {
        await b.stop()
        nodes.splice(nodes.indexOf(b), 1)
      }))
      nodes.push(await start('b'))
    }
    await callers.next('window-end', window + 30_000)
    const calls = (await callers.next('calls-result', 60_000)).result
    await publish(generators, home, clients, 3)
    // Every QoS 1 message has been acknowledged by the broker; wait for the last deliveries to arrive.
    const deadline = Date.now() + 20_000
    let messages = merge(await reports(generators, [1, 2, 3]))
    while (messages.lost > 0 && Date.now() < deadline) {
      await sleep(500)
      messages = merge(await reports(generators, [1, 2, 3]))
    }
    return { mode, clients, hashed, phases, calls, messages, refusals: messages.refusals, loadStart }
  } finally {
    for (const g of [...generators, ...(callers === null ? [] : [callers])]) {
      g.send({ type: 'close' })
    }
    await Promise.all([...generators, ...(callers === null ? [] : [callers])].map((g) => g.stop()))
    await Promise.all(nodes.map((n) => n.stop()))
    await redis.stop()
  }
}

const seconds = (ms: number): string => figure(ms / 1000)

function backAt (back: number[], dropped: number, share: number): number {
  const needed = Math.ceil(dropped * share)
  if (needed === 0 || back.length < needed) return Number.NaN
  return [...back].sort((x, y) => x - y)[needed - 1] as number
}

function stormTables (runs: StormRun[]): Table[] {
  const phases: Table = {
    title: 'Reconnect storm and rolling restart',
    note: `Two nodes on one Redis (plus a third, which no client uses, carrying the calls in the rolling restart); N persistent sessions (clean session off, one QoS 1 subscription each) of one \`client\` identity, spread evenly over both, ${PER_GENERATOR} per generator process. ` +
      'At the event the node is killed (SIGKILL) or stopped (SIGTERM), and its clients reconnect to the other node with firmware-like back-off: a random wait up to 1 s × 2^attempt, capped at 30 s. ' +
      `"back" = CONNACK of the session on the other node, timed from the event. Node CPU and peak RSS are those of the node taking the clients, from the event until the last was back (${SAMPLE_MS} ms samples).`,
    columns: ['run', 'event', 'load average', 'clients', 'dropped', 'back', 'connect attempts', '50 % back s', '99 % back s', '100 % back s', 'node CPU %', 'node RSS before MB', 'node RSS peak MB'],
    rows: runs.flatMap((r) => r.phases.map((p) => [
      `${r.mode === 'kill' ? 'storm' : 'rolling restart'}${r.hashed ? ', hashed secret' : ''}`, p.event, p.load, figure(r.clients), figure(p.dropped), figure(p.back.length), figure(p.attempts),
      seconds(backAt(p.back, p.dropped, 0.5)), seconds(backAt(p.back, p.dropped, 0.99)), seconds(backAt(p.back, p.dropped, 1)),
      figure(p.cpuPercent), figure(p.rssBeforeMb), figure(p.rssPeakMb)
    ]))
  }
  const outcome: Table = {
    title: 'Calls and queued messages across the storm',
    note: `Calls: ${CALL_DEVICES} devices with 4 residents each, all connected to a node that stays up, start ${CALL_RATE} calls/s over MQTT from the first event until the storm's time limit; set-up = request → the 4th invite. ` +
      'Messages: one QoS 1 message to every session before the event, one right after it (queued for the sessions that were away), one after the storm; each client counts what it got.',
    columns: ['run', 'calls started', 'set-up p50 ms', 'set-up p99 ms', 'failed calls', 'QoS 1 messages expected', 'lost', 'duplicates', 'CONNACK refusals'],
    rows: runs.map((r) => {
      const lat = percentiles(Float64Array.from(r.calls?.samples ?? []))
      const failed = Object.entries(r.calls?.failures ?? {}).map(([code, n]) => `${figure(n)} ${code}`).join(', ')
      const name = `${r.mode === 'kill' ? 'storm' : 'rolling restart'}${r.hashed ? ', hashed secret' : ''}${r.failure === undefined ? '' : ` (**stopped: ${r.failure}**)`}`
      return [name, figure(r.calls?.started ?? Number.NaN), figure(lat.p50), figure(lat.p99),
        failed === '' ? '0' : `**${failed}**`, figure(r.clients * 3), r.messages.lost > 0 ? `**${figure(r.messages.lost)}**` : '0', figure(r.messages.duplicates), figure(r.refusals)]
    })
  }
  return [phases, outcome]
}

function stormTargets (runs: StormRun[]): TargetCheck[] {
  return runs.flatMap((r): TargetCheck[] => {
    const name = r.mode === 'kill' ? `storm, ${figure(r.clients)} clients${r.hashed ? ', hashed secret' : ''}` : 'rolling restart'
    const lat = percentiles(Float64Array.from(r.calls?.samples ?? []))
    const failed = Object.values(r.calls?.failures ?? {}).reduce((a, b) => a + b, 0)
    const checks: TargetCheck[] = r.phases.map((p) => {
      const at99 = backAt(p.back, p.dropped, 0.99)
      return { target: `99 % back within ${GOAL.backWithinMs / 1000} s (${name}: ${p.event})`, measured: `${seconds(at99)} s`, met: Number.isFinite(at99) && at99 <= GOAL.backWithinMs }
    })
    if (r.failure !== undefined) {
      checks.push({ target: `the run completes (${name})`, measured: `stopped: ${r.failure}`, met: false })
      return checks
    }
    checks.push({ target: `nothing lost (${name})`, measured: `${figure(r.messages.lost)} lost, ${figure(r.messages.duplicates)} duplicates`, met: r.messages.lost === 0 })
    if (r.mode === 'kill') checks.push({ target: `call set-up p99 ≤ ${GOAL.callP99Ms} ms during the storm (${name})`, measured: `p99 ${figure(lat.p99)} ms, ${figure(failed)} failed`, met: lat.p99 <= GOAL.callP99Ms && failed === 0 })
    else checks.push({ target: 'no call fails (rolling restart)', measured: `${figure(failed)} failed of ${figure(r.calls?.started ?? 0)}`, met: failed === 0 })
    return checks
  })
}

export const stormWorkload: Workload = {
  name: 'storm',
  summary: 'reconnect storm after a node dies, and a rolling restart, two nodes on Redis',
  async run (context) {
    const missing = redisMissing()
    if (missing !== null) {
      context.log(`storm: skipped: ${missing}`)
      return { tables: [], targets: [{ target: 'reconnect storm', measured: `not measured: ${missing}`, met: null }] }
    }
    const runs: StormRun[] = []
    const modes: Mode[] = context.options.rolling ? ['rolling'] : ['kill', 'rolling']
    for (const mode of modes) {
      const phases: Phase[] = []
      try {
        runs.push(await runStorm(context, mode, phases))
      } catch (err) {
        // One mode failing must not lose the other's figures, nor this one's phases so far.
        context.log(`storm (${mode}) failed: ${(err as Error).message}`)
        runs.push({
          mode,
          failure: (err as Error).message.split('\n')[0] as string,
          clients: context.options.stormClients,
          hashed: context.options.hashedSecrets,
          phases,
          calls: null,
          messages: { clients: 0, up: 0, dropsAfterMark: 0, attemptsAfterMark: 0, backAfterMark: [], refusals: 0, lost: Number.NaN, duplicates: Number.NaN, unexpected: 0 },
          refusals: Number.NaN,
          loadStart: ''
        })
      }
    }
    return { tables: stormTables(runs), targets: stormTargets(runs) }
  }
}
