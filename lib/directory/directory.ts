import { identity, type Identity } from '../identity'
import { createSecretChecker } from './secrets'
import type { DirectoryFile } from './schema'

type Checker = (presented: string) => Promise<boolean>

interface ClientRights {
  readonly publish: readonly string[][]
  readonly subscribe: readonly string[][]
}

/**
 * Who exists, who may log in with what, and who lives where. Built once from
 * a validated directory file; every look-up is a map access.
 */
export class Directory {
  private readonly checkers = new Map<string, Checker>()
  private readonly serviceTokens: Array<{ name: string, check: Checker }> = []
  private readonly deviceResidents = new Map<string, readonly string[]>()
  private readonly deviceHouseholds = new Map<string, readonly string[]>()
  private readonly householdResidents = new Map<string, readonly string[]>()
  private readonly clientRights = new Map<string, ClientRights>()
  private readonly rejectAll = new Set<string>()
  private readonly cannotUnlock = new Set<string>()

  constructor (file: DirectoryFile) {
    for (const h of file.households) {
      this.householdResidents.set(h.number, [...new Set(h.residents)])
      if (h.policy?.on_reject === 'all') this.rejectAll.add(h.number)
    }
    for (const d of file.devices) {
      this.checkers.set(`device/${d.id}`, createSecretChecker(d.secret))
      this.deviceHouseholds.set(d.id, d.households)
      const residents = d.households.flatMap((n) => this.householdResidents.get(n) ?? [])
      this.deviceResidents.set(d.id, [...new Set(residents)])
    }
    for (const r of file.residents) {
      this.checkers.set(`resident/${r.id}`, createSecretChecker(r.secret))
      if (r.can_unlock === false) this.cannotUnlock.add(r.id)
    }
    for (const s of file.services) {
      const check = createSecretChecker(s.token)
      this.checkers.set(`service/${s.name}`, check)
      this.serviceTokens.push({ name: s.name, check })
    }
    for (const c of file.clients) {
      this.checkers.set(`client/${c.name}`, createSecretChecker(c.secret))
      this.clientRights.set(c.name, {
        publish: c.publish.map((f) => f.split('/')),
        subscribe: c.subscribe.map((f) => f.split('/'))
      })
    }
  }

  /** The identity for an identity name and its secret (a service's token), or null. */
  async authenticate (name: string, secret: string): Promise<Identity | null> {
    const check = this.checkers.get(name)
    if (check === undefined || !(await check(secret))) return null
    const slash = name.indexOf('/')
    return identity(name.slice(0, slash) as Identity['kind'], name.slice(slash + 1))
  }

  /** The service whose bearer token this is, or null. */
  async authenticateToken (token: string): Promise<Identity | null> {
    for (const service of this.serviceTokens) {
      if (await service.check(token)) return identity('service', service.name)
    }
    return null
  }

  has (name: string): boolean {
    return this.checkers.has(name)
  }

  hasDevice (id: string): boolean {
    return this.deviceResidents.has(id)
  }

  hasResident (id: string): boolean {
    return this.checkers.has(`resident/${id}`)
  }

  /** The residents of the device's households, each once, in directory order. */
  residentsOfDevice (deviceId: string): readonly string[] {
    return this.deviceResidents.get(deviceId) ?? []
  }

  householdsOfDevice (deviceId: string): readonly string[] {
    return this.deviceHouseholds.get(deviceId) ?? []
  }

  residentsOfHousehold (householdNumber: string): readonly string[] {
    return this.householdResidents.get(householdNumber) ?? []
  }

  /** What one rejection does in this household's calls: `leg` (the default) or `all`. */
  onReject (householdNumber: string): 'leg' | 'all' {
    return this.rejectAll.has(householdNumber) ? 'all' : 'leg'
  }

  /** Whether the resident may open the door (default true). */
  canUnlock (residentId: string): boolean {
    return !this.cannotUnlock.has(residentId)
  }

  /** Split topic filters of an integration client, or undefined for an unknown client. */
  rightsOfClient (name: string): ClientRights | undefined {
    return this.clientRights.get(name)
  }
}
