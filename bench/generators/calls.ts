import { CallDriver } from './call-driver'
import { connectParties } from './call-parties'
import { send, serve } from './child'

let driver: CallDriver | null = null

serve(async (message) => {
  switch (message.type) {
    case 'calls-connect':
      driver = new CallDriver(await connectParties(message.spec), message.spec.httpPort)
      await send({ type: 'ready' })
      return
    case 'calls-step': {
      if (driver === null) throw new Error('calls generator: a step before "calls-connect"')
      const result = await driver.run(message.step, {
        windowStart: () => send({ type: 'window-start' }),
        windowEnd: () => send({ type: 'window-end' })
      })
      await send({ type: 'calls-result', result })
      return
    }
    case 'close':
      driver?.close()
      await send({ type: 'closed' })
      process.exit(0)
      break
    default:
      throw new Error(`calls generator: unexpected "${message.type}"`)
  }
})
