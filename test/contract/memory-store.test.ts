import { createMemoryStore } from '../../src/session/memory-store.js'
import { describeKeyValueStore } from './store.contract.js'

describeKeyValueStore('memory-store', async () => {
  const store = createMemoryStore()
  return { store, prefix: 'mem:', close: () => store.close() }
})
