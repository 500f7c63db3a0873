import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { embeddedBroker } from './brokers/embedded'
import { mosquittoBroker } from './brokers/mosquitto'
import { parseOptions, timing, USAGE, type BenchOptions } from './options'
import { cpuShare, describeMachine, loadAverage } from './report/machine'
import { summariseProfiles } from './report/profile'
import { renderTable, type Table } from './report/table'
import { killAll } from './system/processes'
import { WORKLOADS } from './workloads'
import type { TargetCheck } from './workloads/workload'

/**
 * Hard stop, whatever hangs: a bench never outlives its budget. Sized for every
 * workload on a loaded 2-core machine (seeding a million calls alone takes 3–10 minutes).
 */
const BUDGET_MS = { quick: 40 * 60_000, full: 90 * 60_000 }

const log = (line: string): void => { process.stderr.write(`bench: ${line}\n`) }
const print = (text: string): void => { process.stdout.write(`${text}\n`) }

function targetsTable (targets: TargetCheck[]): Table {
  const verdict = (met: boolean | null): string => (met === null ? 'not decided here' : met ? 'met' : '**missed**')
  return {
    title: 'Targets',
    note: 'Ratios of raw and connections are embedded ÷ Mosquitto, both measured in this run with the same clients; other ratios compare two sides of one workload, ' +
      'measured side by side (metrics on ÷ off, large ÷ demo directory, with ÷ without listing); the call targets are absolute.',
    columns: ['target', 'measured', 'verdict'],
    rows: targets.map((t) => [t.target, t.measured, verdict(t.met)])
  }
}

async function run (options: BenchOptions): Promise<void> {
  const selected = WORKLOADS.filter((w) => options.workloads.includes(w.name))
  print('# intercom-broker benchmarks\n')
  print(`${new Date().toISOString()}, ${options.quick ? 'quick' : 'full'} run: ${selected.map((w) => w.name).join(', ')}\n`)
  for (const line of describeMachine()) print(`- ${line}`)
  print('')
  const targets: TargetCheck[] = []
  for (const workload of selected) {
    const profileDir = options.profile ? mkdtempSync(path.join(os.tmpdir(), `intercom-profile-${workload.name}-`)) : undefined
    const report = await workload.run({
      options,
      timing: timing(options.quick),
      profileDir,
      brokers: [mosquittoBroker(), embeddedBroker({ profileDir, bin: options.nodeBin === undefined ? undefined : path.resolve(options.nodeBin) })],
      log
    })
    const missing = [mosquittoBroker(), embeddedBroker()].map((b) => b.missing()).filter((m) => m !== null)
    print(`## ${workload.name}: ${workload.summary}\n`)
    for (const m of missing) print(`> Not measured: ${m}. Ratios are n/a.\n`)
    for (const table of report.tables) print(renderTable(table))
    if (profileDir !== undefined) for (const table of summariseProfiles(profileDir, workload.name)) print(renderTable(table))
    targets.push(...report.targets)
  }
  if (targets.length > 0) print(renderTable(targetsTable(targets)))
  print(`Load average at the end: ${loadAverage()}; a busy loop got ${cpuShare()} of a core.`)
}

function main (): void {
  let options: BenchOptions
  try {
    options = parseOptions(process.argv.slice(2), WORKLOADS.map((w) => w.name))
  } catch (err) {
    log((err as Error).message)
    process.exit(2)
  }
  const usage = USAGE.replace('%WORKLOADS%', WORKLOADS.map((w) => w.name).join(', '))
  if (options.help) {
    print(usage)
    return
  }
  const budget = options.quick ? BUDGET_MS.quick : BUDGET_MS.full
  const watchdog = setTimeout(() => {
    log(`gave up after ${budget / 60_000} minutes; stopping every process it started`)
    killAll()
    process.exit(3)
  }, budget)
  watchdog.unref()
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping every process it started`)
      killAll()
      process.exit(130)
    })
  }
  run(options).then(() => clearTimeout(watchdog), (err: unknown) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`)
    killAll()
    process.exit(1)
  })
}

main()
