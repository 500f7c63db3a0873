import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { asyncApiDocument } from '../lib/docs/asyncapi'
import { addExamples } from '../lib/docs/openapi-examples'

export interface DocsOptions {
  version: string
}

/**
 * The OpenAPI document, generated from the same TypeBox schemas that
 * validate requests; the UI at `/docs`, the JSON at `/docs/json`. The MQTT
 * topics as AsyncAPI 3 at `/docs/asyncapi.json`, from the schemas of the payloads.
 * Registered before the routes so that it sees them.
 */
async function docs (app: FastifyInstance, options: DocsOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'intercom-broker',
        description: 'Call signalling for video door intercoms. Every response is wrapped in {code, message, data} (success) or {code, message, error, data: null} (failure). ' +
          'The examples work against the demo directory as the demo service (Bearer ops-token); where one names a call_id, start a call with the POST /api/mqtt/call example first and use its id. ' +
          'The MQTT topics are described in AsyncAPI at /docs/asyncapi.json.',
        version: options.version
      },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic', description: 'identity name (device/1, resident/2, service/ops) and secret' },
          bearer: { type: 'http', scheme: 'bearer', description: 'service token' }
        }
      },
      security: [{ basic: [] }, { bearer: [] }]
    },
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject
      addExamples(documentObject.openapiObject as Parameters<typeof addExamples>[0])
      return documentObject.openapiObject
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  const asyncApi = asyncApiDocument(options.version)
  app.get('/docs/asyncapi.json', { schema: { hide: true } }, async () => asyncApi)
}

export default fp(docs, { name: 'intercom-docs', fastify: '5.x' })
