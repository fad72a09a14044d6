/**
 * The commands that carry a rejoin or catch-up decision out on a given
 * layout, in order: what redrepl runs (an exact argv) and what only RedDB
 * does, at the node's next start (argv null), with what must be true first.
 * Pure: the paths and the chosen backup come from the caller.
 */
import type {CatchupMode} from './catchup.js'
import type {RejoinPlan} from './rejoin.js'

export interface NextStep {
  description: string
  /** The redrepl command to run, word by word; null for a step RedDB (or the operator) performs. */
  argv: string[] | null
}

/** A base backup a node can be rebuilt from. */
export interface RestorableBackup {
  manifest_path: string
  checkpoint_lsn: bigint
  timeline: bigint
}

const BIN = 'redrepl'

function stageRebootstrap(backup: RestorableBackup, nodeDataPath: string | null, who: string, nodeFlag: string): NextStep {
  const what = `stage base backup ${backup.manifest_path} (checkpoint LSN ${backup.checkpoint_lsn}, timeline ${backup.timeline}) as the ${who}'s rebootstrap, with the ${who} stopped`
  return nodeDataPath === null
    ? {description: `${what}: run "${BIN} basebackup materialize --data-path <the ${who}'s data path> --manifest ${backup.manifest_path} --rebootstrap" on it (give ${nodeFlag} to see the exact command)`, argv: null}
    : {description: what, argv: [BIN, 'basebackup', 'materialize', '--data-path', nodeDataPath, '--manifest', backup.manifest_path, '--rebootstrap']}
}

const takeBackup = (primaryDataPath: string, timeline: bigint): NextStep => ({
  description: `take a base backup of the primary on timeline ${timeline} (none there is usable: none, or all older than the oldest WAL kept)`,
  argv: [BIN, 'basebackup', 'create', '--data-path', primaryDataPath, '--from', primaryDataPath],
})

export interface RejoinStepsInput {
  plan: RejoinPlan
  currentTimeline: bigint
  primaryDataPath: string
  /** The old node's data path; null when its position was given by flags. */
  nodeDataPath: string | null
  /** The newest usable backup of the current timeline, for a reclone; null when there is none. */
  backup: RestorableBackup | null
}

/** What carries a rejoin decision out (behaviour.md "rejoin plan"). */
export function rejoinNextSteps(input: RejoinStepsInput): NextStep[] {
  const {plan, primaryDataPath} = input
  const target = plan.rejoin_target_timeline
  const checkWal = (lsn: bigint): NextStep => ({
    description: `check that the primary still serves WAL from LSN ${lsn} (expect wal-only): its retention must keep it until the node has connected`,
    argv: [BIN, 'catchup', 'plan', '--data-path', primaryDataPath, '--replica-lsn', String(lsn)],
  })
  switch (plan.decision) {
    case 'already_current':
      return [{description: `nothing to rewind or restore: start the node as a replica; RedDB records state timeline_current and streams timeline ${target} from LSN ${plan.rejoin_start_lsn}`, argv: null}]
    case 'follow_new_timeline':
      return [
        checkWal(plan.rejoin_start_lsn),
        {description: `start the node as a replica of the new primary: RedDB records state rejoin_follow_wal and follows timeline ${target} from LSN ${plan.rejoin_start_lsn}`, argv: null},
      ]
    case 'rewind':
      return [
        checkWal(plan.rejoin_rewind_to_lsn),
        {
          description:
            plan.rejoin_node_flushed_lsn === plan.rejoin_rewind_to_lsn
              ? `start the node as a replica of the new primary: RedDB records state rejoin_rewind_required; the node stopped exactly at LSN ${plan.rejoin_rewind_to_lsn}, so nothing is past the fork to discard, and it follows timeline ${target} from there`
              : `start the node as a replica of the new primary: RedDB records state rejoin_rewind_required; what the node wrote past LSN ${plan.rejoin_rewind_to_lsn} must be discarded before it follows timeline ${target} from there (redrepl does not rewind)`,
          argv: null,
        },
      ]
    case 'reclone': {
      if (input.backup === null) {
        return [
          takeBackup(primaryDataPath, input.currentTimeline),
          input.nodeDataPath === null
            ? {description: 'then stage it on the old node (plan again with --node-data-path for the exact command)', argv: null}
            : {description: 'then stage it as the old node\'s rebootstrap', argv: [BIN, 'rejoin', 'apply', '--data-path', primaryDataPath, '--node-data-path', input.nodeDataPath]},
        ]
      }
      return [
        stageRebootstrap(input.backup, input.nodeDataPath, 'node', '--node-data-path'),
        {
          description: `start the node: RedDB swaps the pending database in at its next start, then streams timeline ${input.currentTimeline} from LSN ${input.backup.checkpoint_lsn}; the primary must still hold WAL from there`,
          argv: null,
        },
      ]
    }
  }
}

export interface CatchupStepsInput {
  mode: CatchupMode
  timeline: bigint
  replicaLsn: bigint
  /** The primary's WAL head, where the catch-up ends for now; null without a record. */
  walHead: bigint | null
  primaryDataPath: string
  replicaDataPath: string | null
  /** The --available-from-lsn the plan was made with, repeated when it is made again; null when read from the WAL. */
  availableFromLsnGiven: bigint | null
  backup: RestorableBackup | null
}

/** What carries a catch-up decision out (behaviour.md "catchup plan"). */
export function catchupNextSteps(input: CatchupStepsInput): NextStep[] {
  const upTo = input.walHead === null ? '' : ` up to the head, LSN ${input.walHead}`
  switch (input.mode) {
    case 'wal-only':
      return [{description: `start the replica (or let it reconnect): it streams WAL of timeline ${input.timeline} from LSN ${input.replicaLsn}${upTo}; the primary must keep that WAL until then`, argv: null}]
    case 'basebackup-then-wal':
      return [
        stageRebootstrap(input.backup!, input.replicaDataPath, 'replica', '--replica-data-path'),
        {description: `start the replica: RedDB swaps the pending database in, then streams WAL of timeline ${input.timeline} from LSN ${input.backup!.checkpoint_lsn}${upTo}`, argv: null},
      ]
    case 'reclone':
      return [
        takeBackup(input.primaryDataPath, input.timeline),
        {
          description: 'then plan again: it names the new backup and the command that stages it',
          argv: [
            BIN,
            'catchup',
            'plan',
            '--data-path',
            input.primaryDataPath,
            '--replica-lsn',
            String(input.replicaLsn),
            ...(input.availableFromLsnGiven === null ? [] : ['--available-from-lsn', String(input.availableFromLsnGiven)]),
            ...(input.replicaDataPath === null ? [] : ['--replica-data-path', input.replicaDataPath]),
          ],
        },
      ]
  }
}
