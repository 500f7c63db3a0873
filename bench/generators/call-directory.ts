/**
 * The call workload's identities: device `bd<i>` rings household `bh<i>` of
 * residents `br<i>_0` … `br<i>_3`. Pure, so that the runner (which writes the
 * directory file) and the generators (which log in) agree without sharing state.
 */
export const RESIDENTS_PER_HOUSEHOLD = 4
/** In the sequential mix, one household in this many rings its residents one after the other. */
export const SEQUENTIAL_EVERY = 4
/** Longer than a bench call lasts: only the first resident of a sequential household is ever rung. */
export const SEQUENTIAL_STEP_MS = 10_000

/** The households of a call directory: all ringing in parallel (`plain`), or one in SEQUENTIAL_EVERY sequential (`sequential`). */
export type CallMix = 'plain' | 'sequential'

export function ringsSequentially (index: number, mix: CallMix): boolean {
  return mix === 'sequential' && index % SEQUENTIAL_EVERY === SEQUENTIAL_EVERY - 1
}

export interface BenchDevice {
  id: string
  secret: string
  residents: Array<{ id: string, secret: string }>
}

export function benchDevice (index: number): BenchDevice {
  return {
    id: `bd${index}`,
    secret: `bd${index}-secret`,
    residents: Array.from({ length: RESIDENTS_PER_HOUSEHOLD }, (_, k) => ({ id: `br${index}_${k}`, secret: `br${index}_${k}-secret` }))
  }
}

/** The directory file (secrets in clear) for devices 0 … count − 1. */
export function callDirectory (count: number, mix: CallMix = 'plain'): string {
  const devices = Array.from({ length: count }, (_, i) => benchDevice(i))
  return JSON.stringify({
    devices: devices.map((d, i) => ({ id: d.id, secret: d.secret, households: [`bh${i}`] })),
    households: devices.map((d, i) => ({
      number: `bh${i}`,
      residents: d.residents.map((r) => r.id),
      ...(ringsSequentially(i, mix) ? { policy: { ring: { sequential: SEQUENTIAL_STEP_MS } } } : {})
    })),
    residents: devices.flatMap((d) => d.residents)
  })
}
