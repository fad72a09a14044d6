import {usageError} from '../errors.js'
import type {ConfigFile, Setting, SettingValue} from './config-file.js'

/**
 * The replica set as the config file lists it: each `[node.NAME]` section
 * with a `cluster` key is a node of that cluster, reached through its
 * `transport` (a command prefix), or `ssh -o BatchMode=yes HOST` when only
 * `host` is set, or run on this machine when neither is. These keys describe
 * where a node is, not a flag of any command, so the config hook passes
 * them over.
 */

export const INVENTORY_KEYS: ReadonlySet<string> = new Set(['cluster', 'host', 'transport', 'redrepl'])

export interface InventoryNode {
  name: string
  cluster: string
  /** The node's data path on its own host, passed to the redrepl run there. */
  data_path: string
  host: string | null
  /** The argv prefix that reaches the node; empty for this machine. */
  transport: string[]
  /** How redrepl is started on the node; null on this machine without a `redrepl` key (this very redrepl runs). */
  redrepl: string[] | null
  /** ssh hands the remote shell one string, so each word past the prefix is quoted for it; `kubectl exec` and the like pass argv as is. */
  remote_shell: boolean
}

/** A string is split at white space (a word with spaces needs the array form); an array is the argv itself. */
function words(value: SettingValue, where: string): string[] {
  if (typeof value === 'boolean') throw usageError(`${where}: must be a command, not ${value}`)
  const list = Array.isArray(value) ? value : value.trim().split(/\s+/).filter((word) => word !== '')
  if (list.length === 0) throw usageError(`${where}: must name a command`)
  return list
}

function text(setting: Setting | undefined): string | undefined {
  if (setting === undefined) return undefined
  if (typeof setting.value !== 'string' || setting.value === '') throw usageError(`${setting.source} ${setting.key}: must be a non-empty string`)
  return setting.value
}

/** The nodes of `cluster` (of the only cluster when not named), in file order; a usage error names what is missing. */
export function clusterNodes(config: ConfigFile, cluster: string | undefined): InventoryNode[] {
  const all: InventoryNode[] = []
  for (const [name, settings] of config.nodes) {
    const get = (key: string) => settings.find((setting) => setting.key === key)
    const clusterName = text(get('cluster'))
    if (clusterName === undefined) continue
    const section = `${config.path} [node.${name}]`
    const dataPath = text(get('data-path'))
    if (dataPath === undefined) throw usageError(`${section}: a cluster node needs data-path (its data file on its own host)`)
    const host = text(get('host')) ?? null
    const transportSetting = get('transport')
    const transport = transportSetting ? words(transportSetting.value, `${section} transport`) : host === null ? [] : ['ssh', '-o', 'BatchMode=yes', host]
    const redreplSetting = get('redrepl')
    const redrepl = redreplSetting ? words(redreplSetting.value, `${section} redrepl`) : transport.length === 0 ? null : ['redrepl']
    const program = transport[0]?.split('/').at(-1)
    all.push({name, cluster: clusterName, data_path: dataPath, host, transport, redrepl, remote_shell: program === 'ssh'})
  }
  const clusters = [...new Set(all.map((node) => node.cluster))]
  if (cluster === undefined) {
    if (clusters.length === 0) throw usageError(`${config.path}: no [node.NAME] section has a cluster key`)
    if (clusters.length > 1) throw usageError(`${config.path}: holds clusters ${clusters.join(', ')}; name one`, {hint: 'pass --cluster NAME'})
    return all
  }
  const nodes = all.filter((node) => node.cluster === cluster)
  if (nodes.length === 0) throw usageError(`${config.path}: no node of cluster ${JSON.stringify(cluster)}${clusters.length > 0 ? ` (clusters: ${clusters.join(', ')})` : ''}`)
  return nodes
}
