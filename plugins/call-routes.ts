import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { CallService } from '../lib/calls/call-service'
import { ActionBodySchema, actionRequestOf, EndSessionBodySchema, SessionQuerySchema, StartCallBodySchema, startRequestOf } from '../lib/calls/request-bodies'
import { CallViewSchema } from '../lib/calls/view'
import { successEnvelope } from '../lib/errors'
import { responsesOf } from '../lib/http-schemas'
import { identityOf } from './auth'

export interface CallRoutesOptions {
  calls: CallService
}

const TAGS = ['calls']

/** The call routes (`/api/mqtt/...`), onto the same call service as the MQTT requests. */
async function callRoutes (fastify: FastifyInstance, options: CallRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { calls } = options
  const response = responsesOf(CallViewSchema)

  app.post('/api/mqtt/call', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Ring the residents of a device',
      description: 'Rings target_resident_id alone when given, else every resident of household_number, else every resident associated with the device.',
      tags: TAGS,
      body: StartCallBodySchema,
      response
    }
  }, async (request) => successEnvelope(await calls.start(identityOf(request), startRequestOf(request.body))))

  for (const side of ['device', 'resident'] as const) {
    app.post(`/api/mqtt/controller/${side}`, {
      onRequest: app.authenticate,
      schema: {
        summary: `A ${side}'s action on a call`,
        description: side === 'device'
          ? 'Actions: cancelled (while ringing), hangup.'
          : 'Actions: answered, rejected, timeout, hangup, unlock. A service names resident_id.',
        tags: TAGS,
        body: ActionBodySchema,
        response
      }
    }, async (request) => successEnvelope(await calls.act(identityOf(request), side, actionRequestOf(request.body))))
  }

  app.get('/api/mqtt/session', {
    onRequest: app.authenticate,
    schema: { summary: 'A call session, with the caller\'s own media credentials', tags: TAGS, querystring: SessionQuerySchema, response }
  }, async (request) => successEnvelope(await calls.get(identityOf(request), request.query.call_id)))

  app.post('/api/mqtt/end-session', {
    onRequest: app.authenticate,
    schema: { summary: 'Force the end of a call and notify every party', tags: TAGS, body: EndSessionBodySchema, response }
  }, async (request) => successEnvelope(await calls.end(identityOf(request), request.body.call_id, request.body.reason)))
}

export default fp(callRoutes, { name: 'intercom-call-routes', fastify: '5.x', dependencies: ['intercom-auth'] })
