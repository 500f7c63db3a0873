import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TokenVerifier } from '../lib/auth/tokens'
import type { Directory } from '../lib/directory/directory'
import { IntercomError } from '../lib/errors'
import type { Identity } from '../lib/identity'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: sets request.identity or answers 401. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
  interface FastifyRequest {
    identity: Identity | null
  }
}

export interface AuthOptions {
  directory: Directory
  tokens: TokenVerifier | null
}

const CHALLENGE = 'Basic realm="intercom", Bearer'

function unauthorized (message: string): IntercomError {
  return new IntercomError('unauthorized', message)
}

async function identify (directory: Directory, tokens: TokenVerifier | null, header: string | undefined): Promise<Identity> {
  if (header === undefined || header === '') {
    throw unauthorized('missing credentials; send Authorization: Basic <identity name:secret> or Bearer <service token>')
  }
  const space = header.indexOf(' ')
  const scheme = header.slice(0, space).toLowerCase()
  const value = header.slice(space + 1).trim()
  if (scheme === 'bearer' && tokens !== null && tokens.looksLikeToken(value)) {
    const signedIn = await tokens.verify(value)
    if (signedIn !== null) return signedIn.identity
    throw unauthorized('invalid sign-in token: expired, wrongly signed, for another audience or issuer, or its sub is not in the directory')
  }
  if (scheme === 'bearer' && value !== '') {
    const service = await directory.authenticateToken(value)
    if (service !== null) return service
    throw unauthorized('unknown bearer token')
  }
  if (scheme === 'basic' && value !== '') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon > 0) {
      const found = await directory.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1))
      if (found !== null) return found
    }
    throw unauthorized('bad identity name or secret')
  }
  throw unauthorized('unsupported Authorization scheme; use Basic or Bearer')
}

/** HTTP authentication (CONTRACT §2): Basic with identity name and secret, or Bearer with a service token or a sign-in token. */
async function auth (app: FastifyInstance, options: AuthOptions): Promise<void> {
  app.decorateRequest('identity', null)
  app.decorate('authenticate', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      request.identity = await identify(options.directory, options.tokens, request.headers.authorization)
    } catch (err) {
      reply.header('www-authenticate', CHALLENGE)
      throw err
    }
  })
}

export default fp(auth, { name: 'intercom-auth', fastify: '5.x', dependencies: ['intercom-envelope'] })

/** The authenticated identity of a route that ran `app.authenticate`. */
export function identityOf (request: FastifyRequest): Identity {
  if (request.identity === null) throw new IntercomError('unauthorized', 'authentication required')
  return request.identity
}
