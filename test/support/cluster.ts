import {writeFile} from 'node:fs/promises'
import path from 'node:path'

import {runCli} from './cli.js'
import {activeSlot, MiB, writeWalNode} from './wal-node.js'

/** Three nodes as three layouts: primary `p` (WAL head 9,437,187; slots), replica `ra` at 9,437,187 and `rc` at 7,340,034, each with its own relay log. */
export async function writeThreeNodes(root: string): Promise<{p: string; ra: string; rc: string}> {
  const p = writeWalNode(path.join(root, 'p'), {segmentBytes: MiB, segments: {7: 1, 8: 1, 9: 4}, slots: [activeSlot('ra', 9n * MiB, 9_437_187n), activeSlot('rc', 7n * MiB, 7_340_034n)]})
  const ra = path.join(root, 'ra', 'data.rdb')
  const rc = path.join(root, 'rc', 'data.rdb')
  for (const [data, replica, lsn] of [[ra, 'ra', 9_437_187n], [rc, 'rc', 7_340_034n]] as const) {
    const appended = await runCli(['relay', 'append', '--data-path', data, '--replica', replica, '--create', '--applied-lsn', String(lsn)], {input: `{"lsn":${lsn},"payload_hex":"00"}\n`})
    if (appended.exitCode !== 0) throw new Error(appended.stderr)
  }
  return {p, ra, rc}
}

/** A TOML string literal (the key's value), exact for any path. */
const toml = (value: string) => JSON.stringify(value)
const tomlList = (words: string[]) => `[${words.map(toml).join(', ')}]`

export interface NodeEntry {
  name: string
  dataPath: string
  transport?: string[]
  redrepl?: string[]
  host?: string
  cluster?: string
}

/** Writes a config file listing the nodes of cluster `main`, with `cluster status`'s state beside it (never in the home directory); returns its path. */
export async function writeInventory(file: string, nodes: NodeEntry[]): Promise<string> {
  const defaults = `[defaults]\nstate-dir = ${toml(path.join(path.dirname(file), 'state'))}`
  const sections = nodes.map((node) =>
    [
      `[node.${node.name}]`,
      `cluster = ${toml(node.cluster ?? 'main')}`,
      `data-path = ${toml(node.dataPath)}`,
      ...(node.host ? [`host = ${toml(node.host)}`] : []),
      ...(node.transport ? [`transport = ${tomlList(node.transport)}`] : []),
      ...(node.redrepl ? [`redrepl = ${tomlList(node.redrepl)}`] : []),
    ].join('\n'),
  )
  await writeFile(file, `${[defaults, ...sections].join('\n\n')}\n`, {mode: 0o600})
  return file
}
