import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { IntercomError, successEnvelope } from '../lib/errors'
import { SystemMessageInputSchema, SystemMessageResultSchema, type SendSystemMessage } from '../lib/presence/system-messages'
import { identityOf } from './auth'

export interface SystemRoutesOptions {
  send: SendSystemMessage
}

const SystemResponse = Type.Object({ code: Type.Literal(0), message: Type.String(), data: SystemMessageResultSchema })

/** `POST /api/mqtt/system/message`, for services. */
export default async function systemRoutes (app: FastifyInstance, options: SystemRoutesOptions): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/api/mqtt/system/message', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Publish a system message: to system/<type>, or only to the listed targets',
      tags: ['system'],
      body: SystemMessageInputSchema,
      response: { 200: SystemResponse }
    }
  }, async (request) => {
    const identity = identityOf(request)
    if (identity.kind !== 'service') {
      throw new IntercomError('forbidden', `${identity.name} may not send system messages; only services may`)
    }
    return successEnvelope(await options.send(request.body))
  })
}
