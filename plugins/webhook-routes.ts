import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { IntercomError, successEnvelope } from '../lib/errors'
import type { Identity } from '../lib/identity'
import { WebhookEventFilterSchema, WEBHOOK_EVENT_TYPES } from '../lib/webhooks/events'
import { MAX_WEBHOOK_URL_LENGTH, type Webhooks } from '../lib/webhooks/webhooks'
import { identityOf } from './auth'

export interface WebhookRoutesOptions {
  webhooks: Webhooks
}

const WebhookSchema = Type.Object({
  webhook_id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  created_at: Type.Integer({ description: 'ms since epoch' }),
  created_by: Type.String({ description: 'the service that registered it' })
})

const CreateBody = Type.Object({
  url: Type.String({ minLength: 1, maxLength: MAX_WEBHOOK_URL_LENGTH, description: 'http(s) URL the deliveries are POSTed to' }),
  events: Type.Array(WebhookEventFilterSchema, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length + 1, description: 'event types, or "*" for all' }),
  secret: Type.Optional(Type.String({ minLength: 16, maxLength: 256, description: 'HMAC key of the signatures; generated when absent' }))
}, { additionalProperties: false })

const IdParams = Type.Object({ id: Type.String({ pattern: '^wh_[0-9a-f]{16}$' }) })

const Envelope = <T extends Parameters<typeof Type.Object>[0]>(data: T) =>
  Type.Object({ code: Type.Literal(0), message: Type.String(), data: Type.Object(data) })

function requireService (identity: Identity): void {
  if (identity.kind !== 'service') throw new IntercomError('forbidden', `${identity.name} may not manage webhooks; only services may`)
}

/** `POST`, `GET /api/webhooks` and `DELETE /api/webhooks/{id}`, for services. */
async function webhookRoutes (app: FastifyInstance, options: WebhookRoutesOptions): Promise<void> {
  const { webhooks } = options
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()

  typed.post('/api/webhooks', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Register a webhook; the answer carries its signing secret, shown only this once',
      tags: ['webhooks'],
      body: CreateBody,
      response: { 200: Envelope({ ...WebhookSchema.properties, secret: Type.String() }) }
    }
  }, async (request) => {
    const identity = identityOf(request)
    requireService(identity)
    return successEnvelope(await webhooks.create(identity, request.body))
  })

  typed.get('/api/webhooks', {
    onRequest: app.authenticate,
    schema: {
      summary: 'List the webhooks (without secrets)',
      tags: ['webhooks'],
      response: { 200: Envelope({ items: Type.Array(WebhookSchema) }) }
    }
  }, async (request) => {
    requireService(identityOf(request))
    return successEnvelope({ items: await webhooks.list() })
  })

  typed.delete('/api/webhooks/:id', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Delete a webhook; its pending deliveries are dropped',
      tags: ['webhooks'],
      params: IdParams,
      response: { 200: Envelope({ deleted: Type.String() }) }
    }
  }, async (request) => {
    requireService(identityOf(request))
    await webhooks.remove(request.params.id)
    return successEnvelope({ deleted: request.params.id })
  })
}

export default fp(webhookRoutes, { name: 'intercom-webhook-routes', fastify: '5.x', dependencies: ['intercom-auth'] })
