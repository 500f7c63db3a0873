import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { errorEnvelope, IntercomError, successEnvelope } from '../lib/errors'
import { ErrorEnvelopeSchema } from '../lib/http-schemas'
import type { Readiness } from '../lib/observability/readiness'

export interface HealthOptions {
  /** Facts worth showing an operator: node id, store, connected clients. */
  status: () => Record<string, unknown>
  /** Whether the node can serve: Redis reachable (with Redis), every listener up. */
  readiness: () => Readiness
}

const LiveResponse = Type.Object({
  code: Type.Literal(0),
  message: Type.String(),
  data: Type.Object({ status: Type.Literal('ok') })
})

const ReadyResponse = Type.Object({
  code: Type.Literal(0),
  message: Type.String(),
  data: Type.Object({
    status: Type.Literal('ok'),
    checks: Type.Record(Type.String(), Type.Enum(['up', 'down']))
  }, { additionalProperties: true })
})

const readySchema = (summary: string) => ({
  summary,
  description: '200 when this node can serve; 503 `service_unavailable` while Redis is unreachable or a listener is down (the message names which).',
  tags: ['health'],
  response: { 200: ReadyResponse, 503: ErrorEnvelopeSchema }
})

/** Health without credentials: `/health/live` for process supervisors, `/health/ready` (and `/health`) for load balancers. */
async function health (app: FastifyInstance, options: HealthOptions): Promise<void> {
  function ready (reply: FastifyReply) {
    const readiness = options.readiness()
    if (!readiness.ready) {
      // Answered, not thrown: a load balancer polling a node during an outage is no server error to log.
      const err = new IntercomError('service_unavailable', `not ready: ${readiness.down.join(', ')} down; retry later`)
      return reply.code(503).send(errorEnvelope(err))
    }
    return successEnvelope({ status: 'ok' as const, ...options.status(), checks: readiness.checks })
  }

  app.get('/health/live', {
    schema: { summary: 'The process answers', tags: ['health'], response: { 200: LiveResponse } }
  }, async () => successEnvelope({ status: 'ok' as const }))
  app.get('/health/ready', { schema: readySchema('This node can serve') }, async (_request, reply) => ready(reply))
  app.get('/health', { schema: readySchema('Same as /health/ready') }, async (_request, reply) => ready(reply))
}

export default fp(health, { name: 'intercom-health', fastify: '5.x', dependencies: ['intercom-envelope'] })
