import type {ReplicaAck} from '../model.js'

export type DurabilityMode = 'async' | 'remote-write' | 'remote-flush' | 'remote-apply'

const ACK_FIELD = {
  'remote-write': 'written_lsn',
  'remote-flush': 'flushed_lsn',
  'remote-apply': 'applied_lsn',
} as const

/** Whether a commit at `commitLsn` is durable: async always; else at least `quorum` acks reached it. */
export function isDurable(input: {mode: DurabilityMode; quorum: bigint; commitLsn: bigint; acks: ReplicaAck[]}): boolean {
  if (input.mode === 'async') return true
  const field = ACK_FIELD[input.mode]
  const reached = input.acks.filter((ack) => ack[field] >= input.commitLsn).length
  return BigInt(reached) >= input.quorum
}
