/** Command-line options of `npm run bench`; pure, so the runner stays a thin shell. */
export interface BenchOptions {
  /** Workloads to run, in order; all of them when none is named. */
  workloads: string[]
  quick: boolean
  /** Idle-connection counts to try, each against every broker. */
  connections: number[]
  /** Messages kept in flight (per published message) in the throughput runs. */
  window: number
  /** Door devices of the call workload, each with a household of four residents. */
  devices: number
  /** Calls stored in Redis before the records workload lists them. */
  storedCalls: number
  /** Persistent sessions in the reconnect storm, spread over two nodes. */
  stormClients: number
  /** Storm clients sign in with a scrypt-hashed secret, as in production. */
  hashedSecrets: boolean
  /** The storm workload runs the rolling restart only. */
  rolling: boolean
  /** Record a CPU profile of the embedded broker and summarise it. */
  profile: boolean
  /** Entry point of another build of the node to measure instead of this tree's. */
  nodeBin?: string
  /** Household mixes of the calls workload: plain (every household rings in parallel), sequential, or both. */
  mixes: Array<'plain' | 'sequential'>
  help: boolean
}

export const USAGE = `usage: npm run bench -- [workload ...] [options]
  workloads: %WORKLOADS% (default: all)
  --quick              short runs (each workload a minute or a few)
  --connections=N[,M]  idle connections to open (default 10000,20000; quick 5000)
  --window=N           messages in flight in the throughput runs (default 100)
  --devices=N          door devices in the calls workload, 4 residents each (default 100)
  --stored-calls=N     calls stored before the records workload (default 1000000; quick 100000)
  --clients=N          persistent sessions in the storm workload, over two nodes (default 15000; quick 2000)
  --hashed-secrets     storm clients sign in with a scrypt-hashed secret (one scrypt per sign-in, as in production)
  --rolling            storm workload: the rolling restart only, not the kill
  --profile            profile the embedded broker (node --cpu-prof) and print its hot spots
  --node-bin=PATH      measure another build's dist/bin/intercom-broker.js (A/B comparisons)
  --mix=plain|sequential  calls workload: only that household mix (default both; a build without sequential ring needs plain)
  --help               this text`

function positiveInteger (flag: string, value: string): number {
  const n = Number(value.replace(/_/g, ''))
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got "${value}"`)
  return n
}

export function parseOptions (argv: readonly string[], known: readonly string[]): BenchOptions {
  const options: BenchOptions = { workloads: [], quick: false, connections: [], window: 100, devices: 100, storedCalls: 0, stormClients: 0, hashedSecrets: false, rolling: false, profile: false, mixes: ['plain', 'sequential'], help: false }
  for (const arg of argv) {
    const [flag, value] = arg.split('=', 2) as [string, string | undefined]
    if (flag === '--quick') options.quick = true
    else if (flag === '--profile') options.profile = true
    else if (flag === '--hashed-secrets') options.hashedSecrets = true
    else if (flag === '--rolling') options.rolling = true
    else if (flag === '--clients' && value !== undefined) options.stormClients = positiveInteger(flag, value)
    else if (flag === '--help' || flag === '-h') options.help = true
    else if (flag === '--node-bin' && value !== undefined) options.nodeBin = value
    else if (flag === '--mix' && (value === 'plain' || value === 'sequential')) options.mixes = [value]
    else if (flag === '--window' && value !== undefined) options.window = positiveInteger(flag, value)
    else if (flag === '--devices' && value !== undefined) options.devices = positiveInteger(flag, value)
    else if (flag === '--stored-calls' && value !== undefined) options.storedCalls = positiveInteger(flag, value)
    else if (flag === '--connections' && value !== undefined) options.connections = value.split(',').map((v) => positiveInteger(flag, v))
    else if (!arg.startsWith('-') && known.includes(arg)) options.workloads.push(arg)
    else throw new Error(`unknown argument "${arg}"; try --help`)
  }
  if (options.workloads.length === 0) options.workloads = [...known]
  if (options.connections.length === 0) options.connections = options.quick ? [5000] : [10_000, 20_000]
  if (options.stormClients === 0) options.stormClients = options.quick ? 2000 : 15_000
  if (options.storedCalls === 0) options.storedCalls = options.quick ? 100_000 : 1_000_000
  return options
}

/** How long each phase lasts; the quick set keeps the whole run near a minute. */
export interface Timing {
  warmupMs: number
  throughputMs: number
  latencyMs: number
  /** Pause before reading a broker's memory, so that it reflects the idle state. */
  settleMs: number
  /** Interleaved repetitions of each raw case; the tables give the median. */
  rounds: number
}

export function timing (quick: boolean): Timing {
  return quick
    ? { warmupMs: 500, throughputMs: 2000, latencyMs: 3000, settleMs: 1000, rounds: 1 }
    : { warmupMs: 1000, throughputMs: 2500, latencyMs: 4000, settleMs: 2000, rounds: 3 }
}
