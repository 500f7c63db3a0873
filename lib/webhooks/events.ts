import { Type, type Static } from 'typebox'

/** What a webhook may subscribe to; `*` stands for all of them. */
export const WEBHOOK_EVENT_TYPES = [
  'call.ringing',
  'call.answered',
  'call.unlock',
  'call.ended',
  'device.online',
  'device.offline',
  'push.failed'
] as const

export type WebhookEventType = typeof WEBHOOK_EVENT_TYPES[number]

export const WebhookEventFilterSchema = Type.Enum([...WEBHOOK_EVENT_TYPES, '*'])

/** The body of every delivery: `X-Intercom-Delivery` repeats `id`, `X-Intercom-Event` repeats `type`. */
export const WebhookEnvelopeSchema = Type.Object({
  id: Type.String({ description: 'unique per event; retries repeat it, so a receiver can drop duplicates' }),
  type: Type.Enum(WEBHOOK_EVENT_TYPES),
  created_at: Type.Integer({ minimum: 0, description: 'ms since epoch the event happened' }),
  data: Type.Record(Type.String(), Type.Unknown())
})

export type WebhookEnvelope = Static<typeof WebhookEnvelopeSchema>

/** One event for the queue: the envelope already serialised, so every attempt signs the same bytes. */
export interface QueuedEvent {
  id: string
  type: WebhookEventType
  created_at: number
  body: string
}

/** Whether a webhook subscribed to `events` wants an event of `type`. */
export function wants (events: readonly string[], type: WebhookEventType): boolean {
  return events.includes(type) || events.includes('*')
}
