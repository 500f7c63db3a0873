import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { jwtVerify } from 'jose'
import type { Directory } from '../directory/directory'
import type { Identity } from '../identity'

export interface TokenOptions {
  /** HS256 shared secret. */
  secret?: string
  /** PEM public key (RS256 or ES256), or the path of a PEM file. */
  publicKey?: string
  audience?: string
  issuer?: string
}

/** Who a token signs in, and until when (ms since epoch). */
export interface TokenSignIn {
  identity: Identity
  expiresAt: number
}

export interface TokenVerifier {
  /** Whether a credential has the shape of a JWT: such a credential is checked as a token only. */
  looksLikeToken (credential: string): boolean
  /** The directory identity a valid token names in `sub`, or null (forged, expired, wrong audience, unknown). */
  verify (token: string): Promise<TokenSignIn | null>
}

/** Longer credentials are no token of ours: verifying them would cost for nothing. */
const MAX_TOKEN_LENGTH = 4096
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** The key and the one algorithm it may verify: a token cannot choose its own. */
function verificationKey (options: TokenOptions): { key: Uint8Array | KeyObject, algorithm: string } {
  if (options.secret !== undefined) return { key: new TextEncoder().encode(options.secret), algorithm: 'HS256' }
  const pem = options.publicKey ?? ''
  const key = createPublicKey(pem.includes('-----BEGIN') ? pem : readFileSync(pem, 'utf8'))
  if (key.asymmetricKeyType === 'rsa') return { key, algorithm: 'RS256' }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { key, algorithm: 'ES256' }
  throw new Error(`AUTH_JWT_PUBLIC_KEY is a ${key.asymmetricKeyType ?? 'unknown'} key; use an RSA key (RS256) or a P-256 EC key (ES256)`)
}

/**
 * Verifies sign-in tokens (JWT) against the configured key; null when no key
 * is configured. Throws at start-up for an unusable key.
 */
export function createTokenVerifier (options: TokenOptions, directory: Directory): TokenVerifier | null {
  if (options.secret === undefined && options.publicKey === undefined) return null
  const { key, algorithm } = verificationKey(options)
  const checks = {
    algorithms: [algorithm],
    requiredClaims: ['exp', 'sub'],
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    ...(options.issuer === undefined ? {} : { issuer: options.issuer })
  }
  return {
    looksLikeToken: (credential) => credential.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(credential),
    async verify (token) {
      let payload
      try {
        ({ payload } = await jwtVerify(token, key, checks))
      } catch {
        return null
      }
      const identity = typeof payload.sub === 'string' ? directory.identityOf(payload.sub) : null
      if (identity === null || typeof payload.exp !== 'number') return null
      return { identity, expiresAt: payload.exp * 1000 }
    }
  }
}

/**
 * One sign-in with a username and a credential: a token when JWT sign-in is
 * configured and the credential looks like one (its `sub` must be the
 * username), else the identity's secret in the directory.
 */
export async function signIn (directory: Directory, tokens: TokenVerifier | null, name: string, credential: string): Promise<{ identity: Identity, expiresAt?: number } | null> {
  if (tokens !== null && tokens.looksLikeToken(credential)) {
    const signedIn = await tokens.verify(credential)
    return signedIn !== null && signedIn.identity.name === name ? signedIn : null
  }
  const identity = await directory.authenticate(name, credential)
  return identity === null ? null : { identity }
}
