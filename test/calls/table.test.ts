import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { GUARDS } from '../../lib/calls/guards'
import { judge } from '../../lib/calls/machine'
import { CALL_STATUSES, CLIENT_ACTIONS } from '../../lib/calls/session'
import { describeVerdict, START, SYSTEM_INPUTS, TRANSITIONS, type Outcome, type Verdict } from '../../lib/calls/transitions'

/**
 * Every (status, actor, input, guard outcome) against expectations written out
 * here, apart from the table: `guard → outcome` for each guard in the order it is
 * checked, then what the input gets when every guard holds. Outcomes: a rule
 * name, `403`, `409`, or `ignore` (success, nothing changes).
 */

const CALLER = ['isCaller → 403', 'notRepeat → ignore']
const RUNG = ['isParty → 403', 'notRepeat → ignore']

type Row = Record<string, [...string[], string]>

const EXPECTED: Record<string, { device: Row, resident: Row, system: Row }> = {
  ringing: {
    device: {
      cancelled: [...CALLER, 'cancel'],
      hangup: [...CALLER, 'cancel'],
      answered: [...CALLER, '409'],
      rejected: [...CALLER, '409'],
      timeout: [...CALLER, '409'],
      unlock: [...CALLER, '409'],
      decline_all: [...CALLER, '409'],
      unlock_result: ['isCaller → 403', '409'],
      extend: [...CALLER, '409']
    },
    resident: {
      answered: [...RUNG, 'legRinging → 409', 'answer'],
      rejected: [...RUNG, 'legRinging → 409', 'rejectsLegOnly → decline_all', 'decline'],
      decline_all: [...RUNG, 'legRinging → 409', 'decline_all'],
      timeout: [...RUNG, 'legRinging → 409', 'decline'],
      hangup: [...RUNG, '409'],
      unlock: ['isParty → 403', 'legRinging → 409', 'canUnlock → 403', 'unlock_preview'],
      cancelled: [...RUNG, '409'],
      unlock_result: [...RUNG, '409'],
      extend: [...RUNG, '409']
    },
    system: {
      end: ['mayEnd → 403', 'force_end'],
      ring_timer: ['deadlineDue → ignore', 'ring_timeout'],
      max_duration_timer: ['ignore'],
      device_offline_timer: ['ignore'],
      unlock_hangup_timer: ['ignore'],
      next_resident_timer: ['deadlineDue → ignore', 'ring_next'],
      ending_soon_timer: ['ignore'],
      device_offline: ['end_device_offline'],
      device_online: ['ignore'],
      device_removed: ['force_end'],
      resident_removed: ['subjectRinging → ignore', 'remove_resident'],
      delivery: ['deliveryNews → ignore', 'record_delivery']
    }
  },
  connected: {
    device: {
      hangup: [...CALLER, 'hang_up'],
      cancelled: [...CALLER, '409'],
      answered: [...CALLER, '409'],
      rejected: [...CALLER, '409'],
      timeout: [...CALLER, '409'],
      unlock: [...CALLER, '409'],
      decline_all: [...CALLER, '409'],
      unlock_result: ['isCaller → 403', 'unlockAwaitsResult → 409', 'unlock_result'],
      extend: [...CALLER, '409']
    },
    resident: {
      hangup: [...RUNG, 'isAnswerer → 409', 'hang_up'],
      unlock: ['isParty → 403', 'isAnswerer → 409', 'canUnlock → 403', 'unlockCooledDown → 409', 'unlock'],
      answered: [...RUNG, '409'],
      rejected: [...RUNG, '409'],
      decline_all: [...RUNG, '409'],
      timeout: [...RUNG, '409'],
      cancelled: [...RUNG, '409'],
      unlock_result: [...RUNG, '409'],
      extend: ['isParty → 403', 'isAnswerer → 409', 'extensionsLeft → 409', 'extend']
    },
    system: {
      end: ['mayEnd → 403', 'force_end'],
      ring_timer: ['ignore'],
      max_duration_timer: ['deadlineDue → ignore', 'max_duration'],
      device_offline_timer: ['deadlineDue → ignore', 'end_device_offline'],
      unlock_hangup_timer: ['deadlineDue → ignore', 'hang_up_after_unlock'],
      next_resident_timer: ['ignore'],
      ending_soon_timer: ['deadlineDue → ignore', 'warn_ending'],
      device_offline: ['graceIdle → ignore', 'start_offline_grace'],
      device_online: ['graceRunning → ignore', 'stop_offline_grace'],
      device_removed: ['force_end'],
      resident_removed: ['ignore'],
      delivery: ['deliveryNews → ignore', 'record_delivery']
    }
  },
  ended: {
    device: {
      ...Object.fromEntries(CLIENT_ACTIONS.map((a) => [a, [...CALLER, '409']])) as Row,
      unlock_result: ['isCaller → 403', 'unlockAwaitsResult → 409', 'unlock_result']
    },
    resident: Object.fromEntries(CLIENT_ACTIONS.map((a) => [a, [...RUNG, '409']])) as Row,
    system: {
      ...Object.fromEntries(SYSTEM_INPUTS.map((i) => [i, ['ignore']])) as Row,
      end: ['mayEnd → 403', 'ignore'],
      delivery: ['deliveryNews → ignore', 'record_delivery']
    }
  }
}

