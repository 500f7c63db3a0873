import type { Server } from 'node:net'

/** The TCP connections a stand-in accepted: how many were opened, how many are still open, and a wait until none is. */
export interface ConnectionWatch {
  opened (): number
  open (): number
  /** Resolves once every connection accepted so far is closed (by either side); rejects after timeoutMs. */
  allClosed (timeoutMs?: number): Promise<void>
}

export function watchConnections (server: Server): ConnectionWatch {
  let opened = 0
  let open = 0
  let waiters: Array<() => void> = []
  server.on('connection', (socket: { once (event: 'close', listener: () => void): void }) => {
    opened++
    open++
    socket.once('close', () => {
      open--
      if (open > 0) return
      for (const resolve of waiters) resolve()
      waiters = []
    })
  })
  return {
    opened: () => opened,
    open: () => open,
    allClosed (timeoutMs = 10_000) {
      if (open === 0) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${open} connection(s) still open after ${timeoutMs} ms`)), timeoutMs)
        waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }
}
