import type { CallEvent } from '../../lib/calls/machine'
import type { NodeOptions } from '../../lib/node'

/**
 * Makes two requests provably race: armed for a round, the call service's
 * `beforeWrite` seam holds the first two events it is told to catch (each has
 * read the call and run the machine, neither has written), and lets them write
 * only once both are there — `winner` first. The loser's compare-and-set then
 * fails, and it must re-read and be judged again on the winner's session.
 */
export interface MeetingPoint {
  hooks: NonNullable<NodeOptions['callTestHooks']>
  /** Catch the next two events that `which` names (a label, or null to let through); release `winner`'s first. */
  arm (which: (event: CallEvent) => string | null, winner: string): Promise<void>
}

export function meetingPoint (): MeetingPoint {
  let armed: { which: (event: CallEvent) => string | null, winner: string, met: () => void } | null = null
  const held: Array<{ label: string, go: () => void }> = []

  return {
    hooks: {
      beforeWrite: async (_callId, event) => {
        const label = armed?.which(event) ?? null
        if (armed === null || label === null || held.some((h) => h.label === label)) return
        await new Promise<void>((resolve) => {
          held.push({ label, go: resolve })
          if (held.length < 2 || armed === null) return
          const { winner, met } = armed
          armed = null
          const ordered = [...held].sort((a, b) => (a.label === winner ? -1 : b.label === winner ? 1 : 0))
          held.length = 0
          // Next turn: both are then awaiting, so they resume in release order.
          setImmediate(() => {
            for (const h of ordered) h.go()
            met()
          })
        })
      }
    },
    arm (which, winner) {
      return new Promise<void>((resolve) => {
        armed = { which, winner, met: resolve }
      })
    }
  }
}
