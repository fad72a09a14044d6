/**
 * `failover apply`: carries out a saved failover plan across hosts, each
 * step through the node's transport, journaled beside the plan so a re-run
 * after a failure resumes where it stopped and never repeats a done step.
 *
 * Before anything: the plan's seal, the journal belonging to this plan, the
 * cluster still as pinned (nodes whose step is done excepted), and no RedDB
 * running as the old primary (its flock, read on its host; an unreachable one
 * only when the operator says it is down). Then the promotion on the
 * candidate (`timeline promote` with the pinned replica and timeline), then
 * each other node's step. A reclone is carried out when a repository
 * carries the backup between hosts (`--repo-name`, or the config's one
 * `[repo.NAME]` section): a base backup of the new primary pushed there,
 * then that very backup staged for a rebootstrap on the node, each its own
 * journaled step.
 */
import {createHash} from 'node:crypto'

import {isJsonObject, parseJson, stringifyJson, type JsonValue} from '../../codec/json.js'
import type {InventoryNode} from '../../config/inventory.js'
import {loadConfig} from '../../config/load-config.js'
import {repoSection} from '../../config/config-file.js'
import {FormatError, refused, RedreplError, usageError} from '../../errors.js'
import {decodeFailoverPlan, MAX_FAILOVER_PLAN_BYTES, type FailoverPlan} from '../../format/failover-plan.js'
import {jsonArray, jsonString, jsonU64} from '../../format/json-fields.js'
import {writeFileAtomic} from '../../fs/atomic.js'
import {acquireLayoutLock} from '../../fs/lock.js'
import {readBounded, readBoundedIfExists} from '../../fs/open.js'
import type {ClusterInput, ClusterNodeReport} from '../../plan/cluster.js'
import {pinChanges, pinOf, type FailoverNodeStep} from '../../plan/failover.js'
import {planRejoin} from '../../plan/rejoin.js'
import {positionOf} from '../../plan/cluster.js'
import {reachNodes, runOnNode} from './reach.js'
import {readCluster, type ClusterOptions} from './status.js'
import {journalPathOf, MAX_JOURNAL_BYTES} from './failover-plan.js'

export type StepStatus = 'done' | 'manual' | 'failed'

export type StepKind = 'promote' | 'rejoin' | 'reclone-backup' | 'reclone-restore'
const STEP_KINDS: readonly StepKind[] = ['promote', 'rejoin', 'reclone-backup', 'reclone-restore']

/** The backup a reclone's first step took on the new primary and pushed, pinned for its second step. */
export interface RecloneBackup {
  repo_name: string
  timeline: bigint
  checkpoint_lsn: bigint
  /** The manifest's file name, the last part of its key in the repository. */
  manifest_name: string
}

export interface JournalEntry {
  /** What the step does, and the node it acts on (for a reclone: the node rebuilt). */
  step: StepKind
  node: string
  status: StepStatus
  at_unix_ms: bigint
  detail: string
  /** For a manual step: what the operator runs, in order. */
  commands: string[]
  /** For a done reclone-backup step: the backup the restore step restores. */
  backup?: RecloneBackup | null
}

interface Journal {
  plan_sha256: string
  entries: JournalEntry[]
}

const JOURNAL_SCHEMA = 'redrepl.failover-journal/1'

export interface FailoverApplyOptions extends Omit<ClusterOptions, 'cluster'> {
  planPath: string
  dryRun: boolean
  /** The operator says the old primary's host is down: an unreachable old primary is then not a refusal. */
  oldPrimaryDown: boolean
  now: () => bigint
  /** The deadline of each backup, push, restore and verify run on a node (a base backup takes longer than reading a node's state). */
  transferTimeoutMs: number
  /** Asked with what is left to do, before the first step is taken; throws to stop. */
  confirm?: (pending: AppliedStep[]) => Promise<void>
  /** The `[repo.NAME]` section that carries a reclone's backup; default: the config's only one. */
  repoName?: string
}

