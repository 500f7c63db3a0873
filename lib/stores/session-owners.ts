/**
 * Who owns each persistent MQTT session. A client id that once held a
 * persistent session belongs to that identity: another identity reusing it
 * could otherwise take over the session's queued messages, or wipe it with a
 * clean connect.
 */
export interface SessionOwners {
  /**
   * True when `identityName` may use `clientId`: nobody owns it, or it does.
   * A persistent connect makes it the owner.
   */
  claim (clientId: string, identityName: string, persistent: boolean): Promise<boolean>
}

/** One node's owners, in memory. */
export function createMemorySessionOwners (): SessionOwners {
  const owners = new Map<string, string>()
  return {
    async claim (clientId, identityName, persistent) {
      const owner = owners.get(clientId)
      if (owner !== undefined && owner !== identityName) return false
      if (persistent) owners.set(clientId, identityName)
      return true
    }
  }
}
