import t from 'tap'
import { createFairGate, GateAbandonedError, GateFullError } from '../../lib/auth/fair-gate'

/** A job that runs until released, recording when it started. */
function controlled (log: string[], name: string): { job: () => Promise<string>, release: () => void } {
  let release = (): void => {}
  const done = new Promise<void>((resolve) => { release = resolve })
  return { job: async () => { log.push(name); await done; return name }, release }
}

t.test('no more than `concurrency` jobs run at once', async (t) => {
  const gate = createFairGate({ concurrency: 2, maxWaiting: 10, maxWaitingPerKey: 10 })
  const log: string[] = []
  const jobs = ['a', 'b', 'c'].map((name) => controlled(log, name))
  const results = jobs.map((j) => gate.run('k', j.job))
  await Promise.resolve()
  t.same(log, ['a', 'b'], 'the third waits')
  t.equal(gate.running, 2)
  t.equal(gate.waiting, 1)
  jobs[0]?.release()
  t.equal(await results[0], 'a')
  await new Promise(setImmediate)
  t.same(log, ['a', 'b', 'c'], 'it starts when a place frees')
  jobs[1]?.release()
  jobs[2]?.release()
  t.same(await Promise.all(results), ['a', 'b', 'c'])
  t.equal(gate.running, 0)
})

t.test('waiting keys are served in turn: a flood from one key does not hold up another', async (t) => {
  const gate = createFairGate({ concurrency: 1, maxWaiting: 100, maxWaitingPerKey: 100 })
  const log: string[] = []
  const first = controlled(log, 'flood-0')
  const all = [gate.run('flood', first.job)]
  const later: Array<() => void> = []
  for (let i = 1; i <= 5; i++) {
    const j = controlled(log, `flood-${i}`)
    later.push(j.release)
    all.push(gate.run('flood', j.job))
  }
  const real = controlled(log, 'real')
  later.push(real.release)
  all.push(gate.run('other', real.job))
  first.release()
  for (const release of later) release()
  await Promise.all(all)
  t.same(log.slice(0, 3), ['flood-0', 'flood-1', 'real'], 'the other key is next but one, not last')
})

t.test('a full gate refuses at once instead of queueing without end', async (t) => {
  const gate = createFairGate({ concurrency: 1, maxWaiting: 2, maxWaitingPerKey: 1 })
  const log: string[] = []
  const running = controlled(log, 'running')
  const jobs = [gate.run('a', running.job)]
  const waitingA = controlled(log, 'a')
  jobs.push(gate.run('a', waitingA.job))
  await t.rejects(gate.run('a', async () => 'never'), GateFullError, 'one key waits at most maxWaitingPerKey')
  const waitingB = controlled(log, 'b')
  jobs.push(gate.run('b', waitingB.job))
  await t.rejects(gate.run('c', async () => 'never'), GateFullError, 'all keys wait at most maxWaiting')
  running.release()
  waitingA.release()
  waitingB.release()
  await Promise.all(jobs)
  t.same(log, ['running', 'a', 'b'])
})

t.test('a failing job frees its place', async (t) => {
  const gate = createFairGate({ concurrency: 1, maxWaiting: 1, maxWaitingPerKey: 1 })
  await t.rejects(gate.run('a', async () => { throw new Error('boom') }), /boom/)
  t.equal(await gate.run('a', async () => 'next'), 'next')
  t.equal(gate.running, 0)
})

t.test('a waiting job whose caller gives up never runs and frees its place in the queue', async (t) => {
  const gate = createFairGate({ concurrency: 1, maxWaiting: 1, maxWaitingPerKey: 1 })
  const log: string[] = []
  const running = controlled(log, 'running')
  const first = gate.run('a', running.job)
  const gone = new AbortController()
  const abandoned = gate.run('b', async () => { log.push('abandoned'); return 'abandoned' }, gone.signal)
  t.equal(gate.waiting, 1)
  gone.abort()
  await t.rejects(abandoned, GateAbandonedError)
  t.equal(gate.waiting, 0, 'its waiting place is free at once')
  const later = controlled(log, 'later')
  const next = gate.run('b', later.job)
  running.release()
  later.release()
  t.same(await Promise.all([first, next]), ['running', 'later'])
  t.same(log, ['running', 'later'], 'the abandoned job never ran')
  await t.rejects(gate.run('c', async () => 'never', AbortSignal.abort()), GateAbandonedError, 'an already aborted caller is refused at once')
  t.equal(gate.running, 0)
})
