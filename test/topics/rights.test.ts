import { readFileSync } from 'node:fs'
import t from 'tap'
import { parseDirectory } from '../../lib/directory/load'
import { identity } from '../../lib/identity'
import { filterCovers, filterMatches, isValidFilter, isValidTopicName } from '../../lib/topics/filters'
import { compileRights } from '../../lib/topics/rights'
import { DEMO_DIRECTORY } from '../helpers/node'

/** The demo directory plus an integration client allowed everything, to show what stays reserved. */
const demo = JSON.parse(readFileSync(DEMO_DIRECTORY, 'utf8'))
demo.clients.push({ name: 'wide', secret: 'wide-secret-long-enough', publish: ['#'], subscribe: ['#'] })
const directory = parseDirectory('directory.json', JSON.stringify(demo))

const split = (filter: string): string[] => filter.split('/')

t.test('well-formed filters and topic names', async (t) => {
  for (const good of ['#', '+', 'a', 'a/#', '+/+', 'a/+/b', '/', 'a//b']) t.ok(isValidFilter(good), `filter ${JSON.stringify(good)}`)
  for (const bad of ['', 'a/#/b', '#/a', 'a/b#', 'a#', 'a+/b', 'a/+b', 'a\u0000b', 'a\uFFFD']) t.notOk(isValidFilter(bad), `filter ${JSON.stringify(bad)}`)
  for (const good of ['a', 'a/b', '/', 'système/ok']) t.ok(isValidTopicName(good), `topic ${JSON.stringify(good)}`)
  for (const bad of ['', 'a/+', 'a/#', '+', '#', 'a\u0000', 'a\uFFFD']) t.notOk(isValidTopicName(bad), `topic ${JSON.stringify(bad)}`)
})

t.test('a filter matches a topic name', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a', false],
    ['a/+', 'a/b/c', false],
    ['a', 'a/b', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'b/c', false],
    ['#', 'a/b', true],
    ['+/b', 'a/b', true],
    ['+/b', 'a/c', false],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['$SYS/x', '$SYS/x', true]
  ]
  for (const [filter, topic, expected] of cases) t.equal(filterMatches(split(filter), split(topic)), expected, `${filter} ${expected ? 'matches' : 'does not match'} ${topic}`)
})

t.test('an allowed filter covers a requested one only when it covers every topic the request can match', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['#', 'a/b/#', true],
    ['#', '#', true],
    ['a/#', 'a/#', true],
    ['a/#', 'a/+/c', true],
    ['a/#', '#', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/+', true],
    ['a/+', 'a/#', false],
    ['a/b', 'a/+', false],
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a', 'a/b', false],
    ['a/b', 'a', false],
    ['+/b', 'a/b', true],
    ['+/b', 'a/c', false]
  ]
  for (const [allowed, requested, expected] of cases) t.equal(filterCovers(split(allowed), split(requested)), expected, `${allowed} ${expected ? 'covers' : 'does not cover'} ${requested}`)
})

t.test('a device publishes its three request topics and reads its own topics and system/#', async (t) => {
  const rights = compileRights(identity('device', '1'), directory)
  t.same(rights.publish('calls/request/1'), { verdict: 'request', request: 'call' })
  t.same(rights.publish('devices/1/calls/action'), { verdict: 'request', request: 'device_action' })
  t.same(rights.publish('devices/1/status/report'), { verdict: 'request', request: 'status_report' })
  for (const topic of ['calls/request/5', 'devices/5/calls/action', 'devices/1/status', 'system/x', 'users/2/calls/action', 'anything']) {
    t.same(rights.publish(topic), { verdict: 'deny' }, `not ${topic}`)
  }
  for (const filter of ['devices/1/#', 'devices/1/calls/control', 'devices/1/+/control', 'system/#', 'system/maintenance', 'system']) t.ok(rights.subscribe(filter), `reads ${filter}`)
  for (const filter of ['#', 'devices/#', 'devices/+/status', 'devices/5/#', 'users/2/#', '$SYS/#', 'devices/1/#/x']) t.notOk(rights.subscribe(filter), `not ${filter}`)
  t.ok(rights.receive('devices/1/status'), 'receives whatever it may subscribe to')
})

