import t from 'tap'
import type { Page } from 'playwright-core'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { chromiumMissing, openConsole, screenshot, signIn, UI_TIMEOUT_MS, waitLive, sharedBrowser } from './browser'

const browser = sharedBrowser(t)

/** The actions of the control messages a softphone logged on a topic, oldest first. */
async function controlActions (page: Page, topic: string): Promise<string[]> {
  const bodies = await page.locator(`.msg-in[data-topic="${topic}"] pre`).allTextContents()
  return bodies.reverse().map((body) => (JSON.parse(body) as { action: string }).action)
}

t.test('a door softphone and a resident softphone make a full call: ring, answer, unlock, hang up', { skip: chromiumMissing() }, async (t) => {
  const { httpUrl, mqttUrl } = await startTestNode(t)
  const door = await openConsole(browser(t), httpUrl)
  const resident = await openConsole(browser(t), httpUrl)
  await signIn(door.page, 'device/1')
  await signIn(resident.page, 'resident/2')
  await waitLive(door.page)
  await waitLive(resident.page)
  // The other resident of household 101, as a plain app, to see what the rest of the ring group hears.
  const neighbour = await connect(t, mqttUrl, 'resident/3')
  await neighbour.subscribe('users/3/#')

  await door.page.getByLabel('Household number').fill('101')
  await door.page.getByRole('button', { name: 'Ring' }).click()
  await door.page.locator('.phone-call[data-status="ringing"]').waitFor({ timeout: UI_TIMEOUT_MS })
  const callId = await door.page.locator('.phone-call').getAttribute('data-call-id')
  t.match(callId, /^call-\d{8}-[0-9a-f]{12,}$/)
  t.match(await door.page.locator('.phone-call').textContent(), /device_1/, 'the door shows its own media credentials')

  await resident.page.getByText('Door 1 is ringing (household 101)').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await resident.page.locator('.phone-call').getAttribute('data-call-id'), callId)
  t.equal(await resident.page.getByTestId('call-seq').textContent(), '1')
  t.match(await resident.page.locator('.phone-call').textContent(), /resident_2/, 'the resident shows its own media credentials')
  await neighbour.waitFor((m) => m.topic === 'users/3/calls/incoming' && m.json.call_id === callId)
  t.notOk(await resident.page.getByRole('button', { name: 'Unlock' }).isDisabled(), 'the door may be opened from the preview')
  t.ok(await resident.page.getByRole('button', { name: 'Extend' }).isDisabled(), 'nothing to extend while ringing')

  await resident.page.getByRole('button', { name: 'Answer' }).click()
  await resident.page.locator('.phone-call[data-status="connected"]').waitFor({ timeout: UI_TIMEOUT_MS })
  await door.page.locator('.phone-call[data-status="connected"]').waitFor({ timeout: UI_TIMEOUT_MS })
  t.match(await door.page.locator('.phone-call').textContent(), /Answered byresident 2/)
  const cancelled = await neighbour.waitFor((m) => m.topic === 'users/3/calls/control' && m.json.call_id === callId)
  t.match(cancelled.json, { action: 'cancelled', reason: 'answered_elsewhere', resident_id: '2' }, 'the rest of the ring group stops ringing')

  await resident.page.getByRole('button', { name: 'Unlock' }).click()
  await door.page.getByTestId('unlock').waitFor({ timeout: UI_TIMEOUT_MS })
  t.match(await door.page.getByTestId('unlock').textContent(), /Door unlocked/)
  await door.page.getByRole('button', { name: 'Report: door opened' }).click()
  await resident.page.getByTestId('unlock-result').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await resident.page.getByTestId('unlock-result').textContent(), 'The door opened', 'the door\'s report reaches the resident who unlocked')
  await screenshot(door.page, 'softphone-device')
  await screenshot(resident.page, 'softphone-resident')

  await resident.page.getByRole('button', { name: 'Hang up' }).click()
  await door.page.locator('.phone-call[data-status="ended"]').waitFor({ timeout: UI_TIMEOUT_MS })
  await resident.page.locator('.phone-call[data-status="ended"]').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await door.page.getByTestId('call-seq').textContent(), '5', 'ringing, answered, unlock, unlock_result, hangup')
  t.equal(await resident.page.getByTestId('call-seq').textContent(), '5')
  t.equal(await door.page.getByTestId('call-action').textContent(), 'hangup')

  t.same(await controlActions(door.page, 'devices/1/calls/control'), ['ringing', 'answered', 'unlock', 'hangup'], 'the door heard every step')
  t.same(await controlActions(resident.page, 'users/2/calls/control'), ['answered', 'unlock_result', 'hangup'], 'the resident heard its answer confirmed, the door\'s report and the hang-up')
  t.equal(await resident.page.locator('.msg-in[data-topic="users/2/calls/incoming"]').count(), 1, 'one invite')
  t.same(neighbour.on('users/3/calls/control').map((m) => m.action), ['cancelled'], 'the neighbour heard nothing after being cancelled')
  t.same(await resident.page.locator('.msg-ignored').count(), 0, 'no message was stale')
  t.same([...door.problems, ...resident.problems], [])
})

t.test('a door softphone rings one resident, and cancels', { skip: chromiumMissing() }, async (t) => {
  const { httpUrl, mqttUrl } = await startTestNode(t)
  const door = await openConsole(browser(t), httpUrl)
  await signIn(door.page, 'device/1')
  await waitLive(door.page)
  const target = await connect(t, mqttUrl, 'resident/4')
  await target.subscribe('users/4/#')

  await door.page.getByLabel('One resident').check()
  await door.page.getByLabel('Resident id').fill('4')
  await door.page.getByRole('button', { name: 'Ring' }).click()
  const invite = await target.waitFor((m) => m.topic === 'users/4/calls/incoming')
  await door.page.locator(`.phone-call[data-call-id="${String(invite.json.call_id)}"][data-status="ringing"]`).waitFor({ timeout: UI_TIMEOUT_MS })
  await door.page.getByRole('button', { name: 'Cancel' }).click()
  await door.page.locator('.phone-call[data-status="ended"]').waitFor({ timeout: UI_TIMEOUT_MS })
  const cancelled = await target.waitFor((m) => m.topic === 'users/4/calls/control')
  t.match(cancelled.json, { action: 'cancelled', call_id: invite.json.call_id })
  t.same(door.problems, [])
})

t.test('a refused request shows the reason from the error topic', { skip: chromiumMissing() }, async (t) => {
  const { httpUrl } = await startTestNode(t)
  const door = await openConsole(browser(t), httpUrl)
  await signIn(door.page, 'device/5')
  await waitLive(door.page)
  await door.page.getByLabel('Household number').fill('101')
  await door.page.getByRole('button', { name: 'Ring' }).click()
  const alert = door.page.locator('.error[role="alert"]')
  await alert.waitFor({ timeout: UI_TIMEOUT_MS })
  t.match(await alert.textContent(), /101/, 'the node says why: household 101 is not this door\'s')
  t.equal(await door.page.locator('.phone-call').count(), 0)
})
