import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, waitForListener } from '../system/ports'
import { spawnTracked, stopProcess } from '../system/processes'
import { BENCH_IDENTITY, type BrokerKind, type RunningBroker } from './broker'

const CANDIDATES = [process.env.MOSQUITTO, '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto']

function findBinary (): string | undefined {
  return CANDIDATES.find((p): p is string => p !== undefined && p !== '' && existsSync(p))
}

function version (binary: string): string {
  const out = spawnSync(binary, ['-h'], { encoding: 'utf8' }).stdout ?? ''
  return /version (\S+)/.exec(out)?.[1] ?? '?'
}

/**
 * Configured like the embedded broker: authenticated, one ACL, no limits on
 * in-flight or queued messages (Debian's defaults drop beyond 20 in flight), Nagle off.
 */
function config (dir: string, port: number): string {
  writeFileSync(path.join(dir, 'acl'), `user ${BENCH_IDENTITY.username}\ntopic readwrite ${BENCH_IDENTITY.topicRoot}/#\n`)
  const passwd = spawnSync('mosquitto_passwd', ['-b', '-c', path.join(dir, 'passwd'), BENCH_IDENTITY.username, BENCH_IDENTITY.password], { encoding: 'utf8' })
  if (passwd.status !== 0) throw new Error(`mosquitto_passwd failed (${passwd.error?.message ?? passwd.stderr}); install the mosquitto package`)
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${path.join(dir, 'passwd')}`,
    `acl_file ${path.join(dir, 'acl')}`,
    'max_inflight_messages 0',
    'max_queued_messages 0',
    'set_tcp_nodelay true',
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    // Started as root, mosquitto would switch to its own user and lose the temp files.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    ''
  ].join('\n')
}

export function mosquittoBroker (): BrokerKind {
  return {
    name: 'mosquitto',
    missing: () => (findBinary() === undefined ? `mosquitto not found (looked in ${CANDIDATES.filter(Boolean).join(', ')}; set MOSQUITTO=path or apt install mosquitto)` : null),
    async start (): Promise<RunningBroker> {
      const binary = findBinary()
      if (binary === undefined) throw new Error('mosquitto is not installed')
      const dir = mkdtempSync(path.join(os.tmpdir(), 'mosquitto-bench-'))
      const port = await freePort()
      writeFileSync(path.join(dir, 'mosquitto.conf'), config(dir, port))
      const child = spawnTracked(binary, ['-c', path.join(dir, 'mosquitto.conf')])
      let log = ''
      child.stderr?.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-2000) })
      child.stdout?.resume()
      try {
        await waitForListener(port, 10_000, () => child.exitCode === null)
      } catch (err) {
        await stopProcess(child)
        rmSync(dir, { recursive: true, force: true })
        throw new Error(`${(err as Error).message}: ${log}`)
      }
      return {
        label: `Mosquitto ${version(binary)}`,
        pid: child.pid as number,
        port,
        async stop () {
          await stopProcess(child)
          rmSync(dir, { recursive: true, force: true })
        }
      }
    }
  }
}
