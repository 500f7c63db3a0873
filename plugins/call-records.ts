import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { successEnvelope } from '../lib/errors'
import { responsesOf } from '../lib/http-schemas'
import { encodeCursor } from '../lib/records/cursor'
import { CallListQuerySchema, listQueryOf, numbersOfQuery } from '../lib/records/query'
import { scopeToReader } from '../lib/records/rights'
import { CallRecordPageSchema, recordOf } from '../lib/records/view'
import type { CallStore } from '../lib/stores/call-store'
import { identityOf } from './auth'

export interface CallRecordsOptions {
  store: CallStore
}

/** `GET /api/calls`: call records, a page at a time, as each reader may see them. */
async function callRecords (fastify: FastifyInstance, options: CallRecordsOptions): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { store } = options

  app.get('/api/calls', {
    onRequest: app.authenticate,
    preValidation: async (request) => { numbersOfQuery(request.query as Record<string, unknown>) },
    schema: {
      summary: 'Call records, newest first',
      description: 'A service sees every call, a device its own, a resident the calls that rang it (each with `missed`). ' +
        'Filters combine; since/until bound start_time. Follow next_cursor until it is null.',
      tags: ['calls'],
      querystring: CallListQuerySchema,
      response: responsesOf(CallRecordPageSchema)
    }
  }, async (request) => {
    const reader = identityOf(request)
    const page = await store.list(scopeToReader(reader, listQueryOf(request.query)))
    return successEnvelope({
      items: page.sessions.map((session) => recordOf(session, reader)),
      next_cursor: page.next === null ? null : encodeCursor(page.next)
    })
  })
}

export default fp(callRecords, { name: 'intercom-call-records', fastify: '5.x', dependencies: ['intercom-auth'] })
