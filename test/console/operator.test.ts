import t from 'tap'
import { request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { chromiumMissing, sameOrigin, openConsole, screenshot, signIn, UI_TIMEOUT_MS, waitLive, sharedBrowser } from './browser'

const browser = sharedBrowser(t)

t.test('an operator sees a call appear at once, its legs change as residents act, and the call move to the log', { skip: chromiumMissing() }, async (t) => {
  const { httpUrl, mqttUrl } = await startTestNode(t)
  const { page, problems, requests } = await openConsole(browser(t), httpUrl, { width: 1280, height: 900 })
  await signIn(page, 'service/ops')
  await page.locator('[data-view="operator"]').waitFor({ timeout: UI_TIMEOUT_MS })
  await waitLive(page)
  // Two doors for the device list: one online, one that came and went.
  const door = await connect(t, mqttUrl, 'device/1')
  await door.publish('devices/1/status/report', { battery: 87 })
  await (await connect(t, mqttUrl, 'device/5')).end()
  await page.locator('#devices [data-device="5"][data-online="false"]').waitFor({ timeout: UI_TIMEOUT_MS })
  await page.locator('#devices [data-device="1"][data-online="true"]', { hasText: '87 %' }).waitFor({ timeout: UI_TIMEOUT_MS })

  const askedBefore = requests.length
  const started = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', household_number: '101' } })
  t.equal(started.status, 200)
  const callId = started.body.data.call_id as string
  const card = page.locator(`#calls-in-progress [data-call-id="${callId}"]`)
  await card.waitFor({ timeout: UI_TIMEOUT_MS })
  // Live, not polled: the page asked the node for nothing between the call's start and its card.
  t.same(requests.slice(askedBefore).filter((url) => url.includes('/api/')), [], 'the call came over the live connection')
  t.equal(await card.getAttribute('data-status'), 'ringing')
  t.equal(await card.locator('[data-resident="2"]').getAttribute('data-state'), 'ringing')
  t.equal(await card.locator('[data-resident="3"]').getAttribute('data-state'), 'ringing')
  t.match(await card.textContent(), /Door 1.*household 101/)

  const act = (as: string, action: string) => request(httpUrl, 'POST', '/api/mqtt/controller/resident', { as, body: { call_info: { call_id: callId, action } } })
  t.equal((await act('resident/3', 'rejected')).status, 200)
  await card.locator('[data-resident="3"][data-state="rejected"]').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await card.getAttribute('data-status'), 'ringing', 'one rejection with a leg still ringing keeps the call ringing')

  t.equal((await act('resident/2', 'answered')).status, 200)
  await page.locator(`#calls-in-progress [data-call-id="${callId}"][data-status="connected"]`).waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await card.locator('[data-resident="2"]').getAttribute('data-state'), 'answered')
  await screenshot(page, 'operator')

  const hangup = await request(httpUrl, 'POST', '/api/mqtt/controller/device', { as: 'device/1', body: { call_info: { call_id: callId, action: 'hangup' } } })
  t.equal(hangup.status, 200)
  await card.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
  const row = page.locator(`#call-log [data-call-id="${callId}"]`)
  await row.waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await row.getAttribute('data-status'), 'ended')
  t.match(await row.textContent(), /hangup/)

  await row.getByRole('button').click()
  const history = page.locator(`[id="history-${callId}"]`)
  await history.locator('tbody tr >> nth=3').waitFor({ timeout: UI_TIMEOUT_MS })
  const actions = await history.locator('tbody tr td:nth-child(2)').allTextContents()
  t.same(actions, ['ringing', 'rejected', 'answered', 'hangup'], 'the full history, in order')
  t.equal(await row.getByRole('button').getAttribute('aria-expanded'), 'true')

  t.same(requests.filter((url) => !sameOrigin(url, httpUrl)), [], 'nothing is fetched from elsewhere')
  t.same(problems, [])
})

t.test('a device going offline turns red in the device list', { skip: chromiumMissing() }, async (t) => {
  const { httpUrl, mqttUrl } = await startTestNode(t)
  const { page, problems } = await openConsole(browser(t), httpUrl)
  await signIn(page, 'service/ops')
  await waitLive(page)
  const device = await connect(t, mqttUrl, 'device/5')
  await device.publish('devices/5/status/report', { battery: 64 })
  const online = page.locator('#devices [data-device="5"][data-online="true"]')
  await online.waitFor({ timeout: UI_TIMEOUT_MS })
  await page.locator('#devices [data-device="5"]', { hasText: '64 %' }).waitFor({ timeout: UI_TIMEOUT_MS })
  // Typed by hand: the test program has no DOM types.
  const colour = async (selector: string) => await page.locator(selector).evaluate((row) => (globalThis as unknown as { getComputedStyle: (e: unknown) => { color: string } }).getComputedStyle(row).color)
  t.not(await colour('#devices [data-device="5"]'), 'rgb(176, 0, 32)', 'an online device is not red')

  await device.end()
  const offline = page.locator('#devices [data-device="5"][data-online="false"]')
  await offline.waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await colour('#devices [data-device="5"]'), 'rgb(176, 0, 32)', 'an offline device is red')
  t.match(await offline.textContent(), /offline/, 'and says so in words')

  await page.getByLabel('Show').selectOption('online')
  await offline.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
  await page.getByLabel('Show').selectOption('all')
  await page.getByLabel('Search').fill('nothing-matches')
  await offline.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
  await page.getByLabel('Search').fill('5')
  await offline.waitFor({ timeout: UI_TIMEOUT_MS })
  t.same(problems, [])
})
