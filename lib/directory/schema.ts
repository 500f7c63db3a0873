import { Type, type Static } from 'typebox'
import { ID_PATTERN } from '../identity'

const Id = Type.String({ pattern: ID_PATTERN })
/**
 * A secret in clear (demo) or a `scrypt$...` hash made by `intercom-broker hash-secret`.
 * An entry without one signs in only with a token.
 */
const Secret = Type.String({ minLength: 1, maxLength: 512 })
/** An MQTT topic filter: no empty string, no NUL, wildcards checked by the loader. */
const Filter = Type.String({ minLength: 1, maxLength: 256 })

/** How a household's residents are rung and what one rejection does. */
const HouseholdPolicy = Type.Object({
  on_reject: Type.Optional(Type.Enum(['leg', 'all'], { description: '`leg` (default): a rejection ends that resident\'s ring only; `all`: it ends the call for everyone' })),
  ring: Type.Optional(Type.Union([
    Type.Literal('parallel'),
    Type.Object({ sequential: Type.Integer({ minimum: 1000, maximum: 300_000, description: 'ms each resident rings before the next one' }) }, { additionalProperties: false })
  ], { description: '`parallel` (default): every resident rings at once; `{"sequential": ms}`: one after the other in directory order, within the ring timeout' }))
}, { additionalProperties: false })

// Entries refuse fields they do not know: a typo or an export from another system is named, not silently dropped.
export const DeviceEntry = Type.Object({ id: Id, secret: Type.Optional(Secret), households: Type.Array(Id) }, { additionalProperties: false })
export const HouseholdEntry = Type.Object({ number: Id, residents: Type.Array(Id), policy: Type.Optional(HouseholdPolicy) }, { additionalProperties: false })
export const ResidentEntry = Type.Object({
  id: Id,
  secret: Type.Optional(Secret),
  can_unlock: Type.Optional(Type.Boolean({ description: 'whether the resident may open the door (default true)' }))
}, { additionalProperties: false })
export const ServiceEntry = Type.Object({ name: Id, token: Type.Optional(Secret) }, { additionalProperties: false })
export const ClientEntry = Type.Object({
  name: Id,
  secret: Type.Optional(Secret),
  publish: Type.Array(Filter, { default: [] }),
  subscribe: Type.Array(Filter, { default: [] })
}, { additionalProperties: false })

export const DirectorySchema = Type.Object({
  devices: Type.Array(DeviceEntry, { default: [] }),
  households: Type.Array(HouseholdEntry, { default: [] }),
  residents: Type.Array(ResidentEntry, { default: [] }),
  services: Type.Array(ServiceEntry, { default: [] }),
  clients: Type.Array(ClientEntry, { default: [] })
}, { additionalProperties: false })

export type DirectoryFile = Static<typeof DirectorySchema>
export type DeviceEntryData = Static<typeof DeviceEntry>
export type HouseholdEntryData = Static<typeof HouseholdEntry>
export type ResidentEntryData = Static<typeof ResidentEntry>
export type ClientEntryData = Static<typeof ClientEntry>
