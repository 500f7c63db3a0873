import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, waitForListener } from '../system/ports'
import { exited, spawnTracked, stopProcess } from '../system/processes'
import { BENCH_IDENTITY, type BrokerKind, type RunningBroker } from './broker'

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'intercom-broker.js')

/**
 * Every bench party signs in from 127.0.0.1: on a busy machine the per-address queue of
 * credential checks (8 by default) refuses them as busy, which is not what a workload measures.
 */
export const ONE_ADDRESS_SIGN_INS = { SIGN_IN_MAX_WAITING: '100000', SIGN_IN_MAX_WAITING_PER_ADDRESS: '100000' } as const

/** A directory with just the bench client: the other identities do not take part. */
function benchDirectory (): string {
  return JSON.stringify({
    clients: [{
      name: BENCH_IDENTITY.username.replace(/^client\//, ''),
      secret: BENCH_IDENTITY.password,
      publish: [`${BENCH_IDENTITY.topicRoot}/#`],
      subscribe: [`${BENCH_IDENTITY.topicRoot}/#`]
    }]
  })
}

/** Waits for the log line that carries the bound ports; the rest of the log is drained and kept short. */
function waitForPorts (child: ReturnType<typeof spawnTracked>, timeoutMs: number, onLine?: (line: string) => void): Promise<{ mqtt: number, http: number }> {
  let pending = ''
  let tail = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`intercom-broker did not log its ports within ${timeoutMs} ms: ${tail}`)), timeoutMs)
    child.stderr?.on('data', (chunk: Buffer) => { tail = (tail + chunk.toString()).slice(-2000) })
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        onLine?.(line)
        if (!line.includes('"ports"')) continue
        clearTimeout(timer)
        resolve((JSON.parse(line) as { ports: { mqtt: number, http: number } }).ports)
      }
      if (pending.length > 65_536) pending = ''
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`intercom-broker exited (${code}) before listening: ${tail}`))
    })
  })
}

export interface EmbeddedOptions {
  /** When set, the node writes a V8 CPU profile there on exit. */
  profileDir?: string
  /** Another build of the node's entry point, to compare builds; this tree's by default. */
  bin?: string
}

export interface NodeOptions extends EmbeddedOptions {
  /** The directory file's JSON text; the bench client alone by default. */
  directory?: string
  /** Extra environment of the node (REDIS_URL, limits...). */
  env?: Record<string, string>
  /** Sees every line the node logs on stdout (JSON), for workloads that watch for an event. */
  onLine?: (line: string) => void
  /**
   * Metrics off (`METRICS_ENABLED=false`) and warnings only (`LOG_LEVEL=warn`): what
   * observability costs. The ports are then chosen here, as the node no longer logs them.
   */
  quiet?: boolean
}

/** A quiet node logs no port line: it gets free ports from the bench and is ready once both accept connections. */
async function quietPorts (): Promise<{ env: Record<string, string>, ready: (child: ReturnType<typeof spawnTracked>, timeoutMs: number) => Promise<{ mqtt: number, http: number }> }> {
  const ports = { mqtt: await freePort(), http: await freePort() }
  return {
    env: { MQTT_PORT: String(ports.mqtt), HTTP_PORT: String(ports.http), LOG_LEVEL: 'warn', METRICS_ENABLED: 'false' },
    async ready (child, timeoutMs) {
      const alive = (): boolean => child.exitCode === null
      // Nobody reads its warnings: drain them so that a full pipe never blocks the node.
      child.stdout?.resume()
      child.stderr?.resume()
      await waitForListener(ports.mqtt, timeoutMs, alive)
      await waitForListener(ports.http, timeoutMs, alive)
      return ports
    }
  }
}

export interface RunningNode extends RunningBroker {
  readonly httpPort: number
  /** SIGKILL, as a crash or an OOM kill would; resolves once it is gone. */
  kill (): Promise<void>
}

/** The real node (`dist/bin/intercom-broker.js`) in its own process, HTTP included, as in production. */
export async function startNode (options: NodeOptions = {}): Promise<RunningNode> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'intercom-bench-'))
  const directory = path.join(dir, 'directory.json')
  writeFileSync(directory, options.directory ?? benchDirectory())
  // Node 20 refuses --cpu-prof in NODE_OPTIONS: it goes on the command line.
  const profile = options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`]
  const quiet = options.quiet === true ? await quietPorts() : null
  const child = spawnTracked(process.execPath, [...profile, options.bin ?? BIN], {
    env: {
      ...process.env,
      MQTT_PORT: '0',
      HTTP_PORT: '0',
      HOST: '127.0.0.1',
      INTERCOM_DIRECTORY: directory,
      // info, because the port line is logged at that level.
      LOG_LEVEL: 'info',
      // Every bench client connects from 127.0.0.1: the connection caps are not what is measured.
      MAX_CONNECTIONS: '1000000',
      MAX_CONNECTIONS_PER_ADDRESS: '1000000',
      ...options.env,
      ...quiet?.env
    }
  })
  try {
    // Generous: on a loaded machine a start (Fastify, schemas, Redis) has taken over 20 s.
    const ports = quiet === null ? await waitForPorts(child, 60_000, options.onLine) : await quiet.ready(child, 60_000)
    return {
      label: (options.bin === undefined ? 'embedded (intercom-broker, Aedes)' : `embedded (${options.bin})`) + (quiet === null ? '' : ', metrics and info logs off'),
      pid: child.pid as number,
      port: ports.mqtt,
      httpPort: ports.http,
      async stop () {
        await stopProcess(child, 10_000)
        rmSync(dir, { recursive: true, force: true })
      },
      async kill () {
        child.kill('SIGKILL')
        await exited(child)
        rmSync(dir, { recursive: true, force: true })
      }
    }
  } catch (err) {
    await stopProcess(child)
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

/** The node as one of the brokers compared with Mosquitto. */
export function embeddedBroker (options: EmbeddedOptions = {}): BrokerKind {
  return {
    name: 'embedded',
    missing: () => null,
    start: () => startNode(options)
  }
}
