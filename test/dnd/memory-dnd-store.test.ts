import t from 'tap'
import { createMemoryDndStore } from '../../lib/dnd/memory-dnd-store'
import { dndStoreSuite } from './dnd-store-suite'

dndStoreSuite(t, 'memory', async () => createMemoryDndStore())
