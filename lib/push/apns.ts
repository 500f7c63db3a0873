import { createPrivateKey, sign, type KeyObject } from 'node:crypto'
import { connect, constants, type ClientHttp2Session } from 'node:http2'
import { outcomeOfStatus, type PushChannel, type PushOutcome } from './channel'

export interface ApnsOptions {
  /** Key id of the `.p8` signing key (10 characters). */
  keyId: string
  teamId: string
  /** The `.p8` key, PEM (PKCS #8, P-256). */
  key: string
  /** The app's bundle id; VoIP pushes go to `<bundle id>.voip`. */
  bundleId: string
  /** `https://api.push.apple.com` and `https://api.sandbox.push.apple.com` in production. */
  hosts: { production: string, sandbox: string }
  timeoutMs: number
  now?: () => number
}

/** Apple accepts a provider token for an hour and refuses new ones more often than every 20 minutes. */
const TOKEN_REFRESH_MS = 50 * 60_000

/** APNs reasons (with 400) that mean the token will never work again. */
const GONE_REASONS: ReadonlySet<string> = new Set(['BadDeviceToken', 'Unregistered', 'DeviceTokenNotForTopic'])

/** An ES256 JWT: `{alg, kid}` and `{iss, iat}`, signed raw r||s as JOSE wants. */
export function providerToken (key: KeyObject, keyId: string, teamId: string, issuedAt: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${part({ alg: 'ES256', kid: keyId })}.${part({ iss: teamId, iat: Math.floor(issuedAt / 1000) })}`
  const signature = sign('sha256', Buffer.from(unsigned), { key, dsaEncoding: 'ieee-p1363' })
  return `${unsigned}.${signature.toString('base64url')}`
}

/**
 * APNs over HTTP/2 with token authentication: invites as VoIP pushes (so CallKit
 * rings), cancellations as alerts, each with its expiry and the call as collapse id.
 * One HTTP/2 session per host, reused, opened again after an error.
 */
export function createApnsChannel (options: ApnsOptions): PushChannel {
  const now = options.now ?? Date.now
  const key = createPrivateKey(options.key)
  const sessions = new Map<string, ClientHttp2Session>()
  let token: { value: string, at: number } | null = null

  function bearer (fresh = false): string {
    if (fresh || token === null || now() - token.at >= TOKEN_REFRESH_MS) {
      token = { value: providerToken(key, options.keyId, options.teamId, now()), at: now() }
    }
    return token.value
  }

  function session (host: string): ClientHttp2Session {
    const open = sessions.get(host)
    if (open !== undefined && !open.closed && !open.destroyed) return open
    const created = connect(host)
    created.on('error', () => sessions.delete(host))
    created.on('close', () => { if (sessions.get(host) === created) sessions.delete(host) })
    // An idle session must not keep the process alive.
    created.unref()
    sessions.set(host, created)
    return created
  }

  function post (host: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number, reason: string }> {
    return new Promise((resolve, reject) => {
      const request = session(host).request({ [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: path, ...headers })
      let status = 0
      let text = ''
      request.setTimeout(options.timeoutMs, () => request.close(constants.NGHTTP2_CANCEL))
      request.on('response', (h) => { status = Number(h[constants.HTTP2_HEADER_STATUS]) })
      request.setEncoding('utf8')
      request.on('data', (chunk: string) => { if (text.length < 4096) text += chunk })
      request.on('end', () => {
        let reason = ''
        try {
          reason = String((JSON.parse(text) as { reason?: string }).reason ?? '')
        } catch {}
        resolve({ status, reason })
      })
      request.on('error', reject)
      request.on('close', () => { if (status === 0) reject(new Error('APNs stream closed without an answer')) })
      request.end(body)
    })
  }

  return {
    kind: 'apns',
    async send (subscription, delivery) {
      if (subscription.kind !== 'apns') return { status: 'failed', detail: `not an apns subscription: ${subscription.kind}` }
      const invite = delivery.payload.type === 'call.incoming'
      const body = invite
        ? { aps: {}, ...delivery.payload }
        : { aps: { alert: { title: 'Missed door call', body: 'The call ended before you answered' }, 'thread-id': delivery.payload.call_id }, ...delivery.payload }
      const host = options.hosts[subscription.environment]
      const headers = (fresh: boolean): Record<string, string> => ({
        authorization: `bearer ${bearer(fresh)}`,
        'apns-push-type': invite ? 'voip' : 'alert',
        'apns-topic': invite ? `${options.bundleId}.voip` : options.bundleId,
        'apns-priority': '10',
        'apns-expiration': String(Math.floor(delivery.expiresAt / 1000)),
        'apns-collapse-id': delivery.topic,
        'content-type': 'application/json'
      })
      const path = `/3/device/${subscription.token}`
      try {
        let answer = await post(host, path, headers(false), JSON.stringify(body))
        // Apple let our token lapse (a clock jump, or a key rotated): sign a new one once.
        if (answer.status === 403 && answer.reason === 'ExpiredProviderToken') answer = await post(host, path, headers(true), JSON.stringify(body))
        return outcomeOfApns(answer.status, answer.reason)
      } catch (err) {
        return { status: 'retry', detail: (err as Error).message }
      }
    },
    close () {
      for (const s of sessions.values()) s.close()
      sessions.clear()
    }
  }
}

function outcomeOfApns (status: number, reason: string): PushOutcome {
  const detail = reason === '' ? `HTTP ${status}` : `HTTP ${status} ${reason}`
  if (status === 400 && GONE_REASONS.has(reason)) return { status: 'gone', detail }
  return outcomeOfStatus(status, detail)
}
