/**
 * HTTP calls with the signed-in identity's credentials, which live only in
 * this object (in memory, for as long as the page is open).
 */

export interface Credentials {
  username: string
  password: string
}

/** A failed call: the HTTP status and the server's machine code, when it sent one. */
export class ApiError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

export interface Api {
  get: <T>(path: string) => Promise<T>
  put: <T>(path: string, body: unknown) => Promise<T>
  delete: <T>(path: string) => Promise<T>
}

/** Whole requests give up after this, so a stuck node shows an error instead of a spinner. */
const REQUEST_TIMEOUT_MS = 10_000

function base64 (text: string): string {
  let binary = ''
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** A signed JWT (three base64url parts) goes as a Bearer token; anything else with Basic. */
function authorization ({ username, password }: Credentials): string {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(password) ? `Bearer ${password}` : `Basic ${base64(`${username}:${password}`)}`
}

export function createApi (credentials: Credentials): Api {
  const header = authorization(credentials)
  async function call<T> (method: string, path: string, body?: unknown): Promise<T> {
    let response: Response
    try {
      response = await fetch(path, {
        method,
        headers: { authorization: header, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        credentials: 'omit',
        cache: 'no-store'
      })
    } catch {
      throw new ApiError(0, 'unreachable', 'The node did not answer; check the connection and try again.')
    }
    let envelope: { message?: string, error?: string, data?: unknown } = {}
    try {
      envelope = await response.json() as typeof envelope
    } catch {
      // Not JSON (a proxy's error page, say): the status alone tells what happened.
    }
    if (!response.ok) throw new ApiError(response.status, envelope.error ?? 'http_error', envelope.message ?? `HTTP ${response.status}`)
    return envelope.data as T
  }
  return {
    get: async (path) => await call('GET', path),
    put: async (path, body) => await call('PUT', path, body),
    delete: async (path) => await call('DELETE', path)
  }
}

/**
 * Checks credentials with one authenticated request that changes nothing:
 * asking for a call that does not exist is a 404 for a known identity and a
 * 401 for wrong credentials.
 */
export async function checkCredentials (api: Api): Promise<void> {
  try {
    await api.get('/api/mqtt/session?call_id=call-00000000-000000000000')
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401 && err.status !== 0 && err.status !== 429) return
    throw err
  }
}

/** Whether the route is missing on this node (not built or not enabled). */
export function isUnavailable (err: unknown): boolean {
  return err instanceof ApiError && (err.status === 404 || err.status === 405) && err.code !== 'call_not_found'
}
