import { readFileSync, writeFileSync } from 'node:fs'
import t from 'tap'
import { connect } from '../helpers/mqtt'
import { spawnNode } from '../helpers/spawn-node'
import { closed, directoryCopy, within } from './helpers'

/** Resolves once the node's standard error has said `pattern`. */
function said (stderr: () => string, pattern: RegExp): () => Promise<void> {
  return async () => {
    if (!pattern.test(stderr())) throw new Error(`not yet: ${stderr()}`)
  }
}

t.test('SIGHUP re-reads the directory file instead of stopping the node', async (t) => {
  const file = directoryCopy(t)
  const node = await spawnNode(t, { INTERCOM_DIRECTORY: file })
  const url = `mqtt://127.0.0.1:${node.ports.mqtt}`
  const removed = await connect(t, url, 'resident/6')
  const kept = await connect(t, url, 'resident/2')

  const directory = JSON.parse(readFileSync(file, 'utf8'))
  directory.residents = directory.residents.filter((r: { id: string }) => r.id !== '6').concat({ id: '9', secret: 'res-9-secret' })
  directory.households = directory.households.map((h: { number: string }) => (h.number === '201' ? { number: '201', residents: ['9'] } : h))
  writeFileSync(file, JSON.stringify(directory))
  node.child.kill('SIGHUP')
  await within(10_000, said(node.stderr, /SIGHUP, directory file re-read/))

  await t.resolves(connect(t, url, 'resident/9', { secret: 'res-9-secret' }), 'a new resident signs in')
  await closed(removed)
  await t.rejects(connect(t, url, 'resident/6'), /Bad username or password/, 'a removed one is refused')
  t.ok(kept.client.connected, 'the others keep their connections')

  writeFileSync(file, '{"residents": [{"id": "2", "nickname": "x"}]}')
  node.child.kill('SIGHUP')
  await within(10_000, said(node.stderr, /SIGHUP: directory .*residents\[0\]\.nickname is not a known field; keeping the current directory/))
  await t.resolves(connect(t, url, 'resident/9', { secret: 'res-9-secret' }), 'a bad file changes nothing')
  t.equal(node.child.exitCode, null, 'still running')
})
