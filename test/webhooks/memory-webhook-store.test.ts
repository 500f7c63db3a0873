import t from 'tap'
import { createMemoryWebhookStore } from '../../lib/webhooks/memory-webhook-store'
import { webhookStoreSuite } from './webhook-store-suite'

webhookStoreSuite(t, 'memory', async () => ({ store: createMemoryWebhookStore(), close: async () => {} }))
