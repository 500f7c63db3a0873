import fp from 'fastify-plugin'
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'

export interface CorsOptions {
  /** Exact origins (`https://app.example.com`) whose pages may call the HTTP routes. */
  origins: readonly string[]
}

/** CORS for browser pages on the listed origins; any other origin gets no CORS headers, so its browser refuses. */
async function corsPlugin (app: FastifyInstance, options: CorsOptions): Promise<void> {
  await app.register(cors, {
    origin: [...options.origins],
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600
  })
}

export default fp(corsPlugin, { name: 'intercom-cors', fastify: '5.x' })
