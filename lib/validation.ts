import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import type { Static, TSchema } from 'typebox'
import { IntercomError } from './errors'

/**
 * Validation of MQTT request payloads with the same schemas, and the same
 * Ajv settings, that Fastify uses for the HTTP routes.
 */
const ajv = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, strict: false })

/** `{instancePath: '/call_info/action'}` → "call_info.action must be ..." */
export function describeIssue (issue: ErrorObject, root = 'payload'): string {
  const params = issue.params as Record<string, unknown>
  const missing = typeof params.missingProperty === 'string' ? `/${params.missingProperty}` : ''
  const extra = typeof params.additionalProperty === 'string' ? `/${params.additionalProperty}` : ''
  const field = `${issue.instancePath}${missing}${extra}`.split('/').filter(Boolean).join('.') || root
  if (missing !== '') return `${field} is required`
  if (extra !== '') return `${field} is not a known field`
  const allowed = Array.isArray(params.allowedValues) ? ` (${params.allowedValues.join(', ')})` : ''
  return `${field} ${issue.message ?? 'is invalid'}${allowed}`
}

export interface Validator<T> {
  /** The value, typed, or an IntercomError `invalid_request` naming the field. */
  parse (value: unknown): T
}

export function compileValidator<S extends TSchema> (schema: S): Validator<Static<S>> {
  const validate = ajv.compile(schema) as ValidateFunction<Static<S>>
  return {
    parse (value) {
      if (validate(value)) return value
      const issue = validate.errors?.[0]
      throw new IntercomError('invalid_request', issue === undefined ? 'payload is invalid' : describeIssue(issue))
    }
  }
}
