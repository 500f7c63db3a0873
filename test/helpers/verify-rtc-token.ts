import { createHmac, timingSafeEqual } from 'node:crypto'
import { inflateSync } from 'node:zlib'

/**
 * Checks Agora AccessToken2 tokens from the published format alone:
 * `007` + base64(zlib(string signature, signing info)), little-endian, strings
 * as uint16 length + bytes. Signing info: app id, issue ts, expire (seconds after
 * issue), salt, services; an RTC service (type 1) is its privilege map
 * (privilege -> seconds after issue), channel and user account. The signature is
 * HMAC(HMAC(HMAC(certificate; key issue ts); key salt); signing info).
 */

export const RTC_SERVICE = 1
export const PRIVILEGE = { JOIN_CHANNEL: 1, PUBLISH_AUDIO: 2, PUBLISH_VIDEO: 3, PUBLISH_DATA: 4 } as const

export interface RtcService {
  type: number
  privileges: Record<number, number>
  channel: string
  user: string
}

export interface RtcTokenFields {
  appId: string
  issueTs: number
  expire: number
  salt: number
  services: RtcService[]
}

class Reader {
  private offset = 0
  constructor (private readonly buffer: Buffer) {}

  get position (): number { return this.offset }

  uint16 (): number {
    const value = this.buffer.readUInt16LE(this.offset)
    this.offset += 2
    return value
  }

  uint32 (): number {
    const value = this.buffer.readUInt32LE(this.offset)
    this.offset += 4
    return value
  }

  bytes (): Buffer {
    const length = this.uint16()
    if (this.offset + length > this.buffer.length) throw new Error('truncated token')
    const value = this.buffer.subarray(this.offset, this.offset + length)
    this.offset += length
    return value
  }

  string (): string {
    return this.bytes().toString('utf8')
  }

  done (): boolean {
    return this.offset === this.buffer.length
  }
}

function uint32 (value: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeUInt32LE(value)
  return buffer
}

function hmac (key: Buffer, message: Buffer | string): Buffer {
  return createHmac('sha256', key).update(message).digest()
}

/** The fields of a token; no signature check. */
export function decodeRtcToken (token: string): { fields: RtcTokenFields, signature: Buffer, signingInfo: Buffer } {
  if (!token.startsWith('007')) throw new Error('not an AccessToken2 (007) token')
  const content = inflateSync(Buffer.from(token.slice(3), 'base64'))
  const reader = new Reader(content)
  const signature = reader.bytes()
  const signingInfo = content.subarray(reader.position)
  const appId = reader.string()
  const issueTs = reader.uint32()
  const expire = reader.uint32()
  const salt = reader.uint32()
  const services: RtcService[] = []
  for (let count = reader.uint16(); count > 0; count--) {
    const type = reader.uint16()
    if (type !== RTC_SERVICE) throw new Error(`service type ${type} is not decoded here`)
    const privileges: Record<number, number> = {}
    for (let n = reader.uint16(); n > 0; n--) {
      const privilege = reader.uint16()
      privileges[privilege] = reader.uint32()
    }
    services.push({ type, privileges, channel: reader.string(), user: reader.string() })
  }
  if (!reader.done()) throw new Error('trailing bytes in token')
  return { fields: { appId, issueTs, expire, salt, services }, signature, signingInfo }
}

/** The fields of a token signed with `appCertificate`; throws otherwise. */
export function verifyRtcToken (token: string, appCertificate: string): RtcTokenFields {
  const { fields, signature, signingInfo } = decodeRtcToken(token)
  const signing = hmac(uint32(fields.salt), hmac(uint32(fields.issueTs), appCertificate))
  const expected = hmac(signing, signingInfo)
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new Error('RTC token signature mismatch')
  }
  return fields
}
