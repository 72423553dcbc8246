import { createMemoryStore } from '@tally/core'
import { storeSuite } from '@tally/core/testing'

storeSuite('memory', { setup: async () => createMemoryStore() })
