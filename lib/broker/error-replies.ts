import type { IntercomError } from '../errors'
import type { Identity } from '../identity'
import { topics } from '../topics/names'
import type { Publisher } from './publisher'

/** The `{request_id?, call_id?, error, message}` sent on `.../calls/error` for a refused MQTT request. */
export interface ErrorReply {
  request_id?: string
  call_id?: string
  error: IntercomError['code']
  message: string
}

/** Where an identity hears about its refused requests; services and clients have no error topic. */
export function errorTopicOf (identity: Identity): string | null {
  if (identity.kind === 'device') return topics.deviceError(identity.id)
  if (identity.kind === 'resident') return topics.residentError(identity.id)
  return null
}

export async function sendErrorReply (
  publisher: Publisher,
  identity: Identity,
  err: IntercomError,
  ids: { request_id?: string, call_id?: string } = {}
): Promise<void> {
  const topic = errorTopicOf(identity)
  if (topic === null) return
  const reply: ErrorReply = { ...ids, error: err.code, message: err.message }
  await publisher.publish(topic, reply, { qos: 1 })
}
