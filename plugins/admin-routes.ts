import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type TObject } from 'typebox'
import { validateReplacement, type EntryKind } from '../lib/directory/admin'
import type { LiveDirectory } from '../lib/directory/live-directory'
import { ClientEntry, DeviceEntry, DirectorySchema, HouseholdEntry, ResidentEntry } from '../lib/directory/schema'
import { IntercomError, successEnvelope } from '../lib/errors'
import { responsesOf } from '../lib/http-schemas'
import { ID_PATTERN } from '../lib/identity'
import { identityOf } from './auth'

export interface AdminRoutesOptions {
  live: LiveDirectory
  /** Largest body of a whole-directory replacement. */
  directoryBodyLimit: number
}

const TAGS = ['admin']

const DiffSchema = Type.Object({
  added: Type.Array(Type.String()),
  removed: Type.Array(Type.String()),
  changed: Type.Array(Type.String())
}, { description: 'names: device/<id>, resident/<id>, service/<name>, client/<name>, household/<number>' })
const DeletedSchema = Type.Object({ deleted: Type.String({ description: 'the identity name, or household/<number>' }) })
const ReplaceQuery = Type.Object({ dry_run: Type.Optional(Type.Enum(['true', 'false'])) }, { additionalProperties: false })

/** One route family per entry kind: the path names the entry, the body holds the rest. */
const ENTRY_ROUTES: Array<{ kind: EntryKind, path: string, param: string, entry: TObject, key: string, example: Record<string, unknown> }> = [
  { kind: 'devices', path: 'devices', param: 'id', entry: DeviceEntry, key: 'id', example: { secret: 'door-7-secret', households: ['101'] } },
  { kind: 'households', path: 'households', param: 'number', entry: HouseholdEntry, key: 'number', example: { residents: ['2', '3'] } },
  { kind: 'residents', path: 'residents', param: 'id', entry: ResidentEntry, key: 'id', example: { secret: 'res-7-secret' } },
  { kind: 'clients', path: 'clients', param: 'name', entry: ClientEntry, key: 'name', example: { secret: 'gw-secret', publish: ['meters/#'], subscribe: ['meters/#'] } }
]

function requireService (request: FastifyRequest): void {
  const identity = identityOf(request)
  if (identity.kind !== 'service') throw new IntercomError('forbidden', `${identity.name} may not administer the directory; only services may`)
}

/**
 * The live directory for services: read it, replace it whole, or put and
 * delete one entry. Every change is validated as the file is, saved, and
 * applied on every node.
 */
async function adminRoutes (fastify: FastifyInstance, options: AdminRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { live } = options

  app.get('/api/admin/directory', {
    onRequest: app.authenticate,
    schema: { summary: 'The whole directory, secrets omitted', tags: TAGS, response: responsesOf(DirectorySchema) }
  }, async (request) => {
    requireService(request)
    return successEnvelope(live.export())
  })

  app.put('/api/admin/directory', {
    onRequest: app.authenticate,
    bodyLimit: options.directoryBodyLimit,
    // The body is checked as the directory file is, so that errors read the same.
    validatorCompiler: () => () => true,
    schema: {
      summary: 'Replace the whole directory (dry_run=true only reports what would change)',
      description: 'Entries without a secret keep the secret their identity has now; a new one without a secret signs in only with tokens. Secrets sent in clear are stored hashed.',
      tags: TAGS,
      querystring: ReplaceQuery,
      body: DirectorySchema,
      response: responsesOf(DiffSchema)
    },
    preValidation: async (request) => { requireService(request) }
  }, async (request) => {
    const query = request.query as { dry_run?: string }
    if (query.dry_run !== undefined && query.dry_run !== 'true' && query.dry_run !== 'false') {
      throw new IntercomError('invalid_request', 'dry_run must be true or false')
    }
    const body = validateReplacement(request.body)
    return successEnvelope(await live.replace(body, query.dry_run === 'true'))
  })

  for (const route of ENTRY_ROUTES) {
    const params = Type.Object({ [route.param]: Type.String({ pattern: ID_PATTERN }) })
    const body = Type.Omit(route.entry, [route.key], { additionalProperties: false, examples: [route.example] })
    const url = `/api/admin/${route.path}/:${route.param}`
    const keyOf = (request: FastifyRequest): string => (request.params as Record<string, string>)[route.param] ?? ''

    app.put(url, {
      onRequest: app.authenticate,
      preValidation: async (request) => { requireService(request) },
      schema: {
        summary: `Create or replace one of the ${route.path}`,
        tags: TAGS,
        params,
        body,
        response: responsesOf(Type.Omit(route.entry, ['secret']))
      }
    }, async (request) => successEnvelope(await live.put(route.kind, keyOf(request), request.body as Record<string, unknown>)))

    app.delete(url, {
      onRequest: app.authenticate,
      preValidation: async (request) => { requireService(request) },
      schema: { summary: `Delete one of the ${route.path}, and the references to it`, tags: TAGS, params, response: responsesOf(DeletedSchema) }
    }, async (request) => successEnvelope({ deleted: await live.remove(route.kind, keyOf(request)) }))
  }
}

export default fp(adminRoutes, { name: 'intercom-admin-routes', fastify: '5.x', dependencies: ['intercom-auth'] })