/** An outcome as the expectations write it. */
function short (o: Outcome): string {
  if (o.kind === 'apply') return o.rule
  if (o.kind === 'ignore') return 'ignore'
  return o.code === 'forbidden' ? '403' : '409'
}

/** Every combination of guard results: the first failing guard decides, else the verdict's outcome. */
function walk (t: tap.Test, label: string, verdict: Verdict, expected: string[]): void {
  const guards = expected.slice(0, -1).map((g) => g.split(' → ') as [string, string])
  t.same(verdict.guards.map((c) => c.guard), guards.map(([g]) => g), `${label}: guards, in order`)
  const n = verdict.guards.length
  for (let bits = 0; bits < 1 << n; bits++) {
    const holds = (guard: string): boolean => ((bits >> verdict.guards.findIndex((c) => c.guard === guard)) & 1) === 1
    const firstFailing = guards.findIndex((_, i) => ((bits >> i) & 1) === 0)
    const want = firstFailing === -1 ? expected.at(-1) : guards[firstFailing]?.[1]
    t.equal(short(judge(verdict, holds)), want, `${label}: guards held ${bits.toString(2).padStart(n, '0')}`)
  }
}

t.test('every (status, actor, input, guard outcome) gets the expected verdict', async (t) => {
  for (const status of CALL_STATUSES) {
    for (const kind of ['device', 'resident', 'system'] as const) {
      const row = TRANSITIONS[status][kind] as Record<string, Verdict>
      const expected = EXPECTED[status]?.[kind] as Row
      t.same(Object.keys(row).sort(), Object.keys(expected).sort(), `${status} ${kind}: every input has a verdict and an expectation`)
      for (const [input, verdict] of Object.entries(row)) walk(t, `${status} ${kind} ${input}`, verdict, expected[input] as string[])
    }
  }
})

t.test('every guard the table names exists; every guard is used', async (t) => {
  const named = new Set<string>()
  for (const status of CALL_STATUSES) {
    for (const kind of ['device', 'resident', 'system'] as const) {
      for (const verdict of Object.values(TRANSITIONS[status][kind]) as Verdict[]) for (const c of verdict.guards) named.add(c.guard)
    }
  }
  t.same([...named].sort(), Object.keys(GUARDS).sort())
})

t.test('the start of a call: no one to ring, everyone busy, everyone busy or in DND, device busy, in that order', async (t) => {
  t.equal(describeVerdict(START), 'hasTargets 422 no_residents, someoneFree 409 residents_busy, someoneReachable 409 residents_unavailable, deviceIdle 409 device_busy => ring')
})

/** The rows of the table in docs/calls.md under "## The transition table". */
function docsRows (): Map<string, string> {
  const file = path.resolve(__dirname, '..', '..', '..', 'docs', 'calls.md')
  const text = readFileSync(file, 'utf8')
  const section = text.split('## The transition table')[1]?.split('\n## ')[0] ?? ''
  const rows = new Map<string, string>()
  for (const line of section.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim().replaceAll('`', ''))
    if (cells.length !== 5 || cells[0] === 'status' || /^-+$/.test(cells[0] ?? '')) continue
    const [status, actor, input, guards, outcome] = cells as [string, string, string, string, string]
    rows.set(`${status} ${actor} ${input}`, `${guards === '' || guards === '—' ? '' : `${guards} => `}${outcome}`)
  }
  return rows
}

t.test('docs/calls.md lists the table as it is', async (t) => {
  const documented = docsRows()
  const actual = new Map<string, string>()
  for (const status of CALL_STATUSES) {
    for (const kind of ['device', 'resident', 'system'] as const) {
      for (const [input, verdict] of Object.entries(TRANSITIONS[status][kind]) as Array<[string, Verdict]>) {
        actual.set(`${status} ${kind} ${input}`, describeVerdict(verdict))
      }
    }
  }
  t.same([...documented.keys()].sort(), [...actual.keys()].sort(), 'the same rows')
  for (const [key, verdict] of actual) t.equal(documented.get(key), verdict, key)
})
