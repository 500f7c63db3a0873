/**
 * Every error the product reports, HTTP or MQTT, comes from here: one machine
 * code, one HTTP status, one human message that says what to do.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  request_timeout: 408,
  call_not_found: 404,
  device_busy: 409,
  residents_busy: 409,
  residents_unavailable: 409,
  invalid_transition: 409,
  payload_too_large: 413,
  no_residents: 422,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  provider_not_configured: 503,
  service_unavailable: 503
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export class IntercomError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number

  constructor (code: ErrorCode, message: string) {
    super(message)
    this.name = 'IntercomError'
    this.code = code
    this.statusCode = ERROR_STATUS[code]
  }
}

export function isIntercomError (err: unknown): err is IntercomError {
  return err instanceof IntercomError
}

/** The `{code, message, error, data}` body of a failed HTTP response. */
export function errorEnvelope (err: IntercomError): { code: number, message: string, error: ErrorCode, data: null } {
  return { code: err.statusCode, message: err.message, error: err.code, data: null }
}

/** The success body of every HTTP response. */
export function successEnvelope<T> (data: T): { code: 0, message: 'success', data: T } {
  return { code: 0, message: 'success', data }
}
