import type { Aedes } from 'aedes'

export interface PublishOptions {
  qos?: 0 | 1
  retain?: boolean
}

/** Told of a server publish once the broker has taken it; must return at once (queue, never wait). */
export type PublishListener = (topic: string, message: unknown) => void

/** How the server puts its own messages on topics (bypassing authorizePublish, as only the server may). */
export interface Publisher {
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
}

export function createPublisher (broker: Aedes, options: PublisherOptions = {}): Publisher {
  const listeners = new Set<PublishListener>()

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
        broker.publish({
          cmd: 'publish',
          topic,
          payload: Buffer.from(JSON.stringify(message)),
          qos: publishOptions.qos ?? 1,
          retain: publishOptions.retain ?? false,
          dup: false
        }, (err) => {
          if (err) {
            reject(err)
            return
          }
          if (listeners.size > 0) tell(topic, message)
          resolve()
        })
      })
    },
    onPublish (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    }
  }
}
