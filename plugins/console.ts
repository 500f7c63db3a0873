import fs from 'node:fs'
import path from 'node:path'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'

export interface ConsoleOptions {
  /** The built console (`dist/web`, made by `npm run build`). */
  root?: string
}

/** Where `npm run build` puts the bundle, seen from the compiled plugin (`dist/plugins`). */
const BUILT_CONSOLE = path.join(__dirname, '..', 'web')

/**
 * Everything the page loads comes from this node; the MQTT WebSocket and the
 * HTTP routes are on the same origin. mqtt.js runs its keep-alive timer in a
 * blob worker, so that a tab in the background is not throttled into a lapse.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; worker-src 'self' blob:; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/** `GET /console`: the web console, a single page whose assets are all bundled with the node. */
async function consolePlugin (app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const root = options.root ?? BUILT_CONSOLE
  const indexFile = path.join(root, 'index.html')
  if (!fs.existsSync(indexFile)) throw new Error(`the console is not built (${indexFile} is missing); run npm run build`)
  const index = fs.readFileSync(indexFile)
  const page = async (_request: unknown, reply: FastifyReply) => {
    return await reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index)
  }
  app.get('/console', { schema: { hide: true } }, page)
  app.get('/console/', { schema: { hide: true } }, page)
  await app.register(fastifyStatic, {
    root,
    prefix: '/console/',
    decorateReply: false,
    index: false,
    wildcard: true,
    schemaHide: true,
    preCompressed: true
  })
  app.addHook('onSend', async (request, reply) => {
    const url = request.url.split('?', 1)[0] ?? ''
    if (url !== '/console' && !url.startsWith('/console/')) return
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
  })
}

export default fp(consolePlugin, { name: 'intercom-console', fastify: '5.x', dependencies: ['intercom-envelope'] })
