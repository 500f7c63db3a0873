import type { Aedes } from 'aedes'

type Handler = (packet: unknown, done: () => void) => void

/** The part of Aedes' message router (mqemitter, or mqemitter-redis) this module wraps. */
interface Router {
  on (topic: string, handler: Handler, done?: () => void): unknown
  removeListener (topic: string, handler: Handler, done?: () => void): unknown
}

/** A delivery not done yet: released by Aedes' callback, or by the sweep once it has waited too long. */
type Pending = () => void

/** A delivery still waiting after one to two sweeps of this is released. */
const SWEEP_MS = 50

/**
 * Aedes tells its router a delivery is done only once the subscriber's
 * socket has taken it, and reads nothing more from the publishing
 * connection until every delivery of its last packets is done. So one
 * subscriber that stopped reading held up each client publishing to it,
 * for up to Aedes' minute-long drain timeout. Here a delivery still not
 * done after 50–100 ms is released anyway: what then waits for a slow
 * socket is bounded per client by `authorizeForward` (QoS 0 dropped, QoS 1
 * queued up to its bounds, then the client disconnected). Deliveries done
 * in time are left to Aedes, whose waiting batches a fast publisher's
 * writes (releasing every delivery at once cost 40 % more CPU per message).
 * Retained messages sent on SUBSCRIBE and a session's stored queue go
 * another way and keep waiting on the socket.
 * Call once, right after the broker is made, before any client subscribes.
 */
export function releaseOverdueDeliveries (broker: Aedes): void {
  const mq = (broker as unknown as { mq: Router }).mq
  const releasing = new WeakMap<Handler, Handler>()
  // Two generations: a delivery dispatched since the last sweep, and one waiting since before it.
  let recent = new Set<Pending>()
  let older = new Set<Pending>()
  const sweep = setInterval(() => {
    const overdue = older
    older = recent
    recent = new Set()
    for (const release of overdue) release()
  }, SWEEP_MS)
  sweep.unref()
  broker.once('closed', () => clearInterval(sweep))
  const on = mq.on.bind(mq)
  const removeListener = mq.removeListener.bind(mq)
  mq.on = (topic, handler, done) => {
    let release = releasing.get(handler)
    if (release === undefined) {
      release = (packet, released) => {
        let pending = true
        const once: Pending = () => {
          if (!pending) return
          pending = false
          recent.delete(once)
          older.delete(once)
          released()
        }
        recent.add(once)
        handler(packet, once)
      }
      releasing.set(handler, release)
    }
    return on(topic, release, done)
  }
  mq.removeListener = (topic, handler, done) => removeListener(topic, releasing.get(handler) ?? handler, done)
}
