import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { figure, type Table } from './table'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Self time per key, in microseconds, over every profile; idle time left out. */
function selfTimes (profiles: CpuProfile[], key: (node: ProfileNode) => string | null): Map<string, number> {
  const totals = new Map<string, number>()
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]))
    profile.samples.forEach((id, i) => {
      const node = byId.get(id)
      const k = node === undefined ? null : key(node)
      if (k !== null) totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0))
    })
  }
  return totals
}

const IDLE = new Set(['(idle)'])

/**
 * Time per key of every frame on the stack (self + callees), in microseconds; a key
 * counted once per sample, so that recursion does not count twice.
 */
function totalTimes (profiles: CpuProfile[], key: (node: ProfileNode) => string | null): Map<string, number> {
  const totals = new Map<string, number>()
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]))
    const parent = new Map<number, number>()
    for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
    profile.samples.forEach((id, i) => {
      if (IDLE.has(byId.get(id)?.callFrame.functionName ?? '')) return
      const seen = new Set<string>()
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const node = byId.get(at)
        const k = node === undefined ? null : key(node)
        if (k === null || seen.has(k)) continue
        seen.add(k)
        totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0))
      }
    })
  }
  return totals
}

/** The project file of a frame (`lib/calls/call-service.js`), or null for other code. */
function ownFile (url: string): string | null {
  return /\/dist\/((?:lib|plugins|bin|config)\/.*)$/.exec(url)?.[1] ?? null
}

/** Where the code of a frame comes from: a package, Node itself, the project, or a V8 pseudo-frame. */
function origin (url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1] as string
  if (url.startsWith('node:')) return 'node core'
  const own = /\/dist\/(lib|plugins|bin|config)\//.exec(url)
  return own === null ? url : `intercom-broker ${own[1]}/`
}

function top (totals: Map<string, number>, count: number, all = [...totals.values()].reduce((a, b) => a + b, 0)): Array<[string, number, number]> {
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, us]) => [k, us, us * 100 / all])
}

/** Hot spots of the embedded broker from the V8 CPU profiles (`--cpu-prof`) in a directory. */
export function summariseProfiles (dir: string, workload: string): Table[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  if (files.length === 0) return []
  const profiles = files.map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile)
  const busy = (n: ProfileNode): boolean => !IDLE.has(n.callFrame.functionName)
  const functions = selfTimes(profiles, (n) => (busy(n)
    ? `${n.callFrame.functionName || '(anonymous)'} — ${ownFile(n.callFrame.url) ?? origin(n.callFrame.url, n.callFrame.functionName)}${n.callFrame.url === '' ? '' : `:${n.callFrame.lineNumber + 1}`}`
    : null))
  const own = totalTimes(profiles, (n) => {
    const file = ownFile(n.callFrame.url)
    return file === null ? null : `${file}: ${n.callFrame.functionName || '(anonymous)'}`
  })
  const busyUs = [...functions.values()].reduce((a, b) => a + b, 0)
  const origins = selfTimes(profiles, (n) => (busy(n) ? origin(n.callFrame.url, n.callFrame.functionName) : null))
  const note = `V8 CPU profile of the embedded broker during the ${workload} workload (${files.length} profile(s) in ${dir}); self time, idle excluded; start-up (module loading, schema compilation) included.`
  return [{
    title: `Embedded broker hot spots (${workload}): by origin`,
    note,
    columns: ['origin', 'self ms', '% of busy'],
    rows: top(origins, 12).map(([k, us, pct]) => [k, figure(us / 1000), figure(pct)])
  }, {
    title: `Embedded broker hot spots (${workload}): by function`,
    note,
    columns: ['function — origin:line', 'self ms', '% of busy'],
    rows: top(functions, 20).map(([k, us, pct]) => [k, figure(us / 1000), figure(pct)])
  }, {
    title: `Embedded broker hot spots (${workload}): project functions, self + callees`,
    note: `${note} Time of every project function while on the stack, callees (packages, Node) included: where the project's own code sends the CPU.`,
    columns: ['file: function', 'total ms', '% of busy'],
    rows: top(own, 20, busyUs).map(([k, us, pct]) => [k, figure(us / 1000), figure(pct)])
  }]
}
