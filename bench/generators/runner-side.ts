import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import { spawnTracked, stopProcess } from '../system/processes'
import type { GeneratorMessage, RunnerMessage } from './protocol'

type Of<T extends GeneratorMessage['type']> = Extract<GeneratorMessage, { type: T }>

/** A generator process seen from the runner: send orders, await its messages in order. */
export class Generator {
  private readonly child: ChildProcess
  private readonly inbox: GeneratorMessage[] = []
  private waiter: (() => void) | null = null
  private failure: Error | null = null

  constructor (script: 'raw' | 'connections' | 'calls' | 'storm' | 'stalled') {
    this.child = spawnTracked(process.execPath, [path.join(__dirname, `${script}.js`)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (message: GeneratorMessage) => {
      if (message.type === 'error') this.failure = new Error(`${script} generator failed: ${message.message}`)
      else this.inbox.push(message)
      this.waiter?.()
    })
    this.child.once('exit', (code, signal) => {
      this.failure ??= new Error(`${script} generator exited (${code ?? signal}) unexpectedly`)
      this.waiter?.()
    })
  }

  get pid (): number {
    return this.child.pid as number
  }

  /** A generator that has died takes no orders: its failure is what next() reports. */
  send (message: RunnerMessage): void {
    if (this.child.connected) this.child.send(message)
  }

  /** The next message, which must be of the given type, within the time limit. */
  async next<T extends GeneratorMessage['type']> (type: T, timeoutMs: number): Promise<Of<T>> {
    const deadline = Date.now() + timeoutMs
    while (this.inbox.length === 0) {
      if (this.failure !== null) throw this.failure
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no "${type}" from the generator within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiter = () => { clearTimeout(timer); resolve() }
      })
      this.waiter = null
    }
    const message = this.inbox.shift() as GeneratorMessage
    if (message.type !== type) throw new Error(`expected "${type}" from the generator, got "${message.type}"`)
    return message as Of<T>
  }

  stop (): Promise<void> {
    return stopProcess(this.child, 2000)
  }
}
