import type { Duplex } from 'node:stream'

/**
 * Follows MQTT packet boundaries (fixed header, remaining length, body) in
 * the bytes a connection delivers, and reports the first packet whose
 * remaining length is over the limit. Aedes 1.x has no packet size limit:
 * without this, one client could make the broker buffer up to 256 MB.
 */
export class PacketSizeTracker {
  readonly #max: number
  /** Body bytes of the current packet still to pass. */
  #skip = 0
  /** 0: expecting a packet's first byte; 1–4: reading remaining-length byte n. */
  #lengthByte = 0
  #length = 0
  #multiplier = 1

  constructor (maxPacketBytes: number) {
    this.#max = maxPacketBytes
  }

  /** An error message for an oversized or malformed packet header, else null. */
  inspect (chunk: Buffer): string | null {
    let i = 0
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i)
        this.#skip -= n
        i += n
        continue
      }
      const byte = chunk[i++] as number
      if (this.#lengthByte === 0) {
        this.#lengthByte = 1
        this.#length = 0
        this.#multiplier = 1
        continue
      }
      this.#length += (byte & 0x7f) * this.#multiplier
      this.#multiplier *= 128
      if ((byte & 0x80) !== 0) {
        if (++this.#lengthByte > 4) return 'malformed remaining length'
        continue
      }
      if (this.#length > this.#max) return `packet of ${this.#length} bytes is over the ${this.#max}-byte limit`
      this.#skip = this.#length
      this.#lengthByte = 0
    }
    return null
  }
}

/**
 * Wraps the connection's `read()`, which is how Aedes pulls bytes (paused
 * mode), so the check costs no extra stream per connection. An oversized
 * packet destroys the connection before its body is buffered.
 */
export function guardPacketSize (stream: Duplex, maxPacketBytes: number, onOversize: (reason: string) => void): void {
  const tracker = new PacketSizeTracker(maxPacketBytes)
  const read = stream.read.bind(stream)
  stream.read = (size?: number) => {
    const chunk = read(size) as Buffer | string | null
    if (chunk === null || typeof chunk === 'string') return chunk
    const problem = tracker.inspect(chunk)
    if (problem === null) return chunk
    onOversize(problem)
    stream.destroy()
    return null
  }
}
