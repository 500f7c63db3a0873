import type { Logger } from 'pino'
import type { CallStore } from '../stores/call-store'
import type { TimerName } from './session'

export interface TimerLoopOptions {
  store: CallStore
  fire: (callId: string, timer: TimerName) => Promise<void>
  logger: Logger
  /** How long a claimed timer is ours before another node may take it over. */
  leaseMs: number
  /** The longest sleep: deadlines set by other nodes, or before a restart, are seen this late at worst. */
  pollMs: number
  now?: () => number
}

export interface TimerLoop {
  /** A deadline was set here: wake up for it if it is earlier than the next planned wake-up. */
  wake (at: number): void
  stop (): Promise<void>
}

const BATCH = 100

/**
 * Fires due call timers. The store's claim gives each due timer to one node
 * (lease), and the machine ignores a timer that is no longer due, so a timer
 * fires once however many nodes run this loop.
 */
export function startTimerLoop (options: TimerLoopOptions): TimerLoop {
  const now = options.now ?? Date.now
  let timer: NodeJS.Timeout | null = null
  let wakeAt = Infinity
  let running: Promise<void> | null = null
  let stopped = false

  function schedule (at: number): void {
    if (stopped || at >= wakeAt) return
    if (timer !== null) clearTimeout(timer)
    wakeAt = at
    timer = setTimeout(tick, Math.max(0, at - now()))
  }

  async function runDue (): Promise<void> {
    for (;;) {
      const due = await options.store.claimDueTimers(now(), options.leaseMs, BATCH)
      await Promise.all(due.map(({ callId, timer: name }) => options.fire(callId, name).catch((err: unknown) => {
        options.logger.error({ err, callId, timer: name }, 'call timer failed; it will be retried after its lease')
      })))
      if (due.length < BATCH) return
    }
  }

  function tick (): void {
    timer = null
    wakeAt = Infinity
    running = (async () => {
      try {
        await runDue()
        const next = await options.store.nextDeadline()
        schedule(Math.min(next ?? Infinity, now() + options.pollMs))
      } catch (err) {
        options.logger.warn({ err }, 'call timers unavailable; retrying')
        schedule(now() + options.pollMs)
      }
    })()
  }

  schedule(now())
  return {
    wake: (at) => schedule(at),
    async stop () {
      stopped = true
      if (timer !== null) clearTimeout(timer)
      await running
    }
  }
}
