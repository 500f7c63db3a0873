import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { hashSecret } from '../../lib/directory/secrets'
import { ONE_ADDRESS_SIGN_INS, startNode, type RunningNode } from '../brokers/embedded'
import { redisMissing, startRedis } from '../brokers/redis'
import { largeDirectory, residentId, type DirectoryBody } from '../generators/admin-directory'
import { connected, createClient } from '../generators/client'
import { Generator } from '../generators/runner-side'
import { loadAverage } from '../report/machine'
import { median, percentiles, ratio } from '../report/stats'
import { figure, times, type Table } from '../report/table'
import { cpuSeconds } from '../system/proc'
import { sleep } from '../system/processes'
import type { TargetCheck, Workload, WorkloadContext } from './workload'

/** The directory: 10,000 households of three residents (30,000), 1,000 doors. */
const SHAPE = { households: 10_000, devices: 1000 }
const TARGET = { replaceMs: 2000, putP99Ms: 1000, signInRatio: 1.1 } as const
const TOKEN = 'bench-directory-token'
const SERVICE = { name: 'bench', token: TOKEN }
/** Every identity of a replacement shares one scrypt hash: hashing 31,000 distinct ones would take the bench minutes. */
const SHARED_SECRET = 'bench-directory-secret'
const RUNS = { quick: { replaces: 3, puts: 100, signIns: 2000, rounds: 2 }, full: { replaces: 5, puts: 100, signIns: 5000, rounds: 3 } }
/** A node that has not applied a change by then has failed it. */
const APPLY_TIMEOUT_MS = 60_000
const SIGN_IN_GENERATORS = 2
const SIGN_INS_IN_PROGRESS = 32
const DEMO_DIRECTORY = path.resolve(__dirname, '..', '..', '..', 'config', 'demo-directory.json')

/** Follows a node's `directory changed` log lines: the version it applied, and when the bench saw it. */
class AppliedVersions {
  readonly #seen = new Map<number, number>()
  #wake: (() => void) | null = null

  onLine = (line: string): void => {
    if (!line.includes('"directory changed"')) return
    const { version } = JSON.parse(line) as { version: number }
    this.#seen.set(version, performance.now())
    this.#wake?.()
  }

  /** When the node logged that it applied `version` (or a later one). */
  async applied (version: number, label: string): Promise<number> {
    const deadline = performance.now() + APPLY_TIMEOUT_MS
    for (;;) {
      const at = [...this.#seen].filter(([v]) => v >= version).map(([, t]) => t)
      if (at.length > 0) return Math.min(...at)
      const left = deadline - performance.now()
      if (left <= 0) throw new Error(`${label} did not apply directory version ${version} within ${APPLY_TIMEOUT_MS / 1000} s`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#wake = () => { clearTimeout(timer); resolve() }
      })
      this.#wake = null
    }
  }

