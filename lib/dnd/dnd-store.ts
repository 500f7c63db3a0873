import { Type, type Static } from 'typebox'

/** A resident's do-not-disturb setting as the routes show it. */
export const DndStateSchema = Type.Object({
  resident_id: Type.String(),
  enabled: Type.Boolean({ description: 'calls do not ring this resident: its leg is `dnd`' }),
  until: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'ms since epoch when it switches itself off; null: until turned off' })
})

export type DndState = Static<typeof DndStateSchema>

/**
 * Do not disturb per resident. A setting with an end lapses by itself at that
 * moment; reads at `now` never report a lapsed one.
 */
export interface DndStore {
  /** Turns DND on (until `until`, or until turned off when null) or off. */
  set (residentId: string, setting: { enabled: boolean, until: number | null }, now: number): Promise<DndState>
  get (residentId: string, now: number): Promise<DndState>
  /** The residents among these who are in DND at `now`. */
  among (residentIds: readonly string[], now: number): Promise<Set<string>>
}

export const dndOff = (residentId: string): DndState => ({ resident_id: residentId, enabled: false, until: null })
