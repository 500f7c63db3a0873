import t from 'tap'
import { MemoryCallStore } from '../../lib/stores/memory-call-store'
import { callListingSuite } from './call-listing-suite'
import { callStoreSuite } from './call-store-suite'

callStoreSuite(t, 'memory', async ({ retentionMs }) => {
  const store = new MemoryCallStore({ retentionMs })
  return { store, close: async () => { await store.close() } }
})

callListingSuite(t, 'memory', async ({ retentionMs, scanLimit }) => {
  const store = new MemoryCallStore({ retentionMs, ...(scanLimit === undefined ? {} : { scanLimit }) })
  return { store, close: async () => { await store.close() } }
})
