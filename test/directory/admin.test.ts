import t from 'tap'
import { deleteEntry, diffDirectories, keepCurrentSecrets, putEntry, validateReplacement, withoutSecrets } from '../../lib/directory/admin'
import { parseDirectoryFile } from '../../lib/directory/load'
import type { DirectoryFile } from '../../lib/directory/schema'

const base = (): DirectoryFile => validateReplacement({
  devices: [{ id: '1', secret: 'd1', households: ['101'] }],
  households: [{ number: '101', residents: ['2', '3'] }],
  residents: [{ id: '2', secret: 'r2' }, { id: '3', secret: 'r3' }],
  services: [{ name: 'ops', token: 'ops-token' }],
  clients: [{ name: 'gw', secret: 'g', publish: ['m/#'], subscribe: ['m/#'] }]
})

function invalidMessage (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error & { code?: string }).code === 'invalid_request' ? (err as Error).message : `unexpected ${String(err)}`
  }
  return 'no error'
}

t.test('a diff names added, removed and changed entries; secret or client rights changes re-key', async (t) => {
  const before = base()
  const after = validateReplacement({
    devices: [{ id: '1', secret: 'd1-new', households: ['101'] }],
    households: [{ number: '101', residents: ['2'] }],
    residents: [{ id: '2', secret: 'r2' }, { id: '4' }],
    services: [{ name: 'ops', token: 'ops-token' }],
    clients: [{ name: 'gw', secret: 'g', publish: ['m/#', 'n/#'], subscribe: ['m/#'] }]
  })
  const diff = diffDirectories(before, after)
  t.same(diff.added, ['resident/4'])
  t.same(diff.removed, ['resident/3'])
  t.same(diff.changed.sort(), ['client/gw', 'device/1', 'household/101'])
  t.same(diff.rekeyed.sort(), ['client/gw', 'device/1'], 'a household change re-keys nobody')
  t.same(diffDirectories(before, base()), { added: [], removed: [], changed: [], rekeyed: [] }, 'the same directory changes nothing')
})

t.test('a replacement entry without a secret keeps the current one; a new one stays without', async (t) => {
  const next = keepCurrentSecrets(base(), validateReplacement({ residents: [{ id: '2' }, { id: '9' }] }))
  t.same(next.residents, [{ id: '2', secret: 'r2' }, { id: '9' }])
})

t.test('the directory as shown carries no secret and no token', async (t) => {
  const shown = JSON.stringify(withoutSecrets(base()))
  for (const secret of ['d1', 'r2', 'r3', 'ops-token', '"g"']) t.notOk(shown.includes(secret), secret)
  t.match(withoutSecrets(base()).clients[0], { name: 'gw', publish: ['m/#'] })
})

t.test('putting an entry keeps its secret when the body has none, and its place', async (t) => {
  const { file, entry } = putEntry(base(), 'devices', '1', { households: [] })
  t.same(entry, { id: '1', households: [], secret: 'd1' })
  t.same(file.devices, [{ id: '1', households: [], secret: 'd1' }])
  const added = putEntry(base(), 'residents', '7', {})
  t.same(added.file.residents.map((r) => r.id), ['2', '3', '7'])
})

t.test('a put naming a household or resident that does not exist is refused, naming the field', async (t) => {
  t.match(invalidMessage(() => putEntry(base(), 'devices', '1', { households: ['101', '999'] })), /households\[1\] names household "999", which does not exist/)
  t.match(invalidMessage(() => putEntry(base(), 'households', '101', { residents: ['nobody'] })), /residents\[0\] names resident "nobody"/)
})

t.test('media user ids over 32 characters are refused, naming the entry', async (t) => {
  const long = 'x'.repeat(24)
  t.match(invalidMessage(() => putEntry(base(), 'residents', long, {})), /resident_x{24} would exceed 32 characters; use at most 23/)
  t.doesNotThrow(() => putEntry(base(), 'residents', 'x'.repeat(23), {}), '23 characters fit')
  t.doesNotThrow(() => putEntry(base(), 'devices', 'x'.repeat(25), { households: [] }), 'a device id of 25 characters fits')
  t.throws(() => parseDirectoryFile('dir.json', JSON.stringify({ devices: [{ id: 'y'.repeat(26), households: [] }] })), /devices\[0\]\.id "y{26}" is too long/)
})

t.test('an unknown field in an entry is refused, naming the entry and the field', async (t) => {
  t.match(invalidMessage(() => validateReplacement({ residents: [{ id: '2', secret: 's' }, { id: '3', email: 'a@b' }] })), /residents\[1\]\.email is not a known field/)
  t.throws(() => parseDirectoryFile('dir.json', JSON.stringify({ residents: [{ id: '3', flat: '4B' }] })), /directory dir\.json: residents\[0\]\.flat is not a known field/)
})

t.test('a whole replacement is checked as the file is', async (t) => {
  t.match(invalidMessage(() => validateReplacement({ devices: [{ id: '1', households: ['404'] }] })), /devices\[0\]\.households\[0\] names household "404"/)
  t.match(invalidMessage(() => validateReplacement({ residents: [{ id: '2' }, { id: '2' }] })), /residents\[1\] repeats "2"/)
  t.match(invalidMessage(() => validateReplacement({ devices: [{ id: 'a b', households: [] }] })), /devices\[0\]\.id/)
})

t.test('deleting an entry removes the references to it; an unknown one is null', async (t) => {
  const noResident = deleteEntry(base(), 'residents', '3')
  t.same(noResident?.households, [{ number: '101', residents: ['2'] }])
  const noHousehold = deleteEntry(base(), 'households', '101')
  t.same(noHousehold?.devices, [{ id: '1', secret: 'd1', households: [] }])
  t.equal(deleteEntry(base(), 'clients', 'nope'), null)
})
