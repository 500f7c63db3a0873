import { Type, type TSchema } from 'typebox'
import { ERROR_STATUS } from './errors'

/** `{code: 0, message: 'success', data}` around a route's data schema (the success envelope). */
export function envelopeOf<S extends TSchema> (data: S) {
  return Type.Object({ code: Type.Literal(0), message: Type.Literal('success'), data })
}

export const ErrorEnvelopeSchema = Type.Object({
  code: Type.Integer({ description: 'the HTTP status' }),
  message: Type.String({ description: 'what went wrong and what to do' }),
  error: Type.Enum(Object.keys(ERROR_STATUS)),
  data: Type.Null()
})

/** The response schemas of a route: its data on 200, the error envelope otherwise. */
export function responsesOf<S extends TSchema> (data: S) {
  return { 200: envelopeOf(data), '4xx': ErrorEnvelopeSchema, '5xx': ErrorEnvelopeSchema }
}
