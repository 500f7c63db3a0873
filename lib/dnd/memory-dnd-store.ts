import { dndOff, type DndState, type DndStore } from './dnd-store'

/**
 * DND in this node's memory: one entry per resident in DND (the routes accept
 * only residents of the directory, which bounds the map); lapsed ones go when read.
 */
export function createMemoryDndStore (): DndStore {
  /** Resident → end of DND (ms), Infinity for none. */
  const ends = new Map<string, number>()

  function current (residentId: string, now: number): number | null {
    const end = ends.get(residentId)
    if (end === undefined) return null
    if (end > now) return end
    ends.delete(residentId)
    return null
  }

  const stateOf = (residentId: string, end: number | null): DndState =>
    end === null ? dndOff(residentId) : { resident_id: residentId, enabled: true, until: end === Infinity ? null : end }

  return {
    async set (residentId, setting, now) {
      if (!setting.enabled) {
        ends.delete(residentId)
        return dndOff(residentId)
      }
      ends.set(residentId, setting.until ?? Infinity)
      return stateOf(residentId, current(residentId, now))
    },
    async get (residentId, now) {
      return stateOf(residentId, current(residentId, now))
    },
    async among (residentIds, now) {
      return new Set(residentIds.filter((id) => current(id, now) !== null))
    }
  }
}
