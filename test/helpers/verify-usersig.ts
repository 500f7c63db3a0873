import { createHmac, timingSafeEqual } from 'node:crypto'
import { deflateSync, inflateSync } from 'node:zlib'

/**
 * Checks TRTC UserSigs from Tencent's published format alone, without the code
 * that makes them: base64 with `+/=` written `*-_`, of a zlib-deflated JSON
 * document whose `TLS.sig` is an HMAC-SHA256 keyed with the secret key.
 */

export interface UserSigFields {
  version: string
  identifier: string
  sdkAppId: number
  time: number
  expire: number
}

/** The JSON document inside a UserSig. */
export function decodeUserSig (userSig: string): Record<string, unknown> {
  const base64 = userSig.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=')
  return JSON.parse(inflateSync(Buffer.from(base64, 'base64')).toString('utf8'))
}

/** The inverse of decodeUserSig, to forge altered UserSigs in tests. */
export function encodeUserSig (doc: Record<string, unknown>): string {
  return deflateSync(Buffer.from(JSON.stringify(doc))).toString('base64')
    .replace(/\+/g, '*').replace(/\//g, '-').replace(/=/g, '_')
}

/** The fields of a UserSig whose signature `secretKey` made; throws otherwise. */
export function verifyUserSig (userSig: string, secretKey: string): UserSigFields {
  const doc = decodeUserSig(userSig)
  const fields = {
    version: doc['TLS.ver'],
    identifier: doc['TLS.identifier'],
    sdkAppId: doc['TLS.sdkappid'],
    time: doc['TLS.time'],
    expire: doc['TLS.expire']
  }
  const sig = doc['TLS.sig']
  if (fields.version !== '2.0' || typeof fields.identifier !== 'string' || typeof sig !== 'string' ||
    !Number.isInteger(fields.sdkAppId) || !Number.isInteger(fields.time) || !Number.isInteger(fields.expire)) {
    throw new Error('malformed UserSig document')
  }
  const signed = `TLS.identifier:${fields.identifier}\nTLS.sdkappid:${fields.sdkAppId}\n` +
    `TLS.time:${fields.time}\nTLS.expire:${fields.expire}\n`
  const expected = createHmac('sha256', secretKey).update(signed).digest()
  const presented = Buffer.from(sig, 'base64')
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw new Error('UserSig signature mismatch')
  }
  return fields as UserSigFields
}
