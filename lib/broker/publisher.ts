import type { Aedes } from 'aedes'

export interface PublishOptions {
  qos?: 0 | 1
  retain?: boolean
}

/** How the server puts its own messages on topics (bypassing authorizePublish, as only the server may). */
export interface Publisher {
  publish (topic: string, message: unknown, options?: PublishOptions): Promise<void>
}

export function createPublisher (broker: Aedes): Publisher {
  return {
    publish (topic, message, options = {}) {
      return new Promise((resolve, reject) => {
        broker.publish({
          cmd: 'publish',
          topic,
          payload: Buffer.from(JSON.stringify(message)),
          qos: options.qos ?? 1,
          retain: options.retain ?? false,
          dup: false
        }, (err) => (err ? reject(err) : resolve()))
      })
    }
  }
}
