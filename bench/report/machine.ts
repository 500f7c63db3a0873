import os from 'node:os'

export function loadAverage (): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(', ')
}

/**
 * The share of one core a busy loop gets for 300 ms, in percent: well under 100
 * means other work on the machine takes the CPU, and every figure of the run suffers.
 */
export function cpuShare (): string {
  const started = performance.now()
  const before = process.cpuUsage()
  while (performance.now() - started < 300);
  const used = process.cpuUsage(before)
  return `${Math.round((used.user + used.system) / 10 / (performance.now() - started))} %`
}

/** The facts a reader needs to compare a result with another machine's. */
export function describeMachine (): string[] {
  const cpus = os.cpus()
  return [
    `cores: ${cpus.length}, CPU: ${cpus[0]?.model ?? 'unknown'}`,
    `Node ${process.version}, ${os.type()} ${os.release()}, memory ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `load average at start: ${loadAverage()}; a busy loop got ${cpuShare()} of a core (other work on the machine adds noise, mostly to latency tails)`,
    'noDelay: on for every socket (embedded broker: lib/broker/listeners; Mosquitto: set_tcp_nodelay true; bench clients: net noDelay)'
  ]
}
