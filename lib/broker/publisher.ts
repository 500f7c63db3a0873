import type { Aedes } from 'aedes'
import { watchHandOff } from './hand-off'

export interface PublishOptions {
  qos?: 0 | 1
  retain?: boolean
}

/** Told of a server publish once the broker has taken it; must return at once (queue, never wait). */
export type PublishListener = (topic: string, message: unknown) => void

/** How the server puts its own messages on topics (bypassing authorizePublish, as only the server may). */
export interface Publisher {
  /**
   * Resolves once the broker has the message: stored where it must be (retained,
   * queued for offline sessions) and handed to its router, deliveries started in
   * order. Not once every subscriber's socket has taken it: a stalled subscriber
   * holds up only itself.
   */
  publish (topic: string, message: unknown, options?: PublishOptions): Promise<void>
  /**
   * Taps every publish of this node's server (not clients' publishes, not other
   * nodes'): in a cluster each server message is seen once, by the node that sent
   * it. Returns the function that removes the listener.
   */
  onPublish (listener: PublishListener): () => void
}

export interface PublisherOptions {
  /** A listener threw: it is reported here and the publish still succeeds. */
  onListenerError?: (err: unknown, topic: string) => void
  /** A delivery failed after the publish had resolved (a subscriber's drain timed out, say). */
  onDeliveryError?: (err: Error, topic: string) => void
}

export function createPublisher (broker: Aedes, options: PublisherOptions = {}): Publisher {
  const listeners = new Set<PublishListener>()
  const handOff = watchHandOff(broker)

  function tell (topic: string, message: unknown): void {
    for (const listener of listeners) {
      try {
        listener(topic, message)
      } catch (err) {
        options.onListenerError?.(err, topic)
      }
    }
  }

  return {
    publish (topic, message, publishOptions = {}) {
      return new Promise((resolve, reject) => {
        const payload = Buffer.from(JSON.stringify(message))
        let settled = false
        const done = (): void => {
          if (settled) return
          settled = true
          if (listeners.size > 0) tell(topic, message)
          resolve()
        }
        handOff(payload, done)
        broker.publish({
          cmd: 'publish',
          topic,
          payload,
          qos: publishOptions.qos ?? 1,
          retain: publishOptions.retain ?? false,
          dup: false
        }, (err) => {
          if (!err) {
            done()
          } else if (!settled) {
            settled = true
            reject(err)
          } else {
            options.onDeliveryError?.(err, topic)
          }
        })
      })
    },
    onPublish (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    }
  }
}
