import { RtcRole, RtcTokenBuilder } from 'agora-token'
import { IntercomError } from '../errors'
import type { Rtc, RtcProvider, RtcToken } from './provider'

export interface AgoraOptions {
  appId: string
  appCertificate: string
  expireSeconds: number
}

const HEX32 = /^[0-9a-fA-F]{32}$/
/** Agora allows more characters; the project's ids and call ids need no others. */
const CHANNEL = /^[A-Za-z0-9_-]{1,63}$/
const USER_ACCOUNT = /^[A-Za-z0-9_-]{1,255}$/

/** Agora AccessToken2 (`007...`) for a user account, publisher role; the certificate stays in a closure. */
export function createAgoraProvider (options: AgoraOptions): RtcProvider {
  const { appId, expireSeconds } = options
  const certificate = options.appCertificate
  if (typeof appId !== 'string' || !HEX32.test(appId)) {
    throw new IntercomError('internal', 'Agora is misconfigured: AGORA_APP_ID must be the 32 hex digit App ID of the Agora console')
  }
  if (typeof certificate !== 'string' || !HEX32.test(certificate)) {
    throw new IntercomError('internal', 'Agora is misconfigured: AGORA_APP_CERTIFICATE must be the 32 hex digit App Certificate')
  }
  if (!Number.isSafeInteger(expireSeconds) || expireSeconds <= 0) {
    throw new IntercomError('internal', 'Agora is misconfigured: AGORA_TOKEN_EXPIRE must be a positive number of seconds')
  }

  function token (userId: string, channelId: string): RtcToken {
    // An empty account would make a token valid for any user: refuse it with the rest.
    if (!USER_ACCOUNT.test(userId)) {
      throw new IntercomError('invalid_request', 'RTC user ids are 1 to 255 letters, digits, _ or -')
    }
    if (!CHANNEL.test(channelId)) {
      throw new IntercomError('invalid_request', 'RTC channel ids are 1 to 63 letters, digits, _ or -')
    }
    // The library reads the clock itself: reading it first keeps expire_at at or before the real expiry.
    const issuedAt = Math.floor(Date.now() / 1000)
    const value = RtcTokenBuilder.buildTokenWithUserAccount(
      appId, certificate, channelId, userId, RtcRole.PUBLISHER, expireSeconds, expireSeconds)
    return { token: value, expire_at: (issuedAt + expireSeconds) * 1000 }
  }

  function forChannel (userId: string, channelId: string): Rtc {
    return { app_id: appId, channel_id: channelId, user_id: userId, token: token(userId, channelId).token }
  }

  return Object.freeze({ name: 'agora' as const, appId, token, forChannel })
}
