import { Type, type Static } from 'typebox'
import type { Identity } from '../identity'

/**
 * Media credentials as they cross the wire (snake_case), one schema for
 * validation, types and OpenAPI; and what an RTC token provider offers.
 */

export const RTC_PROVIDER_NAMES = ['agora'] as const
export type RtcProviderName = typeof RTC_PROVIDER_NAMES[number]

/** The two media back-ends a call can use: Tencent TRTC, or the RTC token provider. */
export type MediaProvider = 'trtc' | 'rtc'

const ExpireAt = Type.Integer({ minimum: 0, description: 'ms since epoch after which the credential is refused' })

export const TencentRtcSchema = Type.Object({
  sdk_app_id: Type.Integer({ description: 'TRTC SDKAppID' }),
  room_id: Type.String({ description: 'string room id: the call_id' }),
  room_id_type: Type.Literal('string'),
  user_id: Type.String({ description: '`device_<id>` or `resident_<id>`' }),
  user_sig: Type.String({ description: 'UserSig made with tls-sig-api-v2' })
})

export const RtcSchema = Type.Object({
  app_id: Type.String(),
  channel_id: Type.String({ description: 'the call_id' }),
  user_id: Type.String({ description: '`device_<id>` or `resident_<id>`' }),
  token: Type.String({ description: 'Agora AccessToken2 (`007...`)' })
})

/** `data` of `POST /api/trtc/usersig`. */
export const TrtcUserSigResponseSchema = Type.Object({
  sdk_app_id: Type.Integer(),
  user_id: Type.String(),
  user_sig: Type.String(),
  expire_at: ExpireAt
})

/** `data` of `POST /api/rtc/token`. */
export const RtcTokenResponseSchema = Type.Object({
  provider: Type.Enum(RTC_PROVIDER_NAMES),
  app_id: Type.String(),
  user_id: Type.String(),
  channel_id: Type.String(),
  token: Type.String(),
  expire_at: ExpireAt
})

export type TencentRtc = Static<typeof TencentRtcSchema>
export type Rtc = Static<typeof RtcSchema>
export type TrtcUserSigResponse = Static<typeof TrtcUserSigResponseSchema>
export type RtcTokenResponse = Static<typeof RtcTokenResponseSchema>

export interface RtcToken {
  token: string
  /** ms since epoch; never later than the expiry written in the token. */
  expire_at: number
}

/** An RTC token provider; it holds its certificate without exposing it. */
export interface RtcProvider {
  readonly name: RtcProviderName
  readonly appId: string
  token (userId: string, channelId: string): RtcToken
  forChannel (userId: string, channelId: string): Rtc
}

/** Media user id of an identity; services and clients take no part in media. */
export function rtcUserId (who: Identity): string | null {
  if (who.kind === 'device' || who.kind === 'resident') return `${who.kind}_${who.id}`
  return null
}