export interface AppliedStep {
  step: StepKind
  node: string
  /** promote, or the node's planned decision. */
  action: 'promote' | FailoverNodeStep['decision']
  /** done / manual in this run; already-done / already-manual from the journal; pending in a dry run (or left after a failure). */
  status: 'done' | 'manual' | 'already-done' | 'already-manual' | 'pending' | 'failed'
  detail: string
  commands: string[]
}

export interface FailoverApplyReport {
  plan_path: string
  journal_path: string
  cluster: string
  candidate: string
  new_timeline: bigint
  fork_lsn: bigint
  /** The repository a reclone goes through (its [repo.NAME] section), or null: reclones are manual. */
  repo_name: string | null
  repo_name_source: 'plan' | 'flag' | 'config' | 'journal' | null
  dry_run: boolean
  /** Whether the journal already held steps of this plan. */
  resumed: boolean
  old_primary_checks: Array<{node: string; state: 'stopped' | 'declared-down'; detail: string}>
  steps: AppliedStep[]
  /** Every step done or handed to the operator. */
  complete: boolean
}

function journalFromJson(value: JsonValue, file: string): Journal {
  try {
    if (!isJsonObject(value) || value.schema !== JOURNAL_SCHEMA) throw new FormatError(`schema must be "${JOURNAL_SCHEMA}"`)
    const entries = jsonArray(value.entries, 'entries').map((entry, i): JournalEntry => {
      if (!isJsonObject(entry)) throw new FormatError(`entries[${i}] must be an object`)
      const step = jsonString(entry.step, `entries[${i}].step`)
      const status = jsonString(entry.status, `entries[${i}].status`)
      if (!STEP_KINDS.includes(step as StepKind)) throw new FormatError(`entries[${i}].step must be one of ${STEP_KINDS.join(', ')}`)
      if (!['done', 'manual', 'failed'].includes(status)) throw new FormatError(`entries[${i}].status must be done, manual or failed`)
      return {
        step: step as StepKind,
        node: jsonString(entry.node, `entries[${i}].node`),
        status: status as StepStatus,
        at_unix_ms: jsonU64(entry.at_unix_ms, `entries[${i}].at_unix_ms`),
        detail: jsonString(entry.detail, `entries[${i}].detail`),
        commands: jsonArray(entry.commands, `entries[${i}].commands`).map((c, j) => jsonString(c, `entries[${i}].commands[${j}]`)),
        backup: backupFromJson(entry.backup, `entries[${i}].backup`),
      }
    })
    return {plan_sha256: jsonString(value.plan_sha256, 'plan_sha256'), entries}
  } catch (error) {
    if (error instanceof FormatError) throw error.inFile(file)
    throw error
  }
}

function backupFromJson(value: JsonValue | undefined, where: string): RecloneBackup | null {
  if (value === undefined || value === null) return null
  if (!isJsonObject(value)) throw new FormatError(`${where} must be an object`)
  const name = jsonString(value.manifest_name, `${where}.manifest_name`)
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) throw new FormatError(`${where}.manifest_name must be a plain file name`)
  return {repo_name: jsonString(value.repo_name, `${where}.repo_name`), timeline: jsonU64(value.timeline, `${where}.timeline`), checkpoint_lsn: jsonU64(value.checkpoint_lsn, `${where}.checkpoint_lsn`), manifest_name: name}
}

async function readJournal(file: string, planSha: string): Promise<Journal> {
  const bytes = await readBoundedIfExists(file, MAX_JOURNAL_BYTES, 'failover journal', {noFollow: true})
  if (bytes === undefined) return {plan_sha256: planSha, entries: []}
  let value: JsonValue
  try {
    value = parseJson(new TextDecoder('utf-8', {fatal: true}).decode(bytes))
  } catch (error) {
    throw new FormatError(`not a JSON document: ${(error as Error).message}`, file)
  }
  const journal = journalFromJson(value, file)
  if (journal.plan_sha256 !== planSha) {
    throw refused(`${file}: is the journal of another plan (sha256 ${journal.plan_sha256}), not of the plan beside it; nothing was done`, {code: 'failover.journal-mismatch', hint: 'apply the plan the journal was written for, or plan again under a new name'})
  }
  return journal
}

