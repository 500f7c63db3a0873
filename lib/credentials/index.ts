import {
  DEMO_AGORA_APP_CERTIFICATE, DEMO_AGORA_APP_ID, DEMO_TRTC_SDK_APP_ID, DEMO_TRTC_SECRET_KEY, isDemoAgora, isDemoTrtc
} from '../../config/demo-credentials'
import type { Config } from '../../config/env'
import { IntercomError } from '../errors'
import type { Identity } from '../identity'
import { createAgoraProvider, type AgoraOptions } from './agora'
import { rtcUserId, type MediaProvider, type Rtc, type RtcProvider, type TencentRtc } from './provider'
import { createTrtcSigner, type TrtcOptions, type TrtcSigner } from './trtc'

export interface CredentialsOptions {
  trtc?: TrtcOptions | null
  agora?: AgoraOptions | null
}

/** What a call session or invite carries for its recipient. */
export type CallCredentials = { tencen_rtc: TencentRtc } | { rtc: Rtc }

/** The configured media providers; null means not configured (503 provider_not_configured). */
export interface Credentials {
  readonly trtc: TrtcSigner | null
  readonly rtc: RtcProvider | null
  /** Credentials of `who` for the call's room or channel (the call id); null for services and clients. */
  forCall (provider: MediaProvider, who: Identity, callId: string): CallCredentials | null
}

export function createCredentials (options: CredentialsOptions): Credentials {
  const trtc = options.trtc ? createTrtcSigner(options.trtc) : null
  const rtc = options.agora ? createAgoraProvider(options.agora) : null
  const credentials: Credentials = Object.freeze({
    trtc,
    rtc,
    forCall (provider: MediaProvider, who: Identity, callId: string): CallCredentials | null {
      if (provider === 'trtc') {
        const signer = requireTrtc(credentials)
        const userId = rtcUserId(who)
        return userId === null ? null : { tencen_rtc: signer.forRoom(userId, callId) }
      }
      const tokens = requireRtc(credentials)
      const userId = rtcUserId(who)
      return userId === null ? null : { rtc: tokens.forChannel(userId, callId) }
    }
  })
  return credentials
}

export function requireTrtc (credentials: Credentials): TrtcSigner {
  if (credentials.trtc === null) {
    throw new IntercomError('provider_not_configured', 'TRTC is not configured on this server: set TRTC_SDK_APP_ID and TRTC_SECRET_KEY, or use the rtc provider')
  }
  return credentials.trtc
}

export function requireRtc (credentials: Credentials): RtcProvider {
  if (credentials.rtc === null) {
    throw new IntercomError('provider_not_configured', 'RTC is not configured on this server: set AGORA_APP_ID and AGORA_APP_CERTIFICATE, or use the trtc provider')
  }
  return credentials.rtc
}

type CredentialsConfig = Pick<Config,
  'TRTC_SDK_APP_ID' | 'TRTC_SECRET_KEY' | 'TRTC_USERSIG_EXPIRE' |
  'AGORA_APP_ID' | 'AGORA_APP_CERTIFICATE' | 'AGORA_TOKEN_EXPIRE' | 'DEMO_CREDENTIALS'>

/**
 * Options from the configuration: configured keys, else the demo ones when
 * DEMO_CREDENTIALS is on, else not configured. `demo` lists the providers
 * running on demo keys, for the start-up warning.
 */
export function credentialOptionsFromConfig (config: CredentialsConfig): { options: CredentialsOptions, demo: Array<'trtc' | 'agora'> } {
  const demo: Array<'trtc' | 'agora'> = []
  let trtc: TrtcOptions | null = null
  let agora: AgoraOptions | null = null
  if (config.TRTC_SDK_APP_ID !== undefined && config.TRTC_SECRET_KEY !== undefined) {
    trtc = { sdkAppId: config.TRTC_SDK_APP_ID, secretKey: config.TRTC_SECRET_KEY, expireSeconds: config.TRTC_USERSIG_EXPIRE }
  } else if (config.DEMO_CREDENTIALS) {
    trtc = { sdkAppId: DEMO_TRTC_SDK_APP_ID, secretKey: DEMO_TRTC_SECRET_KEY, expireSeconds: config.TRTC_USERSIG_EXPIRE }
  }
  if (config.AGORA_APP_ID !== undefined && config.AGORA_APP_CERTIFICATE !== undefined) {
    agora = { appId: config.AGORA_APP_ID, appCertificate: config.AGORA_APP_CERTIFICATE, expireSeconds: config.AGORA_TOKEN_EXPIRE }
  } else if (config.DEMO_CREDENTIALS) {
    agora = { appId: DEMO_AGORA_APP_ID, appCertificate: DEMO_AGORA_APP_CERTIFICATE, expireSeconds: config.AGORA_TOKEN_EXPIRE }
  }
  if (trtc !== null && isDemoTrtc(trtc.sdkAppId, trtc.secretKey)) demo.push('trtc')
  if (agora !== null && isDemoAgora(agora.appId, agora.appCertificate)) demo.push('agora')
  return { options: { trtc, agora }, demo }
}
