import type { Aedes } from 'aedes'

type Handler = (packet: unknown, done: () => void) => void

/** The part of Aedes' message router (mqemitter, or mqemitter-redis) this module wraps. */
interface Router {
  on (topic: string, handler: Handler, done?: () => void): unknown
  removeListener (topic: string, handler: Handler, done?: () => void): unknown
}

const noop = (): void => {}

/**
 * Aedes tells its router a delivery is done only once the subscriber's
 * socket has taken it, and reads nothing more from the publishing
 * connection until every delivery of its last packets is done. So one
 * subscriber that stopped reading held up each client publishing to it,
 * for up to Aedes' minute-long drain timeout. Here a subscription's
 * delivery is done once it is handed to the subscriber's connection:
 * what then waits for a slow socket is bounded per client by
 * `authorizeForward` (QoS 0 dropped, QoS 1 queued up to its bounds, then
 * the client disconnected). Retained messages sent on SUBSCRIBE and a
 * session's stored queue go another way and keep waiting on the socket.
 * Call once, right after the broker is made, before any client subscribes.
 */
export function releaseAtDispatch (broker: Aedes): void {
  const mq = (broker as unknown as { mq: Router }).mq
  const releasing = new WeakMap<Handler, Handler>()
  // Released together on the next turn: one immediate for a turn's deliveries, not one each.
  let due: Array<() => void> = []
  const releaseDue = (): void => {
    const now = due
    due = []
    for (const released of now) released()
  }
  const on = mq.on.bind(mq)
  const removeListener = mq.removeListener.bind(mq)
  mq.on = (topic, handler, done) => {
    let release = releasing.get(handler)
    if (release === undefined) {
      release = (packet, released) => {
        handler(packet, noop)
        // Aedes writes in a setImmediate of its own, in order: releasing in the same phase reorders nothing.
        if (due.push(released) === 1) setImmediate(releaseDue)
      }
      releasing.set(handler, release)
    }
    return on(topic, release, done)
  }
  mq.removeListener = (topic, handler, done) => removeListener(topic, releasing.get(handler) ?? handler, done)
}
