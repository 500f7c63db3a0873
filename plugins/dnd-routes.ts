import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { DndStateSchema, type DndStore } from '../lib/dnd/dnd-store'
import type { Directory } from '../lib/directory/directory'
import { IntercomError, successEnvelope } from '../lib/errors'
import { ID_PATTERN, type Identity } from '../lib/identity'
import { enforceRateLimit, type RateLimiter } from '../lib/limits/rate-limiter'
import { clientTimestamp } from '../lib/timestamps'
import { identityOf } from './auth'

export interface DndRoutesOptions {
  directory: Directory
  store: DndStore
  rateLimiter: RateLimiter
  perSecond: number
  /** The latest `until`, from now. */
  maxMs: number
  now?: () => number
}

const Params = Type.Object({ id: Type.String({ pattern: ID_PATTERN }) })
const Body = Type.Object({
  enabled: Type.Boolean({ description: 'true: calls do not ring this resident; false: they do again' }),
  until: Type.Optional(clientTimestamp('ms since epoch when DND switches itself off (with enabled true); absent: until turned off'))
}, { additionalProperties: false })
const Response = Type.Object({ code: Type.Literal(0), message: Type.String(), data: DndStateSchema })

/** A resident manages its own DND; a service any resident's. */
function checkRights (directory: Directory, identity: Identity, residentId: string): void {
  if (identity.kind === 'resident' && identity.id === residentId) return
  if (identity.kind !== 'service') {
    throw new IntercomError('forbidden', `${identity.name} may not manage the do not disturb of resident ${residentId}; a resident manages only its own`)
  }
  if (!directory.hasResident(residentId)) throw new IntercomError('not_found', `no resident ${residentId} in the directory`)
}

/** `PUT` and `GET /api/residents/{id}/dnd`. */
async function dndRoutes (app: FastifyInstance, options: DndRoutesOptions): Promise<void> {
  const { directory, store, rateLimiter, perSecond, maxMs } = options
  const now = options.now ?? Date.now
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()

  typed.put('/api/residents/:id/dnd', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Turn a resident\'s do not disturb on (optionally until a moment) or off',
      description: 'While it is on, a call to the resident gives it a `dnd` leg: no invite, no push. When every resident to ring is in a call or in DND, the call is refused 409 `residents_unavailable`.',
      tags: ['residents'],
      params: Params,
      body: Body,
      response: { 200: Response }
    }
  }, async (request) => {
    const identity = identityOf(request)
    const residentId = request.params.id
    checkRights(directory, identity, residentId)
    await enforceRateLimit(rateLimiter, identity.name, perSecond)
    const { enabled, until } = request.body
    const at = now()
    if (until !== undefined) {
      if (!enabled) throw new IntercomError('invalid_request', 'until goes with enabled: true; to turn DND off, send {"enabled": false} alone')
      if (until <= at) throw new IntercomError('invalid_request', `until ${until} is not in the future; send a later time, or no until to stay in DND until turned off`)
      if (until > at + maxMs) throw new IntercomError('invalid_request', `until is at most ${maxMs} ms ahead; send an earlier time, or no until to stay in DND until turned off`)
    }
    return successEnvelope(await store.set(residentId, { enabled, until: until ?? null }, at))
  })

  typed.get('/api/residents/:id/dnd', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Read a resident\'s do not disturb',
      tags: ['residents'],
      params: Params,
      response: { 200: Response }
    }
  }, async (request) => {
    const residentId = request.params.id
    checkRights(directory, identityOf(request), residentId)
    return successEnvelope(await store.get(residentId, now()))
  })
}

export default fp(dndRoutes, { name: 'intercom-dnd-routes', fastify: '5.x', dependencies: ['intercom-auth'] })
