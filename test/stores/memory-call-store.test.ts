import t from 'tap'
import { MemoryCallStore } from '../../lib/stores/memory-call-store'
import { callStoreSuite } from './call-store-suite'

callStoreSuite(t, 'memory', async ({ retentionMs }) => {
  const store = new MemoryCallStore({ retentionMs })
  return { store, close: async () => { await store.close() } }
})
