import { Agent, globalAgent } from 'node:https'
import { isIP } from 'node:net'
import webPush, { WebPushError } from 'web-push'
import type { OutboundGuard } from '../outbound/address-guard'
import { outcomeOfStatus, type PushChannel } from './channel'

export interface VapidKeys {
  /** base64url, uncompressed P-256 point: what browsers pass as applicationServerKey. */
  publicKey: string
  privateKey: string
  /** `mailto:` or `https:` contact of the sender, sent in the VAPID JWT. */
  subject: string
}

/** A connection to a push service idle this long is closed; a push service closes idle ones too. */
const IDLE_MS = 30_000
/** A VAPID token is valid for an hour (RFC 8292 allows 24 h) and reused until 10 minutes before it expires. */
const VAPID_TOKEN_MS = 60 * 60_000
const VAPID_RENEW_MS = 10 * 60_000
/** Push services whose token is kept; the endpoints' origins are chosen by clients, so the cache is bounded. */
const VAPID_AUDIENCES = 1000

/**
 * Web Push (RFC 8030) with `aes128gcm` payload encryption (RFC 8291) and VAPID
 * (RFC 8292), through the `web-push` package: the TTL is the seconds left to the
 * push's expiry, invites are `Urgency: high`.
 *
 * One agent keeps connections to push services open: a TLS handshake per push
 * cost more than the push. It copies the process's TLS settings (extra CAs) when
 * the channel is made, and connects through the outbound guard's lookup, so every
 * connection it opens is checked. The VAPID token is signed once per push
 * service (its audience) and reused until shortly before it expires, as RFC 8292
 * allows: signing it per push cost more than the rest of the push.
 */
export function createWebPushChannel (options: {
  vapid: VapidKeys
  timeoutMs: number
  outbound: OutboundGuard
  /** Trusted certificates instead of the process's (`https.globalAgent`'s) ones. */
  ca?: string | Buffer | Array<string | Buffer>
  now?: () => number
}): PushChannel {
  const now = options.now ?? Date.now
  const { subject, publicKey, privateKey } = options.vapid
  const tokens = new Map<string, { authorization: string, renewAt: number }>()

  function vapidAuthorization (audience: string): string {
    const kept = tokens.get(audience)
    if (kept !== undefined && now() < kept.renewAt) return kept.authorization
    const expiresAt = Math.floor((now() + VAPID_TOKEN_MS) / 1000)
    const { Authorization: authorization } = webPush.getVapidHeaders(audience, subject, publicKey, privateKey, 'aes128gcm', expiresAt)
    tokens.delete(audience)
    if (tokens.size >= VAPID_AUDIENCES) tokens.delete(tokens.keys().next().value as string)
    tokens.set(audience, { authorization, renewAt: expiresAt * 1000 - VAPID_RENEW_MS })
    return authorization
  }

  const agent = new Agent({ ...globalAgent.options, ...(options.ca === undefined ? {} : { ca: options.ca }), keepAlive: true, timeout: IDLE_MS, lookup: options.outbound.lookup })
  return {
    kind: 'webpush',
    async send (subscription, delivery) {
      if (subscription.kind !== 'webpush') return { status: 'failed', detail: `not a webpush subscription: ${subscription.kind}` }
      const ttl = Math.max(0, Math.ceil((delivery.expiresAt - now()) / 1000))
      // An address is not looked up, so it is checked here; a name is checked by the agent's lookup, at connect.
      const url = new URL(subscription.endpoint)
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
      const refused = isIP(host) === 0 ? null : options.outbound.refusal(host)
      if (refused !== null) return { status: 'failed', detail: `endpoint refused: ${refused}` }
      try {
        await webPush.sendNotification({ endpoint: subscription.endpoint, keys: subscription.keys }, JSON.stringify(delivery.payload), {
          headers: { Authorization: vapidAuthorization(url.origin) },
          TTL: ttl,
          urgency: 'high',
          topic: delivery.topic,
          contentEncoding: 'aes128gcm',
          timeout: options.timeoutMs,
          agent
        })
        return { status: 'accepted' }
      } catch (err) {
        if (err instanceof WebPushError) return outcomeOfStatus(err.statusCode)
        const code = (err as { code?: string }).code
        if (code === 'EOUTBOUNDREFUSED') return { status: 'failed', detail: `endpoint refused: ${(err as Error).message}` }
        return { status: 'retry', detail: code ?? (err as Error).message }
      }
    },
    close () {
      agent.destroy()
    }
  }
}

export function generateVapidKeys (): { publicKey: string, privateKey: string } {
  return webPush.generateVAPIDKeys()
}
