import { Type, type Static } from 'typebox'
import { ID_PATTERN } from '../identity'

export const PUSH_KINDS = ['webpush', 'apns', 'fcm'] as const
export type PushKind = typeof PUSH_KINDS[number]

export const MAX_ENDPOINT_LENGTH = 2048

const Base64Url = (minLength: number, maxLength: number) => Type.String({ pattern: '^[A-Za-z0-9_-]+={0,2}$', minLength, maxLength })
const ResidentId = Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'the resident a service registers for' }))

export const WebPushInputSchema = Type.Object({
  kind: Type.Literal('webpush'),
  endpoint: Type.String({ minLength: 9, maxLength: MAX_ENDPOINT_LENGTH, pattern: '^https://', description: 'the push service URL of the browser subscription' }),
  keys: Type.Object({
    p256dh: Base64Url(80, 100),
    auth: Base64Url(16, 32)
  }, { additionalProperties: false }),
  resident_id: ResidentId
}, { additionalProperties: false })

export const ApnsInputSchema = Type.Object({
  kind: Type.Literal('apns'),
  token: Type.String({ pattern: '^[0-9a-fA-F]{64,200}$', description: 'the device token (hex)' }),
  environment: Type.Optional(Type.Enum(['production', 'sandbox'])),
  resident_id: ResidentId
}, { additionalProperties: false })

export const FcmInputSchema = Type.Object({
  kind: Type.Literal('fcm'),
  token: Type.String({ minLength: 1, maxLength: 4096, description: 'the FCM registration token' }),
  resident_id: ResidentId
}, { additionalProperties: false })

export const SubscriptionInputSchema = Type.Union([WebPushInputSchema, ApnsInputSchema, FcmInputSchema])

export type SubscriptionInput = Static<typeof SubscriptionInputSchema>

/** What the routes return: where a subscription points, never its keys. */
export const SubscriptionViewSchema = Type.Object({
  subscription_id: Type.String(),
  kind: Type.Enum(PUSH_KINDS),
  resident_id: Type.String(),
  created_at: Type.Integer({ description: 'ms since epoch' }),
  endpoint: Type.Optional(Type.String()),
  environment: Type.Optional(Type.String())
})

export type SubscriptionView = Static<typeof SubscriptionViewSchema>

/** A stored subscription: its target as the channel needs it. */
export type Subscription =
  | { subscription_id: string, kind: 'webpush', resident_id: string, created_at: number, endpoint: string, keys: { p256dh: string, auth: string } }
  | { subscription_id: string, kind: 'apns', resident_id: string, created_at: number, token: string, environment: 'production' | 'sandbox' }
  | { subscription_id: string, kind: 'fcm', resident_id: string, created_at: number, token: string }

/** The target a subscription points to: one per resident and target, a second registration replaces the first. */
export function targetOf (s: Subscription): string {
  return s.kind === 'webpush' ? `webpush|${s.endpoint}` : `${s.kind}|${s.token}`
}

export function viewOf (s: Subscription): SubscriptionView {
  const base = { subscription_id: s.subscription_id, kind: s.kind, resident_id: s.resident_id, created_at: s.created_at }
  if (s.kind === 'webpush') return { ...base, endpoint: s.endpoint }
  if (s.kind === 'apns') return { ...base, environment: s.environment }
  return base
}
