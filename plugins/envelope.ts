import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { errorEnvelope, IntercomError, isIntercomError } from '../lib/errors'

interface ValidationIssue { instancePath: string, message?: string, params?: Record<string, unknown> }

/** `body/call_info/action` → `call_info.action`: the field a client has to fix. */
function fieldOf (issue: ValidationIssue, context: string | undefined): string {
  const missing = typeof issue.params?.missingProperty === 'string' ? `/${issue.params.missingProperty}` : ''
  const extra = typeof issue.params?.additionalProperty === 'string' ? `/${issue.params.additionalProperty}` : ''
  const path = `${issue.instancePath}${missing}${extra}`.split('/').filter(Boolean).join('.')
  return path || context || 'body'
}

function describeValidation (err: FastifyError): string {
  const issue = err.validation?.[0] as ValidationIssue | undefined
  if (issue === undefined) return err.message
  const field = fieldOf(issue, err.validationContext)
  if (typeof issue.params?.missingProperty === 'string') return `${field} is required`
  if (typeof issue.params?.additionalProperty === 'string') return `${field} is not a known field`
  const allowed = Array.isArray(issue.params?.allowedValues) ? ` (${issue.params.allowedValues.join(', ')})` : ''
  return `${field} ${issue.message ?? 'is invalid'}${allowed}`
}

/** Maps whatever went wrong to the error envelope. */
export function toIntercomError (err: FastifyError | Error): IntercomError {
  if (isIntercomError(err)) return err
  const fastifyError = err as FastifyError
  if (fastifyError.validation !== undefined) return new IntercomError('invalid_request', describeValidation(fastifyError))
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new IntercomError('payload_too_large', 'request body is too large; send a smaller JSON body')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new IntercomError('invalid_request', 'unsupported content type; send application/json')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new IntercomError('invalid_request', 'body is empty; send a JSON object')
  }
  if (fastifyError.statusCode === 400 || err instanceof SyntaxError) {
    return new IntercomError('invalid_request', `malformed request: ${err.message}`)
  }
  if (fastifyError.statusCode === 413) return new IntercomError('payload_too_large', 'request body is too large')
  return new IntercomError('internal', 'internal error; the server logged it')
}

/**
 * Answers a request the HTTP parser refused before Fastify saw it (headers too
 * large, a request not in on time, bad bytes) in the same envelope, then closes.
 */
export function handleClientError (err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const refusal = err.code === 'HPE_HEADER_OVERFLOW'
    ? new IntercomError('headers_too_large', 'request headers are too large; send fewer or shorter headers')
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new IntercomError('request_timeout', 'the request was not received in time; send it at once')
      : new IntercomError('invalid_request', 'malformed HTTP request')
  const body = JSON.stringify(errorEnvelope(refusal))
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${refusal.statusCode} ${STATUS_CODES[refusal.statusCode] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

/** The `{code, message, error, data}` envelope for every failure, unknown routes included. */
async function envelope (app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const intercomError = toIntercomError(err)
    if (intercomError.statusCode >= 500 && intercomError.code !== 'provider_not_configured') {
      request.log.error({ err }, 'request failed')
    }
    return reply.code(intercomError.statusCode).send(errorEnvelope(intercomError))
  })
  app.setNotFoundHandler((request, reply) => {
    const err = new IntercomError('not_found', `no route ${request.method} ${request.url.split('?')[0]}; see /docs for the routes`)
    return reply.code(404).send(errorEnvelope(err))
  })
}

export default fp(envelope, { name: 'intercom-envelope', fastify: '5.x' })
