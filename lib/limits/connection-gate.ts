import type { Server, Socket } from 'node:net'

export interface ConnectionCapOptions {
  /** Open connections of the node, all listeners together. */
  maxTotal: number
  /** Open connections from one source address. */
  maxPerAddress: number
}

/** Why a connection was refused, or null when it may open. */
export type Refusal = 'node_full' | 'address_full' | null

/** Counts open connections, in total and per source address; pure bookkeeping. */
export class ConnectionCounts {
  readonly #options: ConnectionCapOptions
  readonly #byAddress = new Map<string, number>()
  #total = 0

  constructor (options: ConnectionCapOptions) {
    this.#options = options
  }

  get total (): number {
    return this.#total
  }

  /** Counts the connection in, unless a cap is reached. */
  open (address: string): Refusal {
    if (this.#total >= this.#options.maxTotal) return 'node_full'
    const current = this.#byAddress.get(address) ?? 0
    if (current >= this.#options.maxPerAddress) return 'address_full'
    this.#byAddress.set(address, current + 1)
    this.#total++
    return null
  }

  close (address: string): void {
    const current = this.#byAddress.get(address)
    if (current === undefined) return
    if (current <= 1) this.#byAddress.delete(address)
    else this.#byAddress.set(address, current - 1)
    this.#total--
  }
}

export interface ConnectionGateOptions extends ConnectionCapOptions {
  /** Hears of refused connections, at most once per `reportEveryMs` with the count since the last report. */
  onRefused: (refused: { reason: Exclude<Refusal, null>, address: string, count: number }) => void
  reportEveryMs?: number
}

export interface ConnectionGate {
  /** Counts the socket in and true, or resets it at once and false. */
  admit (socket: Socket): boolean
  /** Applies the gate to every connection a server accepts, before its own handler sees it. */
  guard (server: Server): void
  readonly open: number
}

/**
 * Caps the sockets one node holds (MQTT, MQTTS, HTTP and WebSocket share the
 * file descriptors): past a cap, a connection is closed at accept, so one
 * source cannot make the node unreachable for the others.
 */
export function createConnectionGate (options: ConnectionGateOptions): ConnectionGate {
  const counts = new ConnectionCounts(options)
  const reportEveryMs = options.reportEveryMs ?? 10_000
  let lastReport = 0
  let unreported = 0

  function admit (socket: Socket): boolean {
    const address = socket.remoteAddress ?? ''
    const refusal = counts.open(address)
    if (refusal === null) {
      socket.once('close', () => counts.close(address))
      return true
    }
    // A reset: plain destroy() leaves the peer of an HTTP server's socket waiting.
    socket.resetAndDestroy()
    unreported++
    const now = Date.now()
    if (now - lastReport >= reportEveryMs) {
      options.onRefused({ reason: refusal, address, count: unreported })
      lastReport = now
      unreported = 0
    }
    return false
  }

  return {
    admit,
    guard (server) {
      server.prependListener('connection', (socket: Socket) => { admit(socket) })
    },
    get open () {
      return counts.total
    }
  }
}
