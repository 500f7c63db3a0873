import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { CallService } from '../lib/calls/call-service'
import { CallViewSchema } from '../lib/calls/messages'
import { ActionBodySchema, actionRequestOf, EndSessionBodySchema, SessionQuerySchema, StartCallBodySchema } from '../lib/calls/requests'
import { IntercomError, successEnvelope } from '../lib/errors'
import { responsesOf } from '../lib/http-schemas'
import { identityOf } from './auth'

export interface CallRoutesOptions {
  calls: CallService
}

const TAGS = ['calls']

/** The call routes of CONTRACT §4 (`/api/mqtt/...`), onto the same call service as the MQTT requests. */
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
  }, async (request) => {
    const body = request.body
    const deviceId = body.device_device_id ?? body.device_id
    if (deviceId === undefined) throw new IntercomError('invalid_request', 'device_device_id is required')
    const view = await calls.start(identityOf(request), {
      deviceId,
      provider: body.provider ?? 'trtc',
      ...(body.target_resident_id === undefined ? {} : { targetResidentId: body.target_resident_id }),
      ...(body.household_number === undefined ? {} : { householdNumber: body.household_number }),
      ...(body.timestamp === undefined ? {} : { timestamp: body.timestamp })
    })
    return successEnvelope(view)
  })

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
