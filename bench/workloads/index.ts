import { callsWorkload } from './calls'
import { connectionsWorkload } from './connections'
import { directoryWorkload } from './directory'
import { observabilityWorkload } from './observability'
import { rawWorkload } from './raw'
import { pushWorkload } from './push'
import { recordsWorkload } from './records'
import { stalledWorkload } from './stalled'
import { stormWorkload } from './storm'
import type { Workload } from './workload'

/** Every workload, in the order a full run takes them. */
export const WORKLOADS: readonly Workload[] = [rawWorkload, connectionsWorkload, callsWorkload, observabilityWorkload, recordsWorkload, directoryWorkload, stalledWorkload, pushWorkload, stormWorkload]
