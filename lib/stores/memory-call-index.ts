import type { CallPosition } from '../records/listing'

/** Ascending (oldest first), so that a new call is usually an append. */
function compare (a: CallPosition, b: CallPosition): number {
  if (a.startTime !== b.startTime) return a.startTime - b.startTime
  return a.callId < b.callId ? -1 : a.callId > b.callId ? 1 : 0
}

/** One listing index of the memory store: call positions kept sorted. */
export class CallPositions {
  readonly #items: CallPosition[] = []

  get size (): number {
    return this.#items.length
  }

  add (position: CallPosition): void {
    const at = this.#lowerBound(position)
    const found = this.#items[at]
    if (found !== undefined && compare(found, position) === 0) return
    this.#items.splice(at, 0, position)
  }

  remove (position: CallPosition): void {
    const at = this.#lowerBound(position)
    const found = this.#items[at]
    if (found !== undefined && compare(found, position) === 0) this.#items.splice(at, 1)
  }

  /** Newest first, from just after `after` (or from the newest), skipping calls started at or after `until`. */
  * newestFirst (after: CallPosition | undefined, until: number | undefined): Generator<CallPosition> {
    let at = this.#items.length - 1
    if (after !== undefined) at = Math.min(at, this.#lowerBound(after) - 1)
    if (until !== undefined) at = Math.min(at, this.#lowerBound({ startTime: until, callId: '' }) - 1)
    for (; at >= 0; at--) yield this.#items[at] as CallPosition
  }

  /** The first slot whose position is not below `position`. */
  #lowerBound (position: CallPosition): number {
    let low = 0
    let high = this.#items.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (compare(this.#items[mid] as CallPosition, position) < 0) low = mid + 1
      else high = mid
    }
    return low
  }
}
