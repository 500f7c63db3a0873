import t from 'tap'
import { requireRedis, startRedis } from '../helpers/redis'
import { startTwoNodes } from '../cluster/helpers'
import { chromiumMissing, launchBrowser, openConsole, signIn, UI_TIMEOUT_MS, waitLive } from './browser'

if (requireRedis(t)) {
  t.test('on a two-node cluster: the operator on A watches a call the softphones on B make', { skip: chromiumMissing() }, async (t) => {
    const redis = await startRedis(t)
    const [a, b] = await startTwoNodes(t, redis.url)
    const browser = await launchBrowser(t)
    const operator = await openConsole(browser, a.httpUrl, { width: 1280, height: 900 })
    const door = await openConsole(browser, b.httpUrl)
    const resident = await openConsole(browser, b.httpUrl)
    await signIn(operator.page, 'service/ops')
    await signIn(door.page, 'device/1')
    await signIn(resident.page, 'resident/4')
    await Promise.all([waitLive(operator.page), waitLive(door.page), waitLive(resident.page)])

    await operator.page.locator('#devices [data-device="1"][data-online="true"]').waitFor({ timeout: UI_TIMEOUT_MS })
    await door.page.getByLabel('Household number').fill('102')
    await door.page.getByRole('button', { name: 'Ring' }).click()
    await resident.page.getByRole('button', { name: 'Answer' }).click({ timeout: UI_TIMEOUT_MS })
    const callId = await resident.page.locator('.phone-call').getAttribute('data-call-id')
    const card = operator.page.locator(`#calls-in-progress [data-call-id="${String(callId)}"][data-status="connected"]`)
    await card.waitFor({ timeout: UI_TIMEOUT_MS })
    t.equal(await card.locator('[data-resident="4"]').getAttribute('data-state'), 'answered')

    await resident.page.getByRole('button', { name: 'Unlock' }).click()
    await door.page.getByTestId('unlock').waitFor({ timeout: UI_TIMEOUT_MS })
    await door.page.getByRole('button', { name: 'Hang up' }).click()
    await operator.page.locator(`#call-log [data-call-id="${String(callId)}"][data-status="ended"]`).waitFor({ timeout: UI_TIMEOUT_MS })
    await resident.page.locator('.phone-call[data-status="ended"]').waitFor({ timeout: UI_TIMEOUT_MS })

    await door.page.close()
    await operator.page.locator('#devices [data-device="1"][data-online="false"]').waitFor({ timeout: UI_TIMEOUT_MS })
    t.same([...operator.problems, ...door.problems, ...resident.problems], [])
  })
}
