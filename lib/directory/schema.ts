import { Type, type Static } from 'typebox'
import { ID_PATTERN } from '../identity'

const Id = Type.String({ pattern: ID_PATTERN })
/** A secret in clear (demo) or a `scrypt$...` hash made by `intercom-broker hash-secret`. */
const Secret = Type.String({ minLength: 1, maxLength: 512 })
/** An MQTT topic filter: no empty string, no NUL, wildcards checked by the loader. */
const Filter = Type.String({ minLength: 1, maxLength: 256 })

/** How a household's residents are rung and what one rejection does. */
const HouseholdPolicy = Type.Object({
  on_reject: Type.Optional(Type.Enum(['leg', 'all'], { description: '`leg` (default): a rejection ends that resident\'s ring only; `all`: it ends the call for everyone' }))
}, { additionalProperties: false })

export const DirectorySchema = Type.Object({
  devices: Type.Array(Type.Object({ id: Id, secret: Secret, households: Type.Array(Id) }, { additionalProperties: false }), { default: [] }),
  households: Type.Array(Type.Object({ number: Id, residents: Type.Array(Id), policy: Type.Optional(HouseholdPolicy) }, { additionalProperties: false }), { default: [] }),
  residents: Type.Array(Type.Object({
    id: Id,
    secret: Secret,
    can_unlock: Type.Optional(Type.Boolean({ description: 'whether the resident may open the door (default true)' }))
  }, { additionalProperties: false }), { default: [] }),
  services: Type.Array(Type.Object({ name: Id, token: Secret }, { additionalProperties: false }), { default: [] }),
  clients: Type.Array(Type.Object({
    name: Id,
    secret: Secret,
    publish: Type.Array(Filter, { default: [] }),
    subscribe: Type.Array(Filter, { default: [] })
  }, { additionalProperties: false }), { default: [] })
}, { additionalProperties: false })

export type DirectoryFile = Static<typeof DirectorySchema>
