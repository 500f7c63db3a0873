/** What a node needs to serve: each check true when up. */
export type ReadinessChecks = Record<string, boolean>

export interface Readiness {
  ready: boolean
  checks: Record<string, 'up' | 'down'>
  /** The checks that are down, for a human: `redis, mqtt`. */
  down: string[]
}

export function readinessOf (checks: ReadinessChecks): Readiness {
  const down = Object.keys(checks).filter((name) => !checks[name])
  const named: Record<string, 'up' | 'down'> = {}
  for (const [name, up] of Object.entries(checks)) named[name] = up ? 'up' : 'down'
  return { ready: down.length === 0, checks: named, down }
}
