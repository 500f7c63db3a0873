import { randomUUID } from 'node:crypto'
import { clientTimestamp } from '../timestamps'
import { Type, type Static } from 'typebox'
import type { Publisher } from '../broker/publisher'
import type { Directory } from '../directory/directory'
import { IntercomError } from '../errors'
import { ID_PATTERN, parseIdentityName } from '../identity'
import { topics } from '../topics/names'

export const SystemMessageInputSchema = Type.Object({
  type: Type.String({ pattern: ID_PATTERN, description: 'one topic level: the message goes to system/<type>' }),
  level: Type.Enum(['info', 'warning', 'error']),
  message: Type.String({ minLength: 1 }),
  timestamp: Type.Optional(clientTimestamp('ms since epoch; now when absent')),
  data: Type.Optional(Type.Unknown()),
  target: Type.Optional(Type.Array(Type.String(), {
    minItems: 1,
    description: 'identity names (device/<id>, resident/<id>); only they receive it, on their own system topic'
  }))
}, { additionalProperties: false })

export type SystemMessageInput = Static<typeof SystemMessageInputSchema>

export const SystemMessageResultSchema = Type.Object({
  message_id: Type.String(),
  topic: Type.Union([Type.String(), Type.Null()], { description: 'system/<type> for a broadcast; null for a targeted message' }),
  topics: Type.Array(Type.String(), { description: 'every topic the message was published on' }),
  delivered_at: Type.Integer({ description: 'ms since epoch' })
})

export type SystemMessageResult = Static<typeof SystemMessageResultSchema>

/** What subscribers receive. */
export interface SystemMessage {
  message_id: string
  type: string
  level: SystemMessageInput['level']
  message: string
  timestamp: number
  data?: unknown
  target?: string[]
}

/**
 * The topic of each target: `devices/D/system` or `users/R/system`. Throws
 * invalid_request naming the first target that is not a known device or resident.
 */
export function targetTopics (directory: Directory, names: readonly string[]): string[] {
  const found = new Set<string>()
  names.forEach((name, i) => {
    const target = parseIdentityName(name)
    if (target === null || !directory.has(target.name)) {
      throw new IntercomError('invalid_request', `target[${i}] "${name}" is not a known identity; name devices as device/<id> and residents as resident/<id>`)
    }
    if (target.kind === 'device') found.add(topics.deviceSystem(target.id))
    else if (target.kind === 'resident') found.add(topics.residentSystem(target.id))
    else throw new IntercomError('invalid_request', `target[${i}] "${name}" has no system topic; target devices or residents, or omit target to broadcast`)
  })
  return [...found]
}

export interface SystemMessengerOptions {
  publisher: Publisher
  directory: Directory
  now?: () => number
}

export type SendSystemMessage = (input: SystemMessageInput) => Promise<SystemMessageResult>

/**
 * Publishes system messages (QoS 1, not retained): to `system/<type>` for
 * everyone, or, with a target list, only to each target's own system topic.
 */
export function createSystemMessenger (options: SystemMessengerOptions): SendSystemMessage {
  const now = options.now ?? Date.now
  return async (input) => {
    const targeted = input.target !== undefined
    const destinations = targeted ? targetTopics(options.directory, input.target ?? []) : [topics.system(input.type)]
    const message: SystemMessage = {
      message_id: randomUUID(),
      type: input.type,
      level: input.level,
      message: input.message,
      timestamp: input.timestamp ?? now(),
      ...(input.data === undefined ? {} : { data: input.data }),
      ...(input.target === undefined ? {} : { target: input.target })
    }
    await Promise.all(destinations.map((topic) => options.publisher.publish(topic, message, { qos: 1 })))
    return { message_id: message.message_id, topic: targeted ? null : topics.system(input.type), topics: destinations, delivered_at: now() }
  }
}
