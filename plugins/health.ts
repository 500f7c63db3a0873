import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { successEnvelope } from '../lib/errors'

export interface HealthOptions {
  /** Facts worth showing an operator: node id, store, connected clients. */
  status: () => Record<string, unknown>
}

const HealthResponse = Type.Object({
  code: Type.Literal(0),
  message: Type.String(),
  data: Type.Object({ status: Type.Literal('ok') }, { additionalProperties: true })
})

/** `GET /health`, without credentials, for load balancers and operators. */
async function health (app: FastifyInstance, options: HealthOptions): Promise<void> {
  app.get('/health', {
    schema: { summary: 'Liveness of this node', tags: ['health'], response: { 200: HealthResponse } }
  }, async () => successEnvelope({ status: 'ok' as const, ...options.status() }))
}

export default fp(health, { name: 'intercom-health', fastify: '5.x', dependencies: ['intercom-envelope'] })
