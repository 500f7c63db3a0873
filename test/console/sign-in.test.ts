import t from 'tap'
import { request } from '../helpers/http'
import { startTestNode } from '../helpers/node'
import { chromiumMissing, sameOrigin, openConsole, signIn, storedInBrowser, UI_TIMEOUT_MS, sharedBrowser } from './browser'

const browser = sharedBrowser(t)

t.test('GET /console serves the page and its assets from the node itself', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const page = await fetch(`${httpUrl}/console`)
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /text\/html/)
  t.match(page.headers.get('content-security-policy'), /default-src 'self'/)
  const html = await page.text()
  for (const asset of ['/console/console.js', '/console/console.css']) {
    t.ok(html.includes(asset), `the page loads ${asset}`)
    const response = await fetch(`${httpUrl}${asset}`)
    t.equal(response.status, 200, `${asset} is served`)
    t.ok((await response.arrayBuffer()).byteLength > 0)
  }
  const compressed = await fetch(`${httpUrl}/console/console.js`, { headers: { 'accept-encoding': 'br' } })
  t.equal(compressed.headers.get('content-encoding'), 'br', 'sent compressed to a browser that accepts it')
  await compressed.arrayBuffer()
  t.equal((await request(httpUrl, 'GET', '/console/nope.js')).status, 404)
})

t.test('a wrong password shows an error and nothing else', { skip: chromiumMissing() }, async (t) => {
  const { httpUrl } = await startTestNode(t)
  const { page, problems, requests } = await openConsole(browser(t), httpUrl)
  await signIn(page, 'service/ops', 'not-the-token')
  const error = page.getByRole('alert')
  await error.waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await error.textContent(), 'Wrong identity name or secret.')
  t.equal(await page.locator('[data-view]').count(), 0, 'no view is shown')
  t.equal(await page.locator('[data-link]').count(), 0, 'no MQTT connection is attempted')
  t.ok(await page.getByLabel('Identity name').isVisible(), 'the form stays')
  t.notOk(page.url().includes('not-the-token'), 'the secret is not in the URL')
  t.same(requests.filter((url) => !sameOrigin(url, httpUrl)), [], 'nothing is fetched from elsewhere')
  t.same(problems, [])
  t.same(await storedInBrowser(page), [0, 0, ''], 'nothing is stored in the browser')
})

t.test('the right password opens the view of the identity kind, and signing out forgets it', { skip: chromiumMissing() }, async (t) => {
  const { httpUrl } = await startTestNode(t)
  const { page, problems } = await openConsole(browser(t), httpUrl)
  await signIn(page, 'resident/2')
  await page.locator('[data-view="resident"]').waitFor({ timeout: UI_TIMEOUT_MS })
  t.same(await storedInBrowser(page), [0, 0, ''], 'credentials stay in memory')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByLabel('Identity name').waitFor({ timeout: UI_TIMEOUT_MS })
  t.equal(await page.getByLabel('Secret or token').inputValue(), '', 'the form starts empty again')
  t.same(problems, [])
})
