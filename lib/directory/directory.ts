import { identity, type Identity } from '../identity'
import { diffDirectories, type DirectoryDiff } from './admin'
import { createSecretChecker } from './secrets'
import type { DirectoryFile } from './schema'

type Checker = (presented: string) => Promise<boolean>

/** A checker and the stored secret it checks: kept across changes while the secret stays. */
interface StoredChecker { stored: string, check: Checker }

interface ClientRights {
  readonly publish: readonly string[][]
  readonly subscribe: readonly string[][]
}

/** One version of the directory, indexed: every look-up is a map access. */
class Snapshot {
  readonly names = new Set<string>()
  readonly checkers = new Map<string, StoredChecker>()
  readonly serviceTokens: Array<{ name: string, check: Checker }> = []
  readonly deviceResidents = new Map<string, readonly string[]>()
  readonly deviceHouseholds = new Map<string, readonly string[]>()
  readonly householdResidents = new Map<string, readonly string[]>()
  readonly rejectAll = new Set<string>()
  /** Household → ms per resident, for the households that ring one resident after the other. */
  readonly ringSteps = new Map<string, number>()
  readonly cannotUnlock = new Set<string>()
  readonly clientRights = new Map<string, ClientRights>()

  /** `previous` lends its checkers for unchanged secrets, with what they already verified. */
  constructor (readonly file: DirectoryFile, previous?: Snapshot) {
    const add = (name: string, secret: string | undefined): Checker | undefined => {
      this.names.add(name)
      if (secret === undefined) return undefined
      const kept = previous?.checkers.get(name)
      const checker = kept !== undefined && kept.stored === secret ? kept : { stored: secret, check: createSecretChecker(secret) }
      this.checkers.set(name, checker)
      return checker.check
    }
    for (const h of file.households) {
      this.householdResidents.set(h.number, [...new Set(h.residents)])
      if (h.policy?.on_reject === 'all') this.rejectAll.add(h.number)
      const ring = h.policy?.ring
      if (ring !== undefined && ring !== 'parallel') this.ringSteps.set(h.number, ring.sequential)
    }
    for (const r of file.residents) if (r.can_unlock === false) this.cannotUnlock.add(r.id)
    for (const d of file.devices) {
      add(`device/${d.id}`, d.secret)
      this.deviceHouseholds.set(d.id, d.households)
      const residents = d.households.flatMap((n) => this.householdResidents.get(n) ?? [])
      this.deviceResidents.set(d.id, [...new Set(residents)])
    }
    for (const r of file.residents) add(`resident/${r.id}`, r.secret)
    for (const s of file.services) {
      const check = add(`service/${s.name}`, s.token)
      if (check !== undefined) this.serviceTokens.push({ name: s.name, check })
    }
    for (const c of file.clients) {
      add(`client/${c.name}`, c.secret)
      this.clientRights.set(c.name, {
        publish: c.publish.map((f) => f.split('/')),
        subscribe: c.subscribe.map((f) => f.split('/'))
      })
    }
  }
}

/** A change applied to the running directory. */
export interface DirectoryChange {
  readonly version: number
  readonly diff: DirectoryDiff
}

/**
 * Who exists, who may log in with what, and who lives where. Validated data
 * in, map look-ups out; `replace` swaps in a new version while the node runs,
 * so every reader sees the change at its next look-up.
 */
export class Directory {
  #snapshot: Snapshot
  #version: number
  readonly #listeners = new Set<(change: DirectoryChange) => void>()

  constructor (file: DirectoryFile, version = 0) {
    this.#snapshot = new Snapshot(file)
    this.#version = version
  }

  /** The directory data as stored, secrets (hashed or in clear) included. */
  get data (): DirectoryFile {
    return this.#snapshot.file
  }

  get version (): number {
    return this.#version
  }

  /** Puts a new version in place and tells the listeners what changed. */
  replace (file: DirectoryFile, version: number): DirectoryChange {
    const diff = diffDirectories(this.#snapshot.file, file)
    this.#snapshot = new Snapshot(file, this.#snapshot)
    this.#version = version
    const change = { version, diff }
    for (const listener of this.#listeners) listener(change)
    return change
  }

  /** Hears of every change, after it is in place; returns how to stop. */
  onChange (listener: (change: DirectoryChange) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** The identity for an identity name and its secret (a service's token), or null. */
  async authenticate (name: string, secret: string): Promise<Identity | null> {
    const checker = this.#snapshot.checkers.get(name)
    if (checker === undefined || !(await checker.check(secret))) return null
    return this.identityOf(name)
  }

  /** The identity of a name in the directory, or null. */
  identityOf (name: string): Identity | null {
    if (!this.#snapshot.names.has(name)) return null
    const slash = name.indexOf('/')
    return identity(name.slice(0, slash) as Identity['kind'], name.slice(slash + 1))
  }

  /** The service whose bearer token this is, or null. */
  async authenticateToken (token: string): Promise<Identity | null> {
    for (const service of this.#snapshot.serviceTokens) {
      if (await service.check(token)) return identity('service', service.name)
    }
    return null
  }

  /** The stored secret of an identity (hash or clear), or undefined. */
  storedSecret (name: string): string | undefined {
    return this.#snapshot.checkers.get(name)?.stored
  }

  has (name: string): boolean {
    return this.#snapshot.names.has(name)
  }

  hasDevice (id: string): boolean {
    return this.#snapshot.deviceResidents.has(id)
  }

  hasResident (id: string): boolean {
    return this.#snapshot.names.has(`resident/${id}`)
  }

  /** The residents of the device's households, each once, in directory order. */
  residentsOfDevice (deviceId: string): readonly string[] {
    return this.#snapshot.deviceResidents.get(deviceId) ?? []
  }

  householdsOfDevice (deviceId: string): readonly string[] {
    return this.#snapshot.deviceHouseholds.get(deviceId) ?? []
  }

  residentsOfHousehold (householdNumber: string): readonly string[] {
    return this.#snapshot.householdResidents.get(householdNumber) ?? []
  }

  /** What one rejection does in this household's calls: `leg` (the default) or `all`. */
  onReject (householdNumber: string): 'leg' | 'all' {
    return this.#snapshot.rejectAll.has(householdNumber) ? 'all' : 'leg'
  }

  /** Sequential ring: how long each resident of the household rings; null rings them all at once (the default). */
  ringStep (householdNumber: string): number | null {
    return this.#snapshot.ringSteps.get(householdNumber) ?? null
  }

  /** Whether the resident may open the door (default true). */
  canUnlock (residentId: string): boolean {
    return !this.#snapshot.cannotUnlock.has(residentId)
  }

  /** Split topic filters of an integration client, or undefined for an unknown client. */
  rightsOfClient (name: string): ClientRights | undefined {
    return this.#snapshot.clientRights.get(name)
  }
}
