/**
 * Demo media credentials, used when none are configured and DEMO_CREDENTIALS is on.
 * They make well-formed, verifiable UserSigs and tokens that no provider accepts;
 * start-up warns whenever they are in use.
 */
export const DEMO_TRTC_SDK_APP_ID = 1400000000
export const DEMO_TRTC_SECRET_KEY = 'intercom-broker-demo-trtc-secret-key-do-not-use-in-production'
export const DEMO_AGORA_APP_ID = 'dec0de00000000000000000000000a99'
export const DEMO_AGORA_APP_CERTIFICATE = 'dec0de00000000000000000000000ce7'

/** True when either TRTC value is the demo one: a known key signs for anyone. */
export function isDemoTrtc (sdkAppId: number, secretKey: string): boolean {
  return sdkAppId === DEMO_TRTC_SDK_APP_ID || secretKey === DEMO_TRTC_SECRET_KEY
}

/** True when either Agora value is the demo one. */
export function isDemoAgora (appId: string, appCertificate: string): boolean {
  return appId.toLowerCase() === DEMO_AGORA_APP_ID || appCertificate.toLowerCase() === DEMO_AGORA_APP_CERTIFICATE
}
