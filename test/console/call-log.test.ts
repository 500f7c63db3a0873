import t from 'tap'
import { actHttp, callHttp } from '../calls/helpers'
import { startTestNode } from '../helpers/node'
import { chromiumMissing, launchBrowser, openConsole, signIn, UI_TIMEOUT_MS, waitLive } from './browser'

/**
 * The call log and the day chart of the operator view, on the call records
 * (`GET /api/calls`) of a real node: the calls are made over HTTP first.
 */

/** A call of device 1 to resident 2 that ends as `how` says; its id. */
async function endedCall (base: string, how: 'answered' | 'rejected' | 'cancelled'): Promise<string> {
  const callId = (await callHttp(base, { target_resident_id: '2' })).call_id as string
  if (how === 'answered') {
    await actHttp(base, 'resident/2', callId, 'answered')
    await actHttp(base, 'device/1', callId, 'hangup')
  } else if (how === 'rejected') {
    await actHttp(base, 'resident/2', callId, 'rejected')
  } else {
    await actHttp(base, 'device/1', callId, 'cancelled')
  }
  return callId
}

t.test('the call log pages with next_cursor, filters through the query, and shows a call\'s history', { skip: chromiumMissing() }, async (t) => {
  const node = await startTestNode(t, { RATE_LIMIT_PER_SECOND: '100000', RING_TIMEOUT_MS: '600000' })
  const base = node.httpUrl
  // One page is 50 calls: 53 make a second page.
  await endedCall(base, 'answered')
  await endedCall(base, 'rejected')
  for (let i = 0; i < 48; i++) await endedCall(base, 'cancelled')
  const atDoor5 = (await callHttp(base, { device_device_id: '5' }, 'device/5')).call_id as string
  t.equal((await actHttp(base, 'device/5', atDoor5, 'cancelled')).status, 200)
  await endedCall(base, 'cancelled')
  const ringing = (await callHttp(base, { target_resident_id: '2' })).call_id as string

  const browser = await launchBrowser(t)
  const { page, problems } = await openConsole(browser, base, { width: 1280, height: 900 })
  await signIn(page, 'service/ops')
  await waitLive(page)
  await page.locator(`#calls-in-progress [data-call-id="${ringing}"][data-status="ringing"]`).waitFor({ timeout: UI_TIMEOUT_MS })
  t.pass('a call already ringing when the page opened is listed in progress')

  const rows = page.locator('#call-log tbody tr')
  await page.locator('#call-log tbody tr >> nth=49').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await rows.count(), 50, 'one page of 50')
  await page.getByRole('button', { name: 'Load more' }).click()
  await page.locator('#call-log tbody tr >> nth=52').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await rows.count(), 53, 'the second page adds the rest')
  t.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0, 'no more pages after a null next_cursor')

  const filters = page.getByRole('form', { name: 'Call log filters' })
  await filters.getByLabel('Device', { exact: true }).fill('5')
  await filters.getByRole('button', { name: 'Apply' }).click()
  await page.locator('#call-log tbody tr >> nth=1').waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS })
  await page.locator(`#call-log tbody tr[data-call-id="${atDoor5}"]`).waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await rows.count(), 1, 'the filtered page replaces the list')

  await rows.getByRole('button').click()
  const history = page.locator(`[id="history-${atDoor5}"]`)
  await history.locator('tbody tr >> nth=1').waitFor({ timeout: UI_TIMEOUT_MS })
  t.same(await history.locator('tbody tr td:nth-child(2)').allTextContents(), ['ringing', 'cancelled'])

  const summary = await page.locator('#day-chart .summary').textContent()
  t.match(summary, /1 answered, 0 missed, 1 rejected, 50 cancelled, 0 failed/, 'the chart counts the last day by outcome')
  t.match(summary, /median answer time [\d.]+ s/)
  t.equal(await page.locator('#day-chart canvas').count(), 1, 'the chart is drawn')
  t.same(problems, [])
})
