import type { Logger } from 'pino'
import { IntercomError, isIntercomError } from '../errors'
import type { Identity } from '../identity'
import type { RequestKind } from '../topics/rights'
import { sendErrorReply } from './error-replies'
import type { RequestHandler } from './hooks'
import type { Publisher } from './publisher'

/** Handles one parsed MQTT request body; throws an IntercomError to refuse it. */
export type RequestKindHandler = (identity: Identity, body: Record<string, unknown>) => Promise<void>

export interface RequestRouterOptions {
  publisher: Publisher
  logger: Logger
  maxPayloadBytes: number
}

export interface RequestRouter {
  handle: RequestHandler
  /** Sets the handler of one request topic kind. */
  on (kind: RequestKind, handler: RequestKindHandler): void
}

/** The ids a refusal echoes back, when the body carried them as strings. */
function idsOf (body: unknown): { request_id?: string, call_id?: string } {
  if (typeof body !== 'object' || body === null) return {}
  const { request_id: requestId, call_id: callId } = body as Record<string, unknown>
  return {
    ...(typeof requestId === 'string' && requestId.length <= 128 ? { request_id: requestId } : {}),
    ...(typeof callId === 'string' && callId.length <= 128 ? { call_id: callId } : {})
  }
}

/**
 * The MQTT door into the product: parses a request topic's payload, hands it
 * to its handler, and answers a refusal on the sender's `.../calls/error`.
 */
export function createRequestRouter (options: RequestRouterOptions): RequestRouter {
  const handlers = new Map<RequestKind, RequestKindHandler>()

  async function dispatch (identity: Identity, kind: RequestKind, payload: Buffer): Promise<void> {
    if (payload.length > options.maxPayloadBytes) {
      throw new IntercomError('payload_too_large', `payload of ${payload.length} bytes is over the ${options.maxPayloadBytes}-byte limit`)
    }
    let body: unknown
    try {
      body = JSON.parse(payload.toString('utf8'))
    } catch {
      throw new IntercomError('invalid_request', 'payload is not valid JSON; send a JSON object')
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new IntercomError('invalid_request', 'payload must be a JSON object')
    }
    const handler = handlers.get(kind)
    if (handler === undefined) throw new IntercomError('service_unavailable', `${kind} requests are not handled by this node`)
    try {
      await handler(identity, body as Record<string, unknown>)
    } catch (err) {
      throw Object.assign(err as Error, { ids: idsOf(body) })
    }
  }

  return {
    on (kind, handler) {
      handlers.set(kind, handler)
    },
    async handle (context, kind, payload) {
      try {
        await dispatch(context.identity, kind, payload)
      } catch (err) {
        const ids = (err as { ids?: ReturnType<typeof idsOf> }).ids ?? {}
        const refusal = isIntercomError(err) ? err : new IntercomError('internal', 'internal error; the server logged it')
        if (!isIntercomError(err)) options.logger.error({ err, kind, identity: context.identity.name }, 'MQTT request failed')
        await sendErrorReply(options.publisher, context.identity, refusal, ids).catch((replyErr: unknown) => {
          options.logger.warn({ err: replyErr }, 'could not send an error reply')
        })
      }
    }
  }
}
