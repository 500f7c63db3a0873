import t from 'tap'
import { createMemoryStatusStore } from '../../lib/stores/memory-status-store'
import { statusStoreSuite } from './status-store-suite'

statusStoreSuite(t, 'memory', async () => {
  // One node: every node id sees the same store.
  const store = createMemoryStatusStore()
  return { store: () => store, close: async () => {} }
})
