import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Directory } from '../lib/directory/directory'
import { IntercomError, successEnvelope } from '../lib/errors'
import type { OutboundGuard } from '../lib/outbound/address-guard'
import { ID_PATTERN, type Identity } from '../lib/identity'
import type { PushStore } from '../lib/push/push-store'
import { SubscriptionInputSchema, SubscriptionViewSchema, viewOf, type PushKind, type Subscription, type SubscriptionInput } from '../lib/push/subscriptions'
import { identityOf } from './auth'

export interface PushRoutesOptions {
  directory: Directory
  store: PushStore
  /** base64url VAPID public key; null when Web Push is not configured. */
  vapidPublicKey: string | null
  /** The kinds of subscription this server can push to. */
  kinds: ReadonlySet<PushKind>
  maxPerResident: number
  /** Refuses Web Push endpoints on this host or private networks. */
  outbound: OutboundGuard
  now?: () => number
}

const Envelope = <T extends Parameters<typeof Type.Object>[0]>(data: T) =>
  Type.Object({ code: Type.Literal(0), message: Type.String(), data: Type.Object(data) })

const ListQuery = Type.Object({ resident_id: Type.Optional(Type.String({ pattern: ID_PATTERN })) }, { additionalProperties: false })
const IdParams = Type.Object({ id: Type.String({ pattern: '^sub_[0-9a-f]{16}$' }) })

const KIND_SETTINGS: Record<PushKind, string> = {
  webpush: 'PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY',
  apns: 'APNS_KEY_ID, APNS_TEAM_ID and APNS_KEY',
  fcm: 'FCM_SERVICE_ACCOUNT'
}

/** The resident a request acts for: a resident for itself, a service for the one it names. */
function residentFor (directory: Directory, identity: Identity, named: string | undefined): string {
  if (identity.kind === 'resident') {
    if (named !== undefined && named !== identity.id) throw new IntercomError('forbidden', `${identity.name} may manage only its own push subscriptions`)
    return identity.id
  }
  if (identity.kind === 'service') {
    if (named === undefined) throw new IntercomError('invalid_request', 'resident_id is required when a service manages push subscriptions')
    if (!directory.hasResident(named)) throw new IntercomError('not_found', `no resident ${named} in the directory`)
    return named
  }
  throw new IntercomError('forbidden', `${identity.name} has no push subscriptions; only residents (and services for them) do`)
}

function subscriptionOf (input: SubscriptionInput, residentId: string, now: number): Subscription {
  const base = { subscription_id: `sub_${randomBytes(8).toString('hex')}`, resident_id: residentId, created_at: now }
  switch (input.kind) {
    case 'webpush': return { ...base, kind: 'webpush', endpoint: input.endpoint, keys: { p256dh: input.keys.p256dh, auth: input.keys.auth } }
    case 'apns': return { ...base, kind: 'apns', token: input.token.toLowerCase(), environment: input.environment ?? 'production' }
    case 'fcm': return { ...base, kind: 'fcm', token: input.token }
  }
}

/** `GET /api/push/vapid-public-key` and the push subscription routes. */
async function pushRoutes (app: FastifyInstance, options: PushRoutesOptions): Promise<void> {
  const { directory, store } = options
  const now = options.now ?? Date.now
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()

  typed.get('/api/push/vapid-public-key', {
    schema: {
      summary: 'The VAPID public key a browser subscribes with (applicationServerKey); no credentials needed',
      tags: ['push'],
      security: [],
      response: { 200: Envelope({ public_key: Type.String() }) }
    }
  }, async () => {
    if (options.vapidPublicKey === null) throw new IntercomError('provider_not_configured', `Web Push is not configured; set ${KIND_SETTINGS.webpush}`)
    return successEnvelope({ public_key: options.vapidPublicKey })
  })

  typed.post('/api/push/subscriptions', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Register a push target (Web Push, APNs or FCM) for a resident; the same target again replaces it',
      tags: ['push'],
      body: SubscriptionInputSchema,
      response: { 200: Envelope(SubscriptionViewSchema.properties) }
    }
  }, async (request) => {
    const residentId = residentFor(directory, identityOf(request), request.body.resident_id)
    if (!options.kinds.has(request.body.kind)) {
      throw new IntercomError('provider_not_configured', `${request.body.kind} pushes are not configured on this server; set ${KIND_SETTINGS[request.body.kind]}`)
    }
    if (request.body.kind === 'webpush') await options.outbound.checkUrl(request.body.endpoint, 'endpoint')
    const stored = await store.add(subscriptionOf(request.body, residentId, now()), options.maxPerResident)
    if (stored === null) {
      throw new IntercomError('invalid_request', `resident ${residentId} has ${options.maxPerResident} push subscriptions already; delete one first`)
    }
    return successEnvelope(viewOf(stored))
  })

  typed.get('/api/push/subscriptions', {
    onRequest: app.authenticate,
    schema: {
      summary: 'A resident\'s push subscriptions (a service names resident_id)',
      tags: ['push'],
      querystring: ListQuery,
      response: { 200: Envelope({ items: Type.Array(SubscriptionViewSchema) }) }
    }
  }, async (request) => {
    const residentId = residentFor(directory, identityOf(request), request.query.resident_id)
    return successEnvelope({ items: (await store.list(residentId)).map(viewOf) })
  })

  typed.delete('/api/push/subscriptions/:id', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Delete a push subscription (a resident only its own)',
      tags: ['push'],
      params: IdParams,
      response: { 200: Envelope({ deleted: Type.String() }) }
    }
  }, async (request) => {
    const identity = identityOf(request)
    const found = await store.get(request.params.id)
    // Someone else's subscription is "not found": its existence is not for others to learn.
    if (found === null || (identity.kind !== 'service' && !(identity.kind === 'resident' && identity.id === found.resident_id))) {
      throw new IntercomError('not_found', `no push subscription ${request.params.id} of yours`)
    }
    await store.remove(found.subscription_id)
    return successEnvelope({ deleted: found.subscription_id })
  })
}

export default fp(pushRoutes, { name: 'intercom-push-routes', fastify: '5.x', dependencies: ['intercom-auth'] })
