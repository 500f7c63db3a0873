import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Authenticator, SignInAttempt, SignInResult } from '../lib/auth/authenticator'
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
  authenticator: Authenticator
}

const CHALLENGE = 'Basic realm="intercom", Bearer'

function unauthorized (message: string): IntercomError {
  return new IntercomError('unauthorized', message)
}

type Credentials = Pick<SignInAttempt, 'username' | 'credential'>

function credentialsOf (header: string | undefined): Credentials {
  if (header === undefined || header === '') {
    throw unauthorized('missing credentials; send Authorization: Basic <identity name:secret> or Bearer <service token>')
  }
  const space = header.indexOf(' ')
  const scheme = header.slice(0, space).toLowerCase()
  const value = header.slice(space + 1).trim()
  if (scheme === 'bearer' && value !== '') return { credential: value }
  if (scheme === 'basic' && value !== '') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon > 0) return { username: decoded.slice(0, colon), credential: decoded.slice(colon + 1) }
    throw unauthorized('bad identity name or secret')
  }
  throw unauthorized('unsupported Authorization scheme; use Basic or Bearer')
}

/** A refused sign-in as an HTTP error; a throttled or busy one carries Retry-After. */
function refusalOf (result: Exclude<SignInResult, { ok: true }>, bearer: boolean, reply: FastifyReply): IntercomError {
  if (result.reason === 'bad_credentials') return unauthorized(bearer ? 'unknown bearer token' : result.message)
  reply.header('retry-after', String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))))
  return new IntercomError(result.reason === 'throttled' ? 'rate_limited' : 'service_unavailable', result.message)
}

/** HTTP authentication: Basic with identity name and secret, or Bearer with a service token. */
async function auth (app: FastifyInstance, options: AuthOptions): Promise<void> {
  app.decorateRequest('identity', null)
  app.decorate('authenticate', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const credentials = credentialsOf(request.headers.authorization)
      const result = await options.authenticator.authenticate({ ...credentials, transport: 'http', address: request.ip })
      if (!result.ok) throw refusalOf(result, credentials.username === undefined, reply)
      request.identity = result.identity
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
