import type { Aedes } from 'aedes'

/** The part of Aedes' message router this module wraps. */
interface Emitter {
  emit (packet: { payload: Buffer | string }, done?: (err?: Error) => void): void
}

/** Tells, once, when the broker hands the publish with this payload to its router. */
export type HandOffWatch = (payload: Buffer, onHandOff: () => void) => void

const watches = new WeakMap<Aedes, HandOffWatch>()

/**
 * Aedes calls back on a publish only once every local subscriber's socket
 * has taken it (it waits for a full socket's drain, up to its drain
 * timeout). By the time the router is handed a message, Aedes has stored
 * it where it must be (a retained message, the queues of offline
 * sessions), and the router starts each delivery in order. A server
 * publish is done at that point: one stalled subscriber holds up only itself.
 * The packet Aedes emits is a copy of the one published, with the same
 * payload buffer, so the payload is the key.
 */
export function watchHandOff (broker: Aedes): HandOffWatch {
  const existing = watches.get(broker)
  if (existing !== undefined) return existing
  const waiting = new WeakMap<Buffer, () => void>()
  const mq = (broker as unknown as { mq: Emitter }).mq
  const emit = mq.emit.bind(mq)
  mq.emit = (packet, done) => {
    if (Buffer.isBuffer(packet.payload)) {
      const onHandOff = waiting.get(packet.payload)
      if (onHandOff !== undefined) {
        waiting.delete(packet.payload)
        emit(packet, done)
        onHandOff()
        return
      }
    }
    emit(packet, done)
  }
  const watch: HandOffWatch = (payload, onHandOff) => { waiting.set(payload, onHandOff) }
  watches.set(broker, watch)
  return watch
}