/** The journal, rewritten whole and atomically after each step: a crash leaves the previous complete journal or the new one. */
async function recordStep(file: string, journal: Journal, entry: JournalEntry): Promise<void> {
  journal.entries = [...journal.entries.filter((old) => !(old.step === entry.step && old.node === entry.node)), {...entry, backup: entry.backup ?? null}]
  await writeFileAtomic(file, `${stringifyJson({schema: JOURNAL_SCHEMA, plan_sha256: journal.plan_sha256, entries: journal.entries})}\n`, {label: 'failover-journal', clearLeftovers: 'dead-writers'})
}

const finished = (journal: Journal, step: JournalEntry['step'], node: string) => journal.entries.find((entry) => entry.step === step && entry.node === node && entry.status !== 'failed')

/** The promotion this plan records, as the candidate's history holds it once done. */
function holdsPromotion(state: ClusterNodeReport, plan: FailoverPlan): boolean {
  return state.history.some((entry) => entry.timeline === plan.new_timeline && entry.parent_timeline === plan.previous_timeline && entry.fork_lsn === plan.fork_lsn && entry.reason === `promote ${plan.replica_id}`)
}

function stateOf(input: ClusterInput, name: string): ClusterNodeReport | null {
  const node = input.find((entry) => entry.name === name)
  return node?.reached ? node.state : null
}

export async function applyFailover(options: FailoverApplyOptions): Promise<FailoverApplyReport> {
  if (options.dryRun) return applyLocked(options)
  // One apply of a plan at a time: two would both read the journal before either wrote it.
  const lock = await acquireLayoutLock(`${options.planPath}.lock`, {command: 'failover apply'})
  try {
    return await applyLocked(options)
  } finally {
    await lock.release()
  }
}

