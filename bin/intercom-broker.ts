#!/usr/bin/env node
import closeWithGrace from 'close-with-grace'
import { describeEnvironment, loadConfig, ConfigError } from '../config/env'
import { DirectoryError } from '../lib/directory/load'
import { hashSecret } from '../lib/directory/secrets'
import { startNode } from '../lib/node'

const USAGE = `usage:
  intercom-broker                 start a node (configured by the environment variables below)
  intercom-broker hash-secret [S] print the hash of secret S (or of standard input) for the directory file
  intercom-broker --help          this text`

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

async function main (args: string[]): Promise<void> {
  const [command, ...rest] = args
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n\nenvironment (a bad value stops start-up naming the variable):\n${describeEnvironment()}\n`)
    return
  }
  if (command === 'hash-secret') {
    const secret = rest[0] ?? await readStdin()
    if (secret === '') throw new ConfigError('hash-secret needs a non-empty secret (argument or standard input)')
    process.stdout.write(`${await hashSecret(secret)}\n`)
    return
  }
  if (command !== undefined) throw new ConfigError(`unknown command "${command}"\n${USAGE}`)

  const node = await startNode({ config: loadConfig() })
  closeWithGrace({ delay: 5000 }, async ({ err, signal }) => {
    if (err !== undefined) process.stderr.write(`intercom-broker: ${err.stack ?? String(err)}\n`)
    else if (signal !== undefined) process.stderr.write(`intercom-broker: ${signal}, shutting down\n`)
    await node.close()
  })
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof DirectoryError
  process.stderr.write(`intercom-broker: ${known ? (err as Error).message : (err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
