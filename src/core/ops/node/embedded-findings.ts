import {finding, type Finding} from '../../findings.js'
import type {OpenedEmbeddedFile} from './embedded-file.js'

/**
 * What an opened embedded database means for the RedDB releases that may
 * open it (format.md §9.2): a format-1 file is safe under 1.12 and
 * readable under 1.23, but 1.23.2's first checkpoint in place wrecks it;
 * a file only 1.12's manifest fallback opens does not open under 1.23.
 */
export function databaseFindings(opened: OpenedEmbeddedFile, displayPath: string): Finding[] {
  const findings: Finding[] = []
  if (opened.format === 1) {
    // A layout-2 superblock is invisible to 1.12, which then opens an older state (§9.2, last paragraph).
    const for112 = opened.shownRelease === 'reddb-1.23' ? 'RedDB 1.23 has written to it, so RedDB 1.12 would open an older state' : 'RedDB 1.12 and 1.23 both open it'
    findings.push(
      finding(
        'rdb.version-1-under-1-23',
        displayPath,
        `format-1 database: ${for112}; RedDB 1.23.2 checkpointing it in place overwrites its WAL and the file stops opening after the next append; before a 1.23 node checkpoints it, replace it with a format-2 copy (basebackup materialize writes one)`,
        {rdb_format: 1, rules: opened.rules},
      ),
    )
  }
  if (opened.refusedBy123 !== undefined) {
    findings.push(finding('rdb.refused-by-1-23', displayPath, `opens under RedDB 1.12's rules only: RedDB 1.23 would refuse it (${opened.refusedBy123})`, {rules: opened.rules}))
  }
  return findings
}
