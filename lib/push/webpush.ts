import webPush, { WebPushError } from 'web-push'
import { outcomeOfStatus, type PushChannel } from './channel'

export interface VapidKeys {
  /** base64url, uncompressed P-256 point: what browsers pass as applicationServerKey. */
  publicKey: string
  privateKey: string
  /** `mailto:` or `https:` contact of the sender, sent in the VAPID JWT. */
  subject: string
}

/**
 * Web Push (RFC 8030) with `aes128gcm` payload encryption (RFC 8291) and VAPID
 * (RFC 8292), through the `web-push` package: the TTL is the seconds left to the
 * push's expiry, invites are `Urgency: high`.
 */
export function createWebPushChannel (options: { vapid: VapidKeys, timeoutMs: number, now?: () => number }): PushChannel {
  const now = options.now ?? Date.now
  const vapidDetails = { subject: options.vapid.subject, publicKey: options.vapid.publicKey, privateKey: options.vapid.privateKey }
  return {
    kind: 'webpush',
    async send (subscription, delivery) {
      if (subscription.kind !== 'webpush') return { status: 'failed', detail: `not a webpush subscription: ${subscription.kind}` }
      const ttl = Math.max(0, Math.ceil((delivery.expiresAt - now()) / 1000))
      try {
        await webPush.sendNotification({ endpoint: subscription.endpoint, keys: subscription.keys }, JSON.stringify(delivery.payload), {
          vapidDetails,
          TTL: ttl,
          urgency: 'high',
          topic: delivery.topic,
          contentEncoding: 'aes128gcm',
          timeout: options.timeoutMs
        })
        return { status: 'accepted' }
      } catch (err) {
        if (err instanceof WebPushError) return outcomeOfStatus(err.statusCode)
        return { status: 'retry', detail: (err as { code?: string }).code ?? (err as Error).message }
      }
    }
  }
}

export function generateVapidKeys (): { publicKey: string, privateKey: string } {
  return webPush.generateVAPIDKeys()
}
