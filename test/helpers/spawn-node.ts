import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { LOCAL_STAND_INS } from './node'

export const BIN = path.resolve(__dirname, '..', '..', 'bin', 'intercom-broker.js')

export interface SpawnedNode {
  child: ChildProcess
  ports: { mqtt: number, http: number, mqtts?: number }
  stderr: () => string
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>
}

interface Teardown { teardown (fn: () => unknown): void }

/**
 * This process's environment for the command, without the hooks tap puts in
 * NODE_OPTIONS for its own bookkeeping: a node runs without them in production,
 * and they cost each spawned node about a second of CPU.
 */
function commandEnv (env: Record<string, string>): NodeJS.ProcessEnv {
  const options = (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((option) => option !== '' && !option.includes('@tapjs/'))
  return { ...process.env, NODE_OPTIONS: options.join(' '), ...env }
}

/** Runs the real bin until it logs its ports; killed at teardown if still alive. */
export function spawnNode (t: Teardown, env: Record<string, string> = {}): Promise<SpawnedNode> {
  const child = spawn(process.execPath, [BIN], {
    env: commandEnv({ MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', OUTBOUND_ALLOW_NETWORKS: LOCAL_STAND_INS, ...env }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      for (const line of stdout.split('\n')) {
        if (!line.includes('"ports"')) continue
        const { ports } = JSON.parse(line) as { ports: SpawnedNode['ports'] }
        resolve({ child, ports, stderr: () => stderr, exited })
        return
      }
    })
    exited.then((code) => reject(new Error(`node exited (${code}) before listening: ${stderr}`)))
  })
}

/** Runs the bin to completion; for start-up failures and subcommands. */
export function runBin (args: string[], env: Record<string, string> = {}, input?: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: commandEnv({ MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', ...env }),
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.stdin.end(input ?? '')
    // Generous: on a loaded machine loading the program alone can take many seconds.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}
