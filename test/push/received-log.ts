/** What a push-service stand-in received, in order, with a wait on the first (past or future) that matches. */
export interface ReceivedLog<T> {
  readonly received: T[]
  record (item: T): void
  waitFor (match: (item: T) => boolean, timeoutMs?: number): Promise<T>
}

/** `what` names an item in a timeout message; `describe` sums up what came instead. */
export function createReceivedLog<T> (what: string, describe: (received: T[]) => string, defaultTimeoutMs: number): ReceivedLog<T> {
  const received: T[] = []
  const waiters: Array<{ match: (item: T) => boolean, resolve: (item: T) => void }> = []
  return {
    received,
    record (item) {
      received.push(item)
      for (const w of [...waiters]) {
        if (w.match(item)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(item)
        }
      }
    },
    waitFor (match, timeoutMs = defaultTimeoutMs) {
      const past = received.find(match)
      if (past !== undefined) return Promise.resolve(past)
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (item: T) => { clearTimeout(timer); resolve(item) } }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(new Error(`no matching ${what} within ${timeoutMs} ms; saw ${describe(received)}`))
        }, timeoutMs)
        waiters.push(waiter)
      })
    }
  }
}