t.test('a resident publishes its action topic and reads users/R/# and system/#', async (t) => {
  const rights = compileRights(identity('resident', '2'), directory)
  t.same(rights.publish('users/2/calls/action'), { verdict: 'request', request: 'resident_action' })
  for (const topic of ['users/3/calls/action', 'users/2/calls/incoming', 'calls/request/1', 'system/x']) t.same(rights.publish(topic), { verdict: 'deny' }, `not ${topic}`)
  for (const filter of ['users/2/#', 'users/2/calls/+', 'system/+']) t.ok(rights.subscribe(filter), `reads ${filter}`)
  for (const filter of ['users/3/#', 'users/+/calls/incoming', 'users/#', '#']) t.notOk(rights.subscribe(filter), `not ${filter}`)
  t.ok(rights.receive('users/2/calls/incoming'))
})

t.test('a service publishes only on system/<something> and reads everything but $ topics', async (t) => {
  const rights = compileRights(identity('service', 'ops'), directory)
  t.same(rights.publish('system/maintenance'), { verdict: 'forward' })
  t.same(rights.publish('system/a/b'), { verdict: 'forward' })
  t.same(rights.publish('system/a'), { verdict: 'forward' }, 'a one-character type is enough')
  for (const topic of ['system/', 'system', 'system/+', 'system/#', 'systems/x', 'users/2/calls/incoming', 'calls/request/1', 'meters/a']) {
    t.same(rights.publish(topic), { verdict: 'deny' }, `not ${JSON.stringify(topic)}`)
  }
  for (const filter of ['#', 'calls/+/events', 'users/2/calls/incoming']) t.ok(rights.subscribe(filter), `reads ${filter}`)
  for (const filter of ['$SYS/#', '$intercom/discarded', 'a/#/b', '']) t.notOk(rights.subscribe(filter), `not ${JSON.stringify(filter)}`)
  t.ok(rights.receive('users/2/calls/incoming'), 'services receive server-only topics')
})

t.test('an integration client: its directory rights, never a reserved topic', async (t) => {
  const meter = compileRights(identity('client', 'meter-gw'), directory)
  t.same(meter.publish('meters/a/power'), { verdict: 'forward' })
  for (const topic of ['meters/+', 'meter/a', 'system/x', '$meters/a', '']) t.same(meter.publish(topic), { verdict: 'deny' }, `not ${JSON.stringify(topic)}`)
  t.ok(meter.subscribe('meters/#'))
  t.ok(meter.subscribe('system/+'))
  t.notOk(meter.subscribe('#'))
  t.notOk(meter.subscribe('users/#'))

  const wide = compileRights(identity('client', 'wide'), directory)
  for (const topic of ['anything/else', 'users/2/profile', 'devices/1/log', 'calls/archive/x', 'system/notice']) t.same(wide.publish(topic), { verdict: 'forward' }, `may publish ${topic}`)
  for (const topic of ['users/2/calls/incoming', 'users/2/calls/control', 'users/2/system', 'devices/1/status', 'devices/1/status/report', 'devices/1/calls/action', 'calls/request/1', 'calls/x/events', '$SYS/x']) {
    t.same(wide.publish(topic), { verdict: 'deny' }, `never ${topic}`)
    t.same(wide.publish(topic), { verdict: 'deny' }, `never ${topic}, also when remembered`)
  }
  for (const filter of ['#', 'users/#', 'users/+/calls/+', 'devices/1/#', 'anything/+']) t.ok(wide.subscribe(filter), `may subscribe ${filter}: reserved deliveries are withheld`)
  for (const filter of ['users/+/calls/incoming', 'users/2/calls/control', 'calls/+/events', 'calls/request/+', 'devices/1/status', '$SYS/#']) t.notOk(wide.subscribe(filter), `not ${filter}: only reserved topics`)
  for (const topic of ['users/2/calls/incoming', 'devices/1/status', 'calls/x/events', 'calls/request/1', 'users/2/system']) t.notOk(wide.receive(topic), `withheld: ${topic}`)
  for (const topic of ['anything/else', 'users/2/profile', 'devices/1/log', 'calls/archive/x', 'system/notice']) t.ok(wide.receive(topic), `delivered: ${topic}`)

  const unknown = compileRights(identity('client', 'nobody'), directory)
  t.same(unknown.publish('meters/a'), { verdict: 'deny' }, 'an unknown client publishes nothing')
  t.notOk(unknown.subscribe('meters/#'), 'and reads nothing')
})

t.test('the remembered verdicts of a client stay right past the bound of the memory', async (t) => {
  const wide = compileRights(identity('client', 'wide'), directory)
  const verdicts = Array.from({ length: 1100 }, (_, i) => wide.publish(`load/${i}`).verdict)
  t.ok(verdicts.every((v) => v === 'forward'), 'more topics than it remembers')
  t.same(wide.publish('users/2/calls/incoming'), { verdict: 'deny' })
  t.same(wide.publish('load/0'), { verdict: 'forward' })
})
