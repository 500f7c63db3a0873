import { Api } from 'tls-sig-api-v2'
import { IntercomError } from '../errors'
import type { TencentRtc } from './provider'

export interface TrtcOptions {
  sdkAppId: number
  secretKey: string
  expireSeconds: number
}

export interface UserSig {
  user_sig: string
  /** ms since epoch; never later than the expiry written in the UserSig. */
  expire_at: number
}

/** Signs TRTC UserSigs; the secret key stays in a closure, out of reach of JSON and inspect. */
export interface TrtcSigner {
  readonly sdkAppId: number
  userSig (userId: string): UserSig
  forRoom (userId: string, roomId: string): TencentRtc
}

/** Users whose UserSig is kept; beyond, the least recently signed is dropped. */
const USER_SIG_CACHE_SIZE = 50_000

/** Tencent accepts user ids of at most 32 letters, digits, `_` and `-`. */
const TRTC_USER_ID = /^[A-Za-z0-9_-]{1,32}$/

export function createTrtcSigner (options: TrtcOptions): TrtcSigner {
  const { sdkAppId, expireSeconds } = options
  if (!Number.isSafeInteger(sdkAppId) || sdkAppId <= 0) {
    throw new IntercomError('internal', 'TRTC is misconfigured: set TRTC_SDK_APP_ID to the positive SDKAppID of the TRTC console')
  }
  if (typeof options.secretKey !== 'string' || options.secretKey.length === 0) {
    throw new IntercomError('internal', 'TRTC is misconfigured: set TRTC_SECRET_KEY to the application\'s secret key')
  }
  if (!Number.isSafeInteger(expireSeconds) || expireSeconds <= 0) {
    throw new IntercomError('internal', 'TRTC is misconfigured: TRTC_USERSIG_EXPIRE must be a positive number of seconds')
  }
  const api = new Api(sdkAppId, options.secretKey)
  // A UserSig names a user, not a room: one serves every call of that user while
  // at least half its lifetime is left. Signing (deflate + HMAC) is the costliest
  // step of setting up a call, which signs one per party.
  const cache = new Map<string, UserSig>()
  const refreshMs = (expireSeconds * 1000) / 2

  function sign (userId: string): UserSig {
    // The library reads the clock itself: reading it first keeps expire_at at or before the real expiry.
    const issuedAt = Math.floor(Date.now() / 1000)
    const sig = api.genUserSig(userId, expireSeconds)
    return { user_sig: sig, expire_at: (issuedAt + expireSeconds) * 1000 }
  }

  function userSig (userId: string): UserSig {
    if (!TRTC_USER_ID.test(userId)) {
      throw new IntercomError('invalid_request', 'TRTC user ids are 1 to 32 letters, digits, _ or -; use a shorter user_id')
    }
    const cached = cache.get(userId)
    if (cached !== undefined && cached.expire_at - Date.now() > refreshMs) return cached
    const fresh = sign(userId)
    cache.delete(userId)
    if (cache.size >= USER_SIG_CACHE_SIZE) cache.delete(cache.keys().next().value as string)
    cache.set(userId, fresh)
    return fresh
  }

  function forRoom (userId: string, roomId: string): TencentRtc {
    return { sdk_app_id: sdkAppId, room_id: roomId, room_id_type: 'string', user_id: userId, user_sig: userSig(userId).user_sig }
  }

  return Object.freeze({ sdkAppId, userSig, forRoom })
}
