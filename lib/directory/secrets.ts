import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Secrets in the directory are either in clear (demo) or `scrypt$<N>$<r>$<p>$<salt>$<hash>`
 * (base64url salt and hash), as printed by `intercom-broker hash-secret`.
 */
const PREFIX = 'scrypt$'
const KEY_LENGTH = 32
const DEFAULTS = { N: 16384, r: 8, p: 1 }

export function isHashedSecret (stored: string): boolean {
  return stored.startsWith(PREFIX)
}

function scryptAsync (secret: string, salt: Buffer, params: { N: number, r: number, p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, { ...params, maxmem: 256 * params.N * params.r }, (err, key) => {
      if (err) reject(err)
      else resolve(key)
    })
  })
}

export async function hashSecret (secret: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(secret, salt, DEFAULTS)
  return `${PREFIX}${DEFAULTS.N}$${DEFAULTS.r}$${DEFAULTS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

const HASH_FORM = /^scrypt\$(\d{1,10})\$(\d{1,10})\$(\d{1,10})\$([^$]+)\$([^$]+)$/

interface HashParams { N: number, r: number, p: number, salt: string, key: string }
interface ParsedHash { N: number, r: number, p: number, salt: Buffer, key: Buffer }

/**
 * Checks that a stored hash has the form `hash-secret` prints, decoding nothing
 * (a directory holds tens of thousands); throws with a message that says what a
 * valid one looks like.
 */
export function checkHashedSecret (stored: string): HashParams {
  const match = HASH_FORM.exec(stored)
  const params = { N: Number(match?.[1]), r: Number(match?.[2]), p: Number(match?.[3]) }
  const valid = match !== null && params.N > 1 && (params.N & (params.N - 1)) === 0 && params.r > 0 && params.p > 0
  if (!valid) throw new Error('malformed hashed secret: expected scrypt$N$r$p$salt$hash as printed by `intercom-broker hash-secret`')
  return { ...params, salt: match[4] as string, key: match[5] as string }
}

/** Parses a stored hash for checking secrets against it; throws like `checkHashedSecret`. */
export function parseHashedSecret (stored: string): ParsedHash {
  const { salt, key, ...params } = checkHashedSecret(stored)
  return { ...params, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') }
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

const DUMMY_SALT = Buffer.alloc(16)
const DUMMY_KEY = Buffer.alloc(KEY_LENGTH)

/**
 * Costs what checking a wrong secret against a hash costs, and is always false:
 * for names that do not exist, so that timing does not tell them from real ones.
 */
export async function checkAgainstDummyHash (presented: string): Promise<false> {
  const key = await scryptAsync(presented, DUMMY_SALT, DEFAULTS)
  timingSafeEqual(key, DUMMY_KEY)
  return false
}

/**
 * Checks presented secrets against one stored secret. Hashes are slow on
 * purpose, so a secret once verified is remembered by its SHA-256 and a
 * reconnecting client costs one digest, not one scrypt. Any other secret
 * still costs a scrypt: a wrong guess answers no faster for a name that
 * has signed in before.
 */
export function createSecretChecker (stored: string): (presented: string) => Promise<boolean> {
  // Prepared at the first sign-in, not here: a directory of tens of thousands is indexed on every change.
  if (!isHashedSecret(stored)) {
    let expected: Buffer | null = null
    return async (presented) => {
      expected ??= digest(stored)
      return timingSafeEqual(digest(presented), expected)
    }
  }
  let parsed: ParsedHash | null = null
  let verified: Buffer | null = null
  return async (presented) => {
    const presentedDigest = digest(presented)
    if (verified !== null && timingSafeEqual(presentedDigest, verified)) return true
    parsed ??= parseHashedSecret(stored)
    const key = await scryptAsync(presented, parsed.salt, parsed)
    if (key.length !== parsed.key.length || !timingSafeEqual(key, parsed.key)) return false
    verified = presentedDigest
    return true
  }
}
