import { INVITED_MARGIN_MS, type PushStore } from './push-store'
import { targetOf, type Subscription } from './subscriptions'

/** The push store of a single node. */
export function createMemoryPushStore (now: () => number = Date.now): PushStore {
  const subscriptions = new Map<string, Subscription>()
  const invited = new Map<string, { ids: string[], until: number }>()

  function forget (): void {
    const t = now()
    for (const [key, entry] of invited) if (entry.until < t) invited.delete(key)
  }

  return {
    async add (subscription, maxPerResident) {
      const own = [...subscriptions.values()].filter((s) => s.resident_id === subscription.resident_id)
      const same = own.find((s) => targetOf(s) === targetOf(subscription))
      if (same !== undefined) {
        const replaced = { ...subscription, subscription_id: same.subscription_id }
        subscriptions.set(same.subscription_id, replaced)
        return replaced
      }
      if (own.length >= maxPerResident) return null
      subscriptions.set(subscription.subscription_id, subscription)
      return subscription
    },
    async list (residentId) {
      return [...subscriptions.values()].filter((s) => s.resident_id === residentId).sort((a, b) => a.created_at - b.created_at)
    },
    async get (id) {
      return subscriptions.get(id) ?? null
    },
    async remove (id) {
      return subscriptions.delete(id)
    },
    async recordInvited (callId, residentId, ids, expiresAt) {
      forget()
      invited.set(`${callId}|${residentId}`, { ids: [...ids], until: expiresAt + INVITED_MARGIN_MS })
    },
    async takeInvited (callId, residentId) {
      const key = `${callId}|${residentId}`
      const entry = invited.get(key)
      invited.delete(key)
      return entry?.ids ?? []
    },
    async close () {}
  }
}
