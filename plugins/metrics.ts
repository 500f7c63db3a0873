import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { errorEnvelope, IntercomError } from '../lib/errors'
import { ErrorEnvelopeSchema } from '../lib/http-schemas'

export interface MetricsOptions {
  registry: Registry
  /** When set, scrapers send `Authorization: Bearer <token>`. */
  token?: string
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** `GET /metrics` in the Prometheus text format. */
async function metrics (app: FastifyInstance, options: MetricsOptions): Promise<void> {
  const expected = options.token === undefined ? null : digest(`Bearer ${options.token}`)
  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics of this node',
      description: 'Text format 0.0.4. With METRICS_TOKEN set, send it as `Authorization: Bearer <token>`.',
      tags: ['health'],
      security: [{ bearer: [] }],
      response: { 401: ErrorEnvelopeSchema }
    }
  }, async (request, reply) => {
    // Digests of equal length let the comparison take the same time whatever was sent.
    if (expected !== null && !timingSafeEqual(digest(request.headers.authorization ?? ''), expected)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"')
      return reply.code(401).send(errorEnvelope(new IntercomError('unauthorized', 'metrics need Authorization: Bearer <METRICS_TOKEN>')))
    }
    reply.header('content-type', options.registry.contentType)
    return await options.registry.metrics()
  })
}

export default fp(metrics, { name: 'intercom-metrics', fastify: '5.x', dependencies: ['intercom-envelope'] })
