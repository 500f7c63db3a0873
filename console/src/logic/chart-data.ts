import type { CallView } from './wire'

/** What became of a call, as the 24-hour chart counts it. */
export const OUTCOMES = ['answered', 'missed', 'rejected', 'cancelled', 'failed'] as const
export type Outcome = typeof OUTCOMES[number]

export function outcomeOf (call: CallView): Outcome | null {
  if (call.status !== 'ended') return null
  if (call.answer_time !== null) return 'answered'
  switch (call.end_reason) {
    case 'timeout': return 'missed'
    case 'rejected': return 'rejected'
    case 'cancelled': return 'cancelled'
    default: return 'failed'
  }
}

export const HOUR = 3_600_000

export interface DayChart {
  /** Start of each hour, in seconds (uPlot's x unit). */
  hours: number[]
  /** Calls per hour, by outcome. */
  counts: Record<Outcome, number[]>
  /** Median answer time per hour in seconds, null where nothing was answered. */
  medianAnswerSeconds: Array<number | null>
  totals: Record<Outcome, number>
  /** Median answer time over the whole day, in seconds. */
  overallMedianAnswerSeconds: number | null
}

function median (values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const value = sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return Math.round(value * 10) / 10
}

/** Buckets the ended calls that started in the 24 hours before `now` by the hour they started. */
export function dayChart (calls: readonly CallView[], now: number): DayChart {
  const firstHour = Math.floor(now / HOUR) * HOUR - 23 * HOUR
  const hours = Array.from({ length: 24 }, (_, i) => (firstHour + i * HOUR) / 1000)
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, new Array<number>(24).fill(0)])) as Record<Outcome, number[]>
  const totals = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>
  const answerTimes: number[][] = Array.from({ length: 24 }, () => [])
  const seen = new Set<string>()
  for (const call of calls) {
    const outcome = outcomeOf(call)
    const slot = Math.floor((call.start_time - firstHour) / HOUR)
    if (outcome === null || slot < 0 || slot > 23 || seen.has(call.call_id)) continue
    seen.add(call.call_id)
    ;(counts[outcome][slot] as number)++
    totals[outcome]++
    if (call.answer_time !== null) answerTimes[slot]?.push((call.answer_time - call.start_time) / 1000)
  }
  return {
    hours,
    counts,
    medianAnswerSeconds: answerTimes.map(median),
    totals,
    overallMedianAnswerSeconds: median(answerTimes.flat())
  }
}
