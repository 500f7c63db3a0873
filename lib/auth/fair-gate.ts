/** Why the gate turned work away. */
export class GateFullError extends Error {
  constructor () {
    super('too many sign-ins waiting')
    this.name = 'GateFullError'
  }
}

/** The job's caller gave up while it waited: the job never ran. */
export class GateAbandonedError extends Error {
  constructor () {
    super('gave up waiting for a sign-in check')
    this.name = 'GateAbandonedError'
  }
}

export interface FairGateOptions {
  /** Jobs running at once. */
  concurrency: number
  /** Jobs waiting at most, all keys together. */
  maxWaiting: number
  /** Jobs waiting at most per key. */
  maxWaitingPerKey: number
}

export interface FairGate {
  /**
   * Runs `job` when a place is free; rejects at once with GateFullError when the wait would be too long,
   * and with GateAbandonedError when `signal` aborts before the job's turn (it then never runs).
   */
  run<T> (key: string, job: () => Promise<T>, signal?: AbortSignal): Promise<T>
  readonly running: number
  readonly waiting: number
}

/**
 * Bounds concurrent work and serves waiting keys in turn, one job each: a
 * flood from one source address waits behind itself, not in front of others.
 */
export function createFairGate (options: FairGateOptions): FairGate {
  // Insertion order is the turn order: a served key that still waits goes to the back.
  const queues = new Map<string, Array<() => void>>()
  let running = 0
  let waiting = 0

  const next = (): void => {
    const turn = queues.entries().next()
    if (turn.done === true) {
      running--
      return
    }
    const [key, queue] = turn.value
    const start = queue.shift() as () => void
    queues.delete(key)
    if (queue.length > 0) queues.set(key, queue)
    waiting--
    start()
  }

  return {
    async run (key, job, signal) {
      if (signal?.aborted === true) throw new GateAbandonedError()
      if (running < options.concurrency) {
        running++
      } else {
        const queue = queues.get(key) ?? []
        if (waiting >= options.maxWaiting || queue.length >= options.maxWaitingPerKey) throw new GateFullError()
        // The place is handed over by the job that ends: `running` stays the same.
        await new Promise<void>((resolve, reject) => {
          const start = (): void => {
            signal?.removeEventListener('abort', leave)
            resolve()
          }
          // Out of the queue at once: a closed connection's check neither runs nor holds a waiting place.
          const leave = (): void => {
            const index = queue.indexOf(start)
            if (index >= 0) {
              queue.splice(index, 1)
              if (queue.length === 0 && queues.get(key) === queue) queues.delete(key)
              waiting--
            }
            reject(new GateAbandonedError())
          }
          signal?.addEventListener('abort', leave, { once: true })
          queue.push(start)
          queues.set(key, queue)
          waiting++
        })
      }
      try {
        return await job()
      } finally {
        next()
      }
    },
    get running () { return running },
    get waiting () { return waiting }
  }
}