  get latest (): number {
    return Math.max(0, ...this.#seen.keys())
  }
}

interface Answer { status: number, body: string }

function send (agent: Agent, port: number, method: string, url: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${TOKEN}` }
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    const req = request({ host: '127.0.0.1', port, method, path: url, agent, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function ok (answer: Promise<Answer>, what: string): Promise<Answer> {
  const a = await answer
  if (a.status !== 200) throw new Error(`${what}: HTTP ${a.status}: ${a.body.slice(0, 300)}`)
  return a
}

/** A newly added resident signs in on the other node: the change is usable there, not only logged. */
async function signIn (node: RunningNode, id: string): Promise<void> {
  const client = createClient({ port: node.port, username: `resident/${id}`, password: SHARED_SECRET }, { clientId: `bench-check-${id}` })
  try {
    await connected(client)
  } finally {
    client.stream.destroy()
  }
}

interface Replace { label: string, bytes: number, answeredMs: number, appliedAMs: number, appliedBMs: number }
interface Propagation {
  replaces: Replace[]
  puts: number[]
  putAnswered: number[]
  /** CPU ms per single put: node A, node B, Redis. */
  cpuPerPut: number[]
  load: string
}

/** Two nodes on one Redis: whole replacements, then single puts, on A; each timed until B applied it. */
async function propagation (context: WorkloadContext): Promise<Propagation> {
  const runs = context.options.quick ? RUNS.quick : RUNS.full
  const hash = await hashSecret(SHARED_SECRET)
  const redis = await startRedis()
  const seen = { a: new AppliedVersions(), b: new AppliedVersions() }
  const seed = JSON.stringify(JSON.parse(readFileSync(DEMO_DIRECTORY, 'utf8')) as object, (key, value: unknown) => (key === 'services' ? [SERVICE] : value))
  const env = { REDIS_URL: redis.url, RATE_LIMIT_PER_SECOND: '100000' }
  // With --profile, both cluster nodes write a CPU profile: where applying a change goes.
  const profile = context.profileDir === undefined ? {} : { profileDir: context.profileDir }
  const nodes: RunningNode[] = []
  try {
    nodes.push(await startNode({ directory: seed, env, onLine: seen.a.onLine, ...profile }))
    nodes.push(await startNode({ directory: seed, env, onLine: seen.b.onLine, ...profile }))
    const [a, b] = nodes as [RunningNode, RunningNode]
    const agent = new Agent({ keepAlive: true, maxSockets: 4 })
    const replaces: Replace[] = []
    for (let r = 0; r < runs.replaces; r++) {
      const newcomer = `hx${r}`
      const body = JSON.stringify(largeDirectory({
        ...SHAPE,
        secretOf: () => hash,
        service: { name: SERVICE.name },
        extraResidents: [newcomer]
      }) satisfies DirectoryBody)
      const version = Math.max(seen.a.latest, seen.b.latest, 1) + 1
      context.log(`directory: replace ${r + 1} of ${runs.replaces} (${figure(body.length / 2 ** 20)} MiB) on node A`)
      const sent = performance.now()
      await ok(send(agent, a.httpPort, 'PUT', '/api/admin/directory', body), 'replace')
      const answered = performance.now()
      const [atA, atB] = await Promise.all([seen.a.applied(version, 'node A'), seen.b.applied(version, 'node B')])
      await signIn(b, newcomer)
      replaces.push({
        label: r === 0 ? 'demo → 10,000 households' : `10,000 households, one resident swapped (${r})`,
        bytes: body.length,
        answeredMs: answered - sent,
        appliedAMs: atA - sent,
        appliedBMs: atB - sent
      })
    }
    const puts: number[] = []
    const putAnswered: number[] = []
    const cpuBefore = [cpuSeconds(a.pid), cpuSeconds(b.pid), cpuSeconds(redis.pid)]
    for (let p = 0; p < runs.puts; p++) {
      const version = Math.max(seen.a.latest, seen.b.latest) + 1
      const sent = performance.now()
      // A clear secret, as an operator sends it: node A hashes it (one scrypt) before it saves.
      await ok(send(agent, a.httpPort, 'PUT', `/api/admin/residents/hp${p}`, JSON.stringify({ secret: `hp${p}-secret` })), 'put')
      putAnswered.push(performance.now() - sent)
      puts.push(await seen.b.applied(version, 'node B') - sent)
    }
    const cpuPerPut = [cpuSeconds(a.pid), cpuSeconds(b.pid), cpuSeconds(redis.pid)].map((c, i) => (c - (cpuBefore[i] as number)) * 1000 / runs.puts)
    agent.destroy()
    return { replaces, puts, putAnswered, cpuPerPut, load: loadAverage() }
  } finally {
    await Promise.all(nodes.map((n) => n.stop()))
    await redis.stop()
  }
}

interface SignInRound { directory: 'demo' | 'large', connected: number, failed: number, firstError: string | null, seconds: number, cpuUs: number }

/** Opens `count` resident sign-ins on a node, spread over the first residents; its CPU per connect and the rate. */
async function signInRound (node: RunningNode, directory: SignInRound['directory'], count: number, identities: Array<{ username: string, password: string }>): Promise<SignInRound> {
  const generators = Array.from({ length: SIGN_IN_GENERATORS }, () => new Generator('connections'))
  try {
    generators.forEach((g, i) => g.send({
      type: 'connect',
      spec: {
        port: node.port,
        username: '',
        password: '',
        identities: identities.filter((_, k) => k % SIGN_IN_GENERATORS === i),
        count: count / SIGN_IN_GENERATORS,
        localAddress: `127.${20 + Math.floor(Math.random() * 200)}.${i}.1`,
        concurrency: SIGN_INS_IN_PROGRESS / SIGN_IN_GENERATORS,
        idPrefix: `bench-sign-in-${i}`,
        keepalive: 60
      }
    }))
    await Promise.all(generators.map((g) => g.next('ready', 20_000)))
    const cpu = cpuSeconds(node.pid)
    const started = performance.now()
    for (const g of generators) g.send({ type: 'go' })
    const results = await Promise.all(generators.map((g) => g.next('connected', 300_000).then((m) => m.result)))
    const seconds = (performance.now() - started) / 1000
    const used = cpuSeconds(node.pid) - cpu
    for (const g of generators) g.send({ type: 'close' })
    await Promise.all(generators.map((g) => g.next('closed', 30_000)))
    const done = results.reduce((n, r) => n + r.connected, 0)
    return {
      directory,
      connected: done,
      failed: results.reduce((n, r) => n + r.failed, 0),
      firstError: results.find((r) => r.firstError !== null)?.firstError ?? null,
      seconds,
      cpuUs: used * 1e6 / Math.max(1, done)
    }
  } finally {
    await Promise.all(generators.map((g) => g.stop()))
  }
}

/** The same residents signing in on a node with the demo directory and on one with 30,000 residents, rounds interleaved. */
async function signInCost (context: WorkloadContext): Promise<{ rounds: SignInRound[], load: string }> {
  const runs = context.options.quick ? RUNS.quick : RUNS.full
  const clear = (identity: string): string => `${identity}-secret`
  const large = largeDirectory({ ...SHAPE, secretOf: clear, service: SERVICE })
  // The demo directory plus the residents that sign in: the same identities exist on both nodes.
  const demo = JSON.parse(readFileSync(DEMO_DIRECTORY, 'utf8')) as { residents: Array<{ id: string, secret: string }> }
  const signing = Array.from({ length: runs.signIns }, (_, i) => residentId(i))
  demo.residents.push(...signing.map((id) => ({ id, secret: clear(`resident/${id}`) })))
  const identities = signing.map((id) => ({ username: `resident/${id}`, password: clear(`resident/${id}`) }))
  const env = ONE_ADDRESS_SIGN_INS
  const nodes: Record<SignInRound['directory'], RunningNode | null> = { demo: null, large: null }
  try {
    nodes.demo = await startNode({ directory: JSON.stringify(demo), env })
    nodes.large = await startNode({ directory: JSON.stringify(large), env })
    const rounds: SignInRound[] = []
    for (let r = 0; r < runs.rounds; r++) {
      // Alternate who goes first, so that a burst of outside work does not land on one side only.
      const order = r % 2 === 0 ? (['demo', 'large'] as const) : (['large', 'demo'] as const)
      for (const which of order) {
        context.log(`directory: ${figure(runs.signIns)} sign-ins, ${which} directory, round ${r + 1} of ${runs.rounds}`)
        rounds.push(await signInRound(nodes[which] as RunningNode, which, runs.signIns, identities))
        await sleep(1000)
      }
    }
    return { rounds, load: loadAverage() }
  } finally {
    await Promise.all([nodes.demo?.stop(), nodes.large?.stop()])
  }
}

async function run (context: WorkloadContext): Promise<{ tables: Table[], targets: TargetCheck[] }> {
  const missing = redisMissing()
  const targets: TargetCheck[] = []
  const tables: Table[] = []
  if (missing !== null) {
    targets.push({ target: `directory replace applied on 2 nodes ≤ ${TARGET.replaceMs / 1000} s`, measured: missing, met: null })
  } else {
    const loadBefore = loadAverage()
    const p = await propagation(context)
    tables.push({
      title: `Directory changes on a 2-node cluster (${figure(SHAPE.households)} households, ${figure(SHAPE.households * 3)} residents, ${figure(SHAPE.devices)} doors)`,
      note: 'Two real nodes on one throw-away Redis; every change made on node A by `PUT /api/admin/...` (service token). Applied = the node\'s `directory changed` log line with that version (or a later one) reached the bench; ' +
        'after each replace the resident it added signed in on node B over MQTT. The replacement carries scrypt hashes (one shared hash), so node A hashes nothing; ' +
        'each single put (a new resident, clear secret) makes node A hash one secret. Times from the request leaving the bench, in ms. ' +
        `CPU per single put (from /proc over the ${p.puts.length} puts): node A ${figure(p.cpuPerPut[0] as number)} ms, node B ${figure(p.cpuPerPut[1] as number)} ms, Redis ${figure(p.cpuPerPut[2] as number)} ms. ` +
        `Load average ${loadBefore} before, ${p.load} after.`,
      columns: ['change', 'body', 'answered on A', 'applied on A', 'applied on B'],
      rows: [
        ...p.replaces.map((r) => [r.label, `${figure(r.bytes / 2 ** 20)} MiB`, figure(r.answeredMs), figure(r.appliedAMs), figure(r.appliedBMs)]),
        ...(() => {
          const answered = percentiles(Float64Array.from(p.putAnswered))
          const applied = percentiles(Float64Array.from(p.puts))
          return [
            [`${p.puts.length} single puts (resident), p50`, '', figure(answered.p50), '', figure(applied.p50)],
            [`${p.puts.length} single puts (resident), p99`, '', figure(answered.p99), '', figure(applied.p99)],
            [`${p.puts.length} single puts (resident), max`, '', figure(answered.max), '', figure(applied.max)]
          ]
        })()
      ]
    })
    const worstReplace = Math.max(...p.replaces.map((r) => Math.max(r.appliedAMs, r.appliedBMs)))
    const putP99 = percentiles(Float64Array.from(p.puts)).p99
    targets.push({
      target: `replace of ${figure(SHAPE.households)} households applied on both nodes ≤ ${TARGET.replaceMs / 1000} s`,
      measured: `worst of ${p.replaces.length}: ${figure(worstReplace)} ms (load ${p.load})`,
      met: worstReplace <= TARGET.replaceMs
    }, {
      target: `single put visible on the other node, p99 ≤ ${TARGET.putP99Ms / 1000} s`,
      measured: `p99 ${figure(putP99)} ms over ${p.puts.length} (load ${p.load})`,
      met: putP99 <= TARGET.putP99Ms
    })
  }
  const s = await signInCost(context)
  const of = (which: SignInRound['directory']): SignInRound[] => s.rounds.filter((r) => r.directory === which)
  const rate = (r: SignInRound): number => r.connected / r.seconds
  const med = (which: SignInRound['directory'], f: (r: SignInRound) => number): number => median(of(which).map(f))
  const rateRatio = ratio(med('large', rate), med('demo', rate))
  const cpuRatio = ratio(med('large', (r) => r.cpuUs), med('demo', (r) => r.cpuUs))
  tables.push({
    title: 'Sign-in cost: demo directory vs 30,000 residents',
    note: 'Two nodes alone (memory stores) started side by side: the demo directory plus the residents that sign in, and the large directory (clear secrets in both files). ' +
      `Each round opens the same residents' MQTT connections (${SIGN_IN_GENERATORS} generator processes, ${SIGN_INS_IN_PROGRESS} in progress) on one node, then closes them; rounds alternate which node goes first. ` +
      `Rate = connections ÷ time to the last CONNACK; CPU from /proc. Load average ${s.load} at the end.`,
    columns: ['round', 'directory', 'connected', 'connects/s', 'node CPU µs / connect', 'remarks'],
    rows: [
      ...s.rounds.map((r, i) => [figure(Math.floor(i / 2) + 1), r.directory, figure(r.connected), figure(rate(r)), figure(r.cpuUs), r.failed > 0 ? `${r.failed} failed: ${r.firstError ?? '?'}` : '']),
      ['median', '**large ÷ demo**', '', `**${times(rateRatio)}**`, `**${times(cpuRatio)}**`, '']
    ]
  })
  const failed = s.rounds.some((r) => r.failed > 0)
  targets.push({
    target: `sign-in with ${figure(SHAPE.households * 3)} residents: connect rate and CPU per connect within ${Math.round((TARGET.signInRatio - 1) * 100)} % of the demo directory`,
    measured: `rate ${times(rateRatio)}, CPU per connect ${times(cpuRatio)} (load ${s.load})${failed ? ', some failed' : ''}`,
    met: !failed && rateRatio >= 1 / TARGET.signInRatio && cpuRatio <= TARGET.signInRatio
  })
  return { tables, targets }
}

export const directoryWorkload: Workload = {
  name: 'directory',
  summary: 'directory changes on a 2-node cluster (replace, single puts) and sign-in cost with 30,000 residents',
  run
}
