import type { BrokerKind, RunningBroker } from '../brokers/broker'
import type { BenchOptions, Timing } from '../options'
import type { Table } from '../report/table'

/** One issue target, checked against this run's figures. */
export interface TargetCheck {
  target: string
  measured: string
  /** Null when this run could not decide (a broker missing, a limit of the machine). */
  met: boolean | null
}

export interface WorkloadReport {
  tables: Table[]
  targets: TargetCheck[]
}

export interface WorkloadContext {
  options: BenchOptions
  timing: Timing
  /** Mosquitto first: it is the reference every ratio divides by. */
  brokers: readonly BrokerKind[]
  /** Where profiled nodes write their V8 CPU profiles (`--profile`). */
  profileDir?: string
  /** Progress, on stderr; the tables go to stdout. */
  log (line: string): void
}

/** A family of measurements; adding one is a file under workloads/ and an entry in workloads/index. */
export interface Workload {
  name: string
  summary: string
  run (context: WorkloadContext): Promise<WorkloadReport>
}

export interface Side {
  kind: BrokerKind['name']
  broker: RunningBroker
}

/** Runs fn with every available broker started side by side, and stops them all whatever happens. */
export async function withBrokers<T> (context: WorkloadContext, fn: (sides: Side[]) => Promise<T>): Promise<T> {
  const sides: Side[] = []
  try {
    for (const kind of context.brokers) {
      const missing = kind.missing()
      if (missing !== null) {
        context.log(`skipping ${kind.name}: ${missing}`)
        continue
      }
      sides.push({ kind: kind.name, broker: await kind.start() })
    }
    return await fn(sides)
  } finally {
    await Promise.all(sides.map((s) => s.broker.stop()))
  }
}