async function applyLocked(options: FailoverApplyOptions): Promise<FailoverApplyReport> {
  const bytes = await readBounded(options.planPath, MAX_FAILOVER_PLAN_BYTES, 'failover plan', {noFollow: true})
  let plan: FailoverPlan
  try {
    plan = decodeFailoverPlan(bytes)
  } catch (error) {
    if (error instanceof FormatError) throw error.inFile(options.planPath)
    throw error
  }
  const journalPath = journalPathOf(options.planPath)
  const journal = await readJournal(journalPath, createHash('sha256').update(bytes).digest('hex'))
  const resumed = journal.entries.length > 0
  const {nodes, input} = await readCluster({...options, cluster: plan.cluster})

  // The cluster must be the one planned for, except where a done step changed it on purpose.
  const promoted = finished(journal, 'promote', plan.candidate) !== undefined
  const candidateState = stateOf(input, plan.candidate)
  const skip = new Set(plan.steps.filter((step) => finished(journal, 'rejoin', step.node) || finished(journal, 'reclone-restore', step.node)).map((step) => step.node))
  const candidateDone = candidateState !== null && holdsPromotion(candidateState, plan)
  if (promoted || candidateDone) skip.add(plan.candidate)
  const changes = pinChanges(
    plan.pins.filter((pin) => !skip.has(pin.node)),
    input.filter((node) => !skip.has(node.name)).map(pinOf),
    null,
  ).filter((line) => !plan.old_primaries.some((name) => line === `${name} answered when planned and cannot be reached now`))
  if ((promoted || candidateDone) && candidateState !== null && !holdsPromotion(candidateState, plan)) {
    changes.push(`${plan.candidate}: its history no longer records the promotion to timeline ${plan.new_timeline} at LSN ${plan.fork_lsn}`)
  }
  if (changes.length > 0) {
    throw refused(`${options.planPath}: the cluster changed since the plan was made: ${changes.join('; ')}; nothing was done`, {code: 'failover.cluster-changed', hint: 'plan again (failover plan --out FILE) and apply the new plan'})
  }

  const checks = oldPrimaryChecks(plan, input, options)
  const repo = await chooseRepository(options, plan, journal)
  const steps: AppliedStep[] = [promoteStep(plan, journal), ...plan.steps.flatMap((step) => nodeSteps(plan, step, journal, repo?.name ?? null))]
  const report: FailoverApplyReport = {plan_path: options.planPath, journal_path: journalPath, cluster: plan.cluster, candidate: plan.candidate, new_timeline: plan.new_timeline, fork_lsn: plan.fork_lsn, repo_name: repo?.name ?? null, repo_name_source: repo?.source ?? null, dry_run: options.dryRun, resumed, old_primary_checks: checks, steps, complete: false}
  const pending = steps.filter((step) => step.status === 'pending')
  if (options.dryRun || pending.length === 0) return {...report, complete: pending.length === 0}
  await options.confirm?.(pending)

  const nodeOf = (name: string) => nodes.find((node) => node.name === name)!
  for (const step of steps) {
    if (step.status !== 'pending') continue
    let entry: JournalEntry
    try {
      const planned = plan.steps.find((s) => s.node === step.node)!
      switch (step.step) {
        case 'promote':
          entry = await runPromotion(plan, nodeOf(plan.candidate), candidateDone ? candidateState : null, options)
          break
        case 'rejoin':
          entry = await runRejoin(plan, planned, nodeOf(plan.candidate), nodeOf(step.node), options)
          break
        case 'reclone-backup':
          entry = await runRecloneBackup(plan, nodeOf(plan.candidate), step.node, repo!.name, options)
          break
        case 'reclone-restore':
          entry = await runRecloneRestore(plan, nodeOf(step.node), finished(journal, 'reclone-backup', step.node)!.backup!, options)
          break
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      await recordStep(journalPath, journal, {step: step.step, node: step.node, status: 'failed', at_unix_ms: options.now(), detail: message, commands: []})
      step.status = 'failed'
      step.detail = message
      const kind = error instanceof RedreplError ? error.kind : 'failure'
      throw new RedreplError(kind, `${step.node}: ${step.step} failed: ${message}; the steps before it are recorded in ${journalPath}`, {code: 'failover.step-failed', hint: `fix what stopped it, then run failover apply --plan ${options.planPath} again: it resumes at this step`})
    }
    await recordStep(journalPath, journal, entry)
    Object.assign(step, {status: entry.status, detail: entry.detail, commands: entry.commands})
  }
  return {...report, complete: true}
}

function promoteStep(plan: FailoverPlan, journal: Journal): AppliedStep {
  const done = finished(journal, 'promote', plan.candidate)
  const base = {step: 'promote' as const, node: plan.candidate, action: 'promote' as const, commands: done?.commands ?? []}
  if (done) return {...base, status: 'already-done', detail: done.detail}
  return {...base, status: 'pending', detail: `promote replica ${plan.replica_id} on ${plan.candidate}: timeline ${plan.previous_timeline} → ${plan.new_timeline} at LSN ${plan.fork_lsn}`}
}

/**
 * The repository a reclone goes through: the one the plan pins (a name
 * typed for this run must be the same), else the one named for this run,
 * else the config's only `[repo.NAME]` section, else the one a reclone of
 * this plan already pushed to (its journal says); null when none.
 */
async function chooseRepository(options: FailoverApplyOptions, plan: FailoverPlan, journal: Journal): Promise<{name: string; source: 'plan' | 'flag' | 'config' | 'journal'} | null> {
  const config = await loadConfig(options.configPath)
  const pinnedName = plan.repo_name ?? undefined
  if (pinnedName !== undefined && options.repoName !== undefined && options.repoName !== pinnedName) {
    throw refused(`${options.planPath}: the plan pins repository ${pinnedName}, not ${options.repoName}; nothing was done`, {code: 'failover.repo-mismatch', hint: 'leave the repository out, or plan again with the one to use'})
  }
  const named = pinnedName ?? options.repoName
  if (named !== undefined) {
    if (config === null) throw usageError(`no config file names repository ${JSON.stringify(named)}; nothing was done`)
    repoSection(config, named)
    return {name: named, source: pinnedName !== undefined ? 'plan' : 'flag'}
  }
  if (config !== null && config.repos.size === 1) return {name: [...config.repos.keys()][0], source: 'config'}
  const pinned = journal.entries.find((entry) => entry.step === 'reclone-backup' && entry.status === 'done' && entry.backup)
  return pinned?.backup ? {name: pinned.backup.repo_name, source: 'journal'} : null
}

/** A node's steps: its rejoin, or a reclone's two steps when a repository carries the backup (or one already went through it). */
function nodeSteps(plan: FailoverPlan, step: FailoverNodeStep, journal: Journal, repoName: string | null): AppliedStep[] {
  const taken = finished(journal, 'reclone-backup', step.node)
  if (step.decision !== 'reclone' || finished(journal, 'rejoin', step.node) || (repoName === null && taken === undefined)) return [rejoinStep(step, journal)]
  const via = taken?.backup?.repo_name ?? repoName!
  const kinds: Array<[StepKind, string]> = [
    ['reclone-backup', `take a base backup of ${plan.candidate} on timeline ${plan.new_timeline} and push it to repository ${via} (namespace ${plan.cluster})`],
    ['reclone-restore', `stage that backup from repository ${via} for ${step.node}'s rebootstrap, then verify its layout`],
  ]
  return kinds.map(([kind, detail]) => {
    const done = finished(journal, kind, step.node)
    const base = {step: kind, node: step.node, action: 'reclone' as const, commands: done?.commands ?? []}
    return done ? {...base, status: 'already-done' as const, detail: done.detail} : {...base, status: 'pending' as const, detail}
  })
}

function rejoinStep(step: FailoverNodeStep, journal: Journal): AppliedStep {
  const done = finished(journal, 'rejoin', step.node)
  const base = {step: 'rejoin' as const, node: step.node, action: step.decision, commands: done?.commands ?? []}
  if (done) return {...base, status: done.status === 'manual' ? 'already-manual' : 'already-done', detail: done.detail}
  return {...base, status: 'pending', detail: step.reason}
}

/** No RedDB may run as the old primary while another node is promoted: that is split brain. */
function oldPrimaryChecks(plan: FailoverPlan, input: ClusterInput, options: FailoverApplyOptions): FailoverApplyReport['old_primary_checks'] {
  const checks: FailoverApplyReport['old_primary_checks'] = []
  for (const name of plan.old_primaries) {
    const node = input.find((entry) => entry.name === name)
    if (node === undefined || !node.reached) {
      const why = node && !node.reached ? node.reason : 'not in the inventory'
      if (!options.oldPrimaryDown) {
        throw refused(`${name}: the old primary cannot be reached (${why}), so whether RedDB still runs there is unknown; nothing was done`, {code: 'failover.old-primary-unknown', hint: 'make sure its host is down or RedDB is stopped there, then say so with --old-primary-down'})
      }
      checks.push({node: name, state: 'declared-down', detail: `unreachable (${why}); declared down by the operator`})
      continue
    }
    const pids = node.state.reddb_pids
    if (pids === undefined || pids === null) {
      throw refused(`${name}: cannot tell whether RedDB runs on ${node.state.data_path} (its redrepl cannot read the lock table or does not say); nothing was done`, {code: 'failover.old-primary-unknown', hint: 'stop RedDB there and check by hand; an older redrepl on that host does not report it'})
    }
    if (pids.length > 0) {
      throw refused(`${name}: RedDB is running on ${node.state.data_path} (pid ${pids.join(', ')}): promoting another node now makes two primaries; nothing was done`, {code: 'failover.old-primary-running', hint: 'stop RedDB on the old primary first'})
    }
    checks.push({node: name, state: 'stopped', detail: `no process holds ${node.state.data_path}`})
  }
  return checks
}

async function runPromotion(plan: FailoverPlan, candidate: InventoryNode, alreadyRecorded: ClusterNodeReport | null, options: FailoverApplyOptions): Promise<JournalEntry> {
  const at = options.now()
  if (alreadyRecorded !== null) {
    // A run killed after the promotion and before its journal entry: the history says it happened.
    return {step: 'promote', node: plan.candidate, status: 'done', at_unix_ms: at, detail: `${plan.candidate}'s history already records promote ${plan.replica_id} to timeline ${plan.new_timeline} at LSN ${plan.fork_lsn}`, commands: []}
  }
  const args = ['timeline', 'promote', '--data-path', candidate.data_path, '--replica', plan.replica_id, '--expect-timeline', String(plan.previous_timeline), '--yes', '--json']
  const ran = await runOnNode(candidate, args, options)
  if (!ran.ok) throw new RedreplError(ran.exitCode === 4 ? 'refused' : 'failure', `timeline promote on ${plan.candidate}: ${ran.reason}`)
  const doc = ran.document
  if (!isJsonObject(doc) || doc.new_timeline !== plan.new_timeline || doc.fork_lsn !== plan.fork_lsn) {
    const seen = isJsonObject(doc) ? `timeline ${String(doc.new_timeline)} at LSN ${String(doc.fork_lsn)}` : 'no promotion document'
    throw new RedreplError('failure', `timeline promote on ${plan.candidate} recorded ${seen}, not timeline ${plan.new_timeline} at LSN ${plan.fork_lsn} as planned`)
  }
  return {step: 'promote', node: plan.candidate, status: 'done', at_unix_ms: at, detail: `promoted ${plan.replica_id} on ${plan.candidate}: timeline ${plan.previous_timeline} → ${plan.new_timeline} at LSN ${plan.fork_lsn}`, commands: []}
}

/** What carries a reclone out across hosts, in order; redrepl does not move a backup between hosts. */
function recloneCommands(plan: FailoverPlan, candidate: InventoryNode, node: InventoryNode): string[] {
  const on = (target: InventoryNode) => (target.host ? `on ${target.host}` : `on ${target.name}'s host`)
  return [
    `${on(candidate)}: redrepl basebackup create --data-path ${candidate.data_path} --from ${candidate.data_path}`,
    `copy the new base backup (basebackup list --data-path ${candidate.data_path}: its manifest and chunks) to ${node.name}'s host`,
    `${on(node)}, RedDB stopped: redrepl basebackup materialize --data-path ${node.data_path} --manifest MANIFEST --rebootstrap`,
    `start RedDB on ${node.name} as a replica of ${plan.candidate}`,
  ]
}

/** Options that make a redrepl run on this machine read the same config file as this run: it holds the [repo.NAME] section. */
const configArgs = (node: InventoryNode, options: FailoverApplyOptions) => (node.transport.length === 0 && options.configPath !== undefined ? ['--config', options.configPath] : [])

const failed = (what: string, ran: {reason: string; exitCode: number | null}) => new RedreplError(ran.exitCode === 4 ? 'refused' : 'failure', `${what}: ${ran.reason}`)

/** How the repository names a timeline's directory (format.md: 20 digits). */
const timelineDir = (timeline: bigint) => `timeline-${timeline.toString().padStart(20, '0')}`

/**
 * Step one of a reclone, on the new primary's host: a base backup of its
 * data file (on the new timeline, checkpoint at or past the fork), then
 * `repo push` into the replica set's namespace. A re-run after a kill
 * before the journal entry finds the backup already taken and pushed
 * (both commands are idempotent at one checkpoint).
 */
async function runRecloneBackup(plan: FailoverPlan, candidate: InventoryNode, node: string, repoName: string, options: FailoverApplyOptions): Promise<JournalEntry> {
  const at = options.now()
  const run = {...options, timeoutMs: options.transferTimeoutMs}
  const created = await runOnNode(candidate, ['basebackup', 'create', '--data-path', candidate.data_path, '--from', candidate.data_path, '--json', ...configArgs(candidate, options)], run)
  if (!created.ok) throw failed(`basebackup create on ${candidate.name}`, created)
  const doc = created.document
  const manifest = isJsonObject(doc) && isJsonObject(doc.manifest) ? doc.manifest : null
  const manifestPath = isJsonObject(doc) && typeof doc.manifest_path === 'string' ? doc.manifest_path : null
  if (manifest === null || manifestPath === null || typeof manifest.timeline !== 'bigint' || typeof manifest.checkpoint_lsn !== 'bigint') {
    throw new RedreplError('failure', `basebackup create on ${candidate.name} printed no manifest (timeline, checkpoint_lsn, manifest_path)`)
  }
  const backup: RecloneBackup = {repo_name: repoName, timeline: manifest.timeline, checkpoint_lsn: manifest.checkpoint_lsn, manifest_name: manifestPath.split('/').at(-1)!}
  // RedDB's rejoin: a recloned node starts on the new timeline, so its backup must lie there, past the fork (behaviour.md "rejoin plan").
  if (backup.timeline !== plan.new_timeline || backup.checkpoint_lsn < plan.fork_lsn) {
    throw refused(`${candidate.name}: its base backup ${backup.manifest_name} is on timeline ${backup.timeline} at checkpoint ${backup.checkpoint_lsn}, not on timeline ${plan.new_timeline} at or past the fork at ${plan.fork_lsn}; nothing was pushed`)
  }
  const pushed = await runOnNode(candidate, ['repo', 'push', '--repo-name', repoName, '--cluster', plan.cluster, '--data-path', candidate.data_path, '--json', ...configArgs(candidate, options)], run)
  if (!pushed.ok) throw failed(`repo push on ${candidate.name}`, pushed)
  const push = pushed.document
  const keySuffix = `/${timelineDir(backup.timeline)}/basebackup/${backup.manifest_name}`
  const sent = isJsonObject(push) && Array.isArray(push.backups_pushed) && push.backups_pushed.some((entry) => isJsonObject(entry) && typeof entry.key === 'string' && entry.key.endsWith(keySuffix))
  const present = isJsonObject(push) && typeof push.backups_present === 'bigint' && push.backups_present > 0n
  if (!sent && !present) throw new RedreplError('failure', `repo push on ${candidate.name} neither pushed ${backup.manifest_name} nor found it in repository ${repoName}`)
  return {
    step: 'reclone-backup',
    node,
    status: 'done',
    at_unix_ms: at,
    detail: `base backup ${backup.manifest_name} of ${candidate.name} (timeline ${backup.timeline}, checkpoint ${backup.checkpoint_lsn}) ${sent ? 'pushed to' : 'already in'} repository ${repoName}, namespace ${plan.cluster}`,
    commands: [],
    backup,
  }
}

/**
 * Step two of a reclone, on the node's host: `repo restore --rebootstrap`
 * of exactly the backup step one pinned (by checkpoint, then its key
 * checked), refused there while RedDB holds the node's data file; then
 * `layout verify` of the node with the staged database and marker.
 */
async function runRecloneRestore(plan: FailoverPlan, node: InventoryNode, backup: RecloneBackup, options: FailoverApplyOptions): Promise<JournalEntry> {
  const at = options.now()
  const run = {...options, timeoutMs: options.transferTimeoutMs}
  const args = ['repo', 'restore', '--repo-name', backup.repo_name, '--cluster', plan.cluster, '--data-path', node.data_path, '--rebootstrap', '--checkpoint-lsn', String(backup.checkpoint_lsn), '--json']
  const restored = await runOnNode(node, [...args, ...configArgs(node, options)], run)
  if (!restored.ok) throw failed(`repo restore on ${node.name}`, restored)
  const doc = restored.document
  const key = isJsonObject(doc) && typeof doc.manifest_key === 'string' ? doc.manifest_key : ''
  const marker = isJsonObject(doc) && typeof doc.marker_path === 'string' ? doc.marker_path : null
  if (!isJsonObject(doc) || doc.timeline !== backup.timeline || doc.checkpoint_lsn !== backup.checkpoint_lsn || !key.endsWith(`/${timelineDir(backup.timeline)}/basebackup/${backup.manifest_name}`) || marker === null) {
    throw new RedreplError('failure', `repo restore on ${node.name} staged ${key || 'no backup it names'}, not ${backup.manifest_name} (timeline ${backup.timeline}, checkpoint ${backup.checkpoint_lsn}) as pinned; RedDB must not start there until this step is done`)
  }
  const verified = await runOnNode(node, ['layout', 'verify', '--data-path', node.data_path, '--json', ...configArgs(node, options)], run)
  if (!verified.ok) throw failed(`layout verify on ${node.name} after staging`, verified)
  if (!isJsonObject(verified.document) || verified.document.ok !== true) throw new RedreplError('failure', `layout verify on ${node.name} after staging does not say ok`)
  return {
    step: 'reclone-restore',
    node: node.name,
    status: 'done',
    at_unix_ms: at,
    detail: `staged ${backup.manifest_name} (timeline ${backup.timeline}, checkpoint ${backup.checkpoint_lsn}) from repository ${backup.repo_name} for ${node.name}'s rebootstrap (marker ${marker}); its layout verifies`,
    commands: [`start RedDB on ${node.name} as a replica of ${plan.candidate}: it swaps the staged database in, then follows timeline ${plan.new_timeline} from LSN ${backup.checkpoint_lsn}`],
  }
}

async function runRejoin(plan: FailoverPlan, step: FailoverNodeStep, candidate: InventoryNode, node: InventoryNode, options: FailoverApplyOptions): Promise<JournalEntry> {
  const at = options.now()
  if (step.decision === 'manual') {
    return {step: 'rejoin', node: node.name, status: 'manual', at_unix_ms: at, detail: step.reason, commands: [`when ${node.name} is reachable and before RedDB starts there: redrepl cluster status --cluster ${plan.cluster} names its rejoin (follow, rewind or reclone)`]}
  }
  if (step.decision === 'reclone') {
    return {step: 'rejoin', node: node.name, status: 'manual', at_unix_ms: at, detail: `${step.reason}; no repository was named to carry the backup, so it is taken on and copied from ${plan.candidate} by hand`, commands: recloneCommands(plan, candidate, node)}
  }
  // Follow, rewind, already current: RedDB does them when the node starts as a replica; what is checked here is that its rule still says so against the new primary's actual history.
  const [newPrimary, old] = await reachNodes([candidate, node], options)
  if (!newPrimary.reached) throw new RedreplError('failure', `cannot reach the new primary ${candidate.name}: ${newPrimary.reason}`)
  if (!old.reached && options.oldPrimaryDown && plan.old_primaries.includes(node.name)) {
    // The operator said this host is down: its rejoin waits for it, and RedDB must not start there as a primary meanwhile.
    return {step: 'rejoin', node: node.name, status: 'manual', at_unix_ms: at, detail: `declared down; when it is back it must ${step.decision === 'rewind' ? `rewind to LSN ${step.rewind_to_lsn}` : 'rejoin'} before it serves: ${step.reason}`, commands: [`when ${node.name} is reachable and before RedDB starts there: redrepl cluster status --cluster ${plan.cluster} names its rejoin (follow, rewind or reclone); start it only as a replica of ${plan.candidate}`]}
  }
  if (!old.reached) throw new RedreplError('failure', `cannot reach ${node.name}: ${old.reason}`)
  const position = positionOf(node.name, old.state)
  if (position === null) throw refused(`${node.name}: its position is no longer known (no WAL head, no relay log)`)
  const history = {entries: newPrimary.state.history.map((entry) => ({...entry, created_at_unix_ms: 0n}))}
  const decided = planRejoin({history, nodeTimeline: old.state.timeline, nodeFlushedLsn: position, availableFromLsn: newPrimary.state.oldest_wal_lsn ?? 0n})
  if (decided.decision !== step.decision) {
    throw refused(`${node.name}: RedDB's rejoin rule now says ${decided.decision} against ${candidate.name}'s history, not ${step.decision} as planned`)
  }
  const what: Record<typeof step.decision, string> = {
    rewind: `RedDB rewinds ${node.name} to LSN ${decided.rejoin_rewind_to_lsn} when it starts as a replica of ${plan.candidate}, then follows timeline ${plan.new_timeline}`,
    follow_new_timeline: `RedDB follows timeline ${plan.new_timeline} from LSN ${position} when ${node.name} starts as a replica of ${plan.candidate}`,
    already_current: `${node.name} is on timeline ${plan.new_timeline} already`,
  }
  return {step: 'rejoin', node: node.name, status: 'done', at_unix_ms: at, detail: `checked against ${candidate.name}'s history: ${what[step.decision]}`, commands: step.decision === 'already_current' ? [] : [`start RedDB on ${node.name} as a replica of ${plan.candidate}`]}
}

