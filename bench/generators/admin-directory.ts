/**
 * The directory workload's directories: `households` households `hh<i>` of
 * three residents `hr<3i>` … `hr<3i+2>`, and `devices` doors `hd<j>` ringing
 * an equal share of the households each. Pure, so that the runner and the
 * sign-in generators agree on who exists without sharing state.
 */
export const RESIDENTS_PER_HOUSEHOLD = 3

export interface DirectoryShape {
  households: number
  devices: number
  /** The stored secret of an identity (`resident/hr1`, `device/hd0`): a clear one (a file) or an scrypt hash (an admin replace). */
  secretOf: (identity: string) => string
  /** The service allowed to administer; without a token it keeps the one it has. */
  service: { name: string, token?: string }
  /** Extra residents of household `hh0`, to make a replacement differ from the last. */
  extraResidents?: string[]
}

export interface DirectoryBody {
  devices: Array<{ id: string, secret: string, households: string[] }>
  households: Array<{ number: string, residents: string[] }>
  residents: Array<{ id: string, secret: string }>
  services: Array<{ name: string, token?: string }>
}

export const residentId = (index: number): string => `hr${index}`

export function largeDirectory (shape: DirectoryShape): DirectoryBody {
  const extra = shape.extraResidents ?? []
  const perDevice = Math.ceil(shape.households / shape.devices)
  const households = Array.from({ length: shape.households }, (_, h) => ({
    number: `hh${h}`,
    residents: [
      ...Array.from({ length: RESIDENTS_PER_HOUSEHOLD }, (_, k) => residentId(h * RESIDENTS_PER_HOUSEHOLD + k)),
      ...(h === 0 ? extra : [])
    ]
  }))
  const residentCount = shape.households * RESIDENTS_PER_HOUSEHOLD
  return {
    devices: Array.from({ length: shape.devices }, (_, d) => ({
      id: `hd${d}`,
      secret: shape.secretOf(`device/hd${d}`),
      households: households.slice(d * perDevice, (d + 1) * perDevice).map((h) => h.number)
    })),
    households,
    residents: [
      ...[...Array.from({ length: residentCount }, (_, i) => residentId(i)), ...extra].map((id) => ({ id, secret: shape.secretOf(`resident/${id}`) }))
    ],
    services: [shape.service]
  }
}
