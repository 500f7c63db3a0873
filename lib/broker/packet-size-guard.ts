import type { Duplex } from 'node:stream'

/** MQTT 3.1 (3) and 3.1.1 (4) are served; 5 reaches Aedes, which refuses it itself. */
const KNOWN_PROTOCOL_LEVELS = new Set([3, 4, 5])
/** CONNACK with return code 0x01, unacceptable protocol version (MQTT-3.1.2-2). */
export const CONNACK_UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01])
const CONNECT = 0x10
const SUBSCRIBE = 0x80

interface SubscribeCount { stage: 'id' | 'length' | 'filter' | 'qos', need: number, length: number, filters: number }

/** What the tracker found wrong in a connection's bytes. */
export type PacketProblem =
  | { readonly kind: 'too_large' | 'malformed', readonly reason: string }
  | { readonly kind: 'protocol_level', readonly reason: string }
  | { readonly kind: 'too_many_filters', readonly reason: string }

/**
 * Follows MQTT packet boundaries (fixed header, remaining length, body) in
 * the bytes a connection delivers, and reports the first packet whose
 * remaining length is over the limit. Aedes 1.x has no packet size limit:
 * without this, one client could make the broker buffer up to 256 MB.
 * The first packet (the CONNECT, before any login) has its own, smaller
 * limit, and its protocol level is checked: the MQTT parser would drop an
 * unknown level without the CONNACK 0x01 that MQTT-3.1.2-2 asks for.
 * The filters of each SUBSCRIBE are counted: one packet carrying thousands
 * is a flood, refused before the broker spends anything on them.
 */
export class PacketSizeTracker {
  readonly #max: number
  readonly #maxFirst: number
  #packets = 0
  #firstByte = 0
  /** The CONNECT's first body bytes, up to its protocol level; null once checked. */
  #connectHead: number[] | null = []
  /** Body bytes of the current packet still to pass. */
  #skip = 0
  /** 0: expecting a packet's first byte; 1–4: reading remaining-length byte n. */
  #lengthByte = 0
  #length = 0
  #multiplier = 1

  readonly #maxFilters: number
  /** Within a SUBSCRIBE body: bytes left of the packet id (2), a filter length (2), filter, QoS (1). */
  #subscribe: SubscribeCount | null = null

  constructor (maxPacketBytes: number, maxFirstPacketBytes = maxPacketBytes, maxFiltersPerSubscribe = Number.MAX_SAFE_INTEGER) {
    this.#max = maxPacketBytes
    this.#maxFirst = Math.min(maxFirstPacketBytes, maxPacketBytes)
    this.#maxFilters = maxFiltersPerSubscribe
  }

  /** The first problem in this chunk, else null. */
  inspect (chunk: Buffer): PacketProblem | null {
    let i = 0
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i)
        const problem = this.#connectHead !== null
          ? this.#readConnectHead(chunk, i, n)
          : this.#subscribe !== null ? this.#countFilters(chunk, i, n) : null
        if (problem !== null) return problem
        this.#skip -= n
        i += n
        continue
      }
      const byte = chunk[i++] as number
      if (this.#lengthByte === 0) {
        this.#lengthByte = 1
        this.#length = 0
        this.#multiplier = 1
        this.#firstByte = byte
        continue
      }
      this.#length += (byte & 0x7f) * this.#multiplier
      this.#multiplier *= 128
      if ((byte & 0x80) !== 0) {
        if (++this.#lengthByte > 4) return { kind: 'malformed', reason: 'malformed remaining length' }
        continue
      }
      const first = this.#packets++ === 0
      if (!first) this.#connectHead = null
      else if ((this.#firstByte & 0xf0) !== CONNECT) this.#connectHead = null
      const max = first ? this.#maxFirst : this.#max
      if (this.#length > max) {
        return { kind: 'too_large', reason: `${first ? 'first packet' : 'packet'} of ${this.#length} bytes is over the ${max}-byte limit` }
      }
      this.#skip = this.#length
      this.#lengthByte = 0
      this.#subscribe = (this.#firstByte & 0xf0) === SUBSCRIBE ? { stage: 'id', need: 2, length: 0, filters: 0 } : null
    }
    return null
  }

  /** Counts the filters of a SUBSCRIBE body as its bytes pass. */
  #countFilters (chunk: Buffer, from: number, n: number): PacketProblem | null {
    const sub = this.#subscribe as SubscribeCount
    let i = from
    const end = from + n
    while (i < end) {
      if (sub.stage === 'filter') {
        const take = Math.min(sub.need, end - i)
        sub.need -= take
        i += take
        if (sub.need === 0) { sub.stage = 'qos'; sub.need = 1 }
        continue
      }
      const byte = chunk[i++] as number
      sub.need--
      if (sub.stage === 'length') sub.length = (sub.length << 8) | byte
      if (sub.need > 0) continue
      if (sub.stage === 'id') {
        sub.stage = 'length'; sub.need = 2; sub.length = 0
      } else if (sub.stage === 'length') {
        sub.stage = sub.length > 0 ? 'filter' : 'qos'
        sub.need = sub.length > 0 ? sub.length : 1
      } else {
        if (++sub.filters > this.#maxFilters) {
          this.#subscribe = null
          return { kind: 'too_many_filters', reason: `SUBSCRIBE with more than ${this.#maxFilters} filters` }
        }
        sub.stage = 'length'; sub.need = 2; sub.length = 0
      }
    }
    return null
  }

  /** Collects the CONNECT's protocol name and level; a level nobody speaks is a problem. */
  #readConnectHead (chunk: Buffer, from: number, n: number): PacketProblem | null {
    const head = this.#connectHead as number[]
    for (let k = 0; k < n; k++) {
      head.push(chunk[from + k] as number)
      if (head.length < 2) continue
      const nameLength = ((head[0] as number) << 8) | (head[1] as number)
      // A bad protocol name is the parser's to refuse.
      if (nameLength > 6) { this.#connectHead = null; return null }
      if (head.length < 3 + nameLength) continue
      const level = (head[2 + nameLength] as number) & 0x7f
      this.#connectHead = null
      return KNOWN_PROTOCOL_LEVELS.has(level) ? null : { kind: 'protocol_level', reason: `unacceptable protocol level ${level}` }
    }
    return null
  }
}

export interface PacketGuardOptions {
  maxPacketBytes: number
  /** Limit of the first packet, the CONNECT sent before login. */
  maxConnectBytes: number
  /** More filters in one SUBSCRIBE close the connection. */
  maxFiltersPerSubscribe: number
  onProblem: (problem: PacketProblem) => void
}

/**
 * Wraps the connection's `read()`, which is how Aedes pulls bytes (paused
 * mode), so the check costs no extra stream per connection. An oversized
 * packet or a SUBSCRIBE flood destroys the connection before its body is buffered; an unknown
 * protocol level is answered with CONNACK 0x01, then the connection closes.
 */
export function guardPacketSize (stream: Duplex, options: PacketGuardOptions): void {
  const tracker = new PacketSizeTracker(options.maxPacketBytes, options.maxConnectBytes, options.maxFiltersPerSubscribe)
  const read = stream.read.bind(stream)
  let refused = false
  stream.read = (size?: number) => {
    if (refused) return null
    const chunk = read(size) as Buffer | string | null
    if (chunk === null || typeof chunk === 'string') return chunk
    const problem = tracker.inspect(chunk)
    if (problem === null) return chunk
    refused = true
    options.onProblem(problem)
    if (problem.kind === 'protocol_level') stream.end(CONNACK_UNACCEPTABLE_PROTOCOL, () => stream.destroy())
    else stream.destroy()
    return null
  }
}
