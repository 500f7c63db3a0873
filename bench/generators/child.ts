import type { GeneratorMessage, RunnerMessage } from './protocol'

export function send (message: GeneratorMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) throw new Error('a generator runs as a child of bench/run with an IPC channel')
    process.send(message, undefined, {}, () => resolve())
  })
}

/**
 * Runs a generator's side of the conversation; it dies with its runner
 * (IPC gone) and reports its own failures instead of hanging.
 */
export function serve (handle: (message: RunnerMessage) => Promise<void>): void {
  process.on('disconnect', () => process.exit(1))
  process.on('message', (message: RunnerMessage) => {
    handle(message).catch(async (err: unknown) => {
      await send({ type: 'error', message: (err as Error).stack ?? String(err) })
      process.exit(1)
    })
  })
}
