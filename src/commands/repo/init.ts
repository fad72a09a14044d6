import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {initRepository, type RepoInitReport} from '../../core/ops/repo/encryption-keys.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {keySourcesFromFlags, repoKeyFlags, repoSettingsFromFlags, scryptCostFlag} from '../../ui/repo-flags.js'

export default class RepoInit extends RedreplCommand<RepoInitReport> {
  static override summary = 'Set up a repository: encrypted at rest, or recorded as unencrypted.'
  static override description = `Writes the repository's config object (redrepl.repository at its root). With --encrypt, every object later stored is sealed with AES-256-GCM under a random 32-byte data key, which the config object holds wrapped by the key given: a passphrase (the first line of --passphrase-file, or REDREPL_REPO_PASSPHRASE; stretched by scrypt, N = 2^17, r = 8, p = 1 by default) or a key file of 32 random bytes (--key-file, made by "repo key create"). From then on every repo command, and wal plan/prune, check and metrics with this --repo, need one of its keys: without one, or with a wrong one, they refuse in one line (exit 4) before anything is read or written. "repo key add" and "repo key remove" change the keys without touching the objects.

Names, sizes, counts and times stay readable in the store (docs/repository.md says what leaks). Keep a key safe: without one, nothing in the repository can be read.

Without --encrypt, records the repository as unencrypted, which is also what a repository without a config object is. Refused (exit 4) on a repository already set up, and, for --encrypt, on one that already holds objects.`

  static override examples = [
    '<%= config.bin %> repo init --repo s3://backups/reddb --encrypt passphrase --passphrase-file /etc/redrepl/passphrase',
    '<%= config.bin %> repo key create --out /etc/redrepl/repo.key && <%= config.bin %> repo init --repo /mnt/backups/redrepl --encrypt key-file --key-file /etc/redrepl/repo.key',
  ]

  static override flags = {
    ...repoKeyFlags,
    encrypt: Flags.string({description: 'Encrypt the repository, with a passphrase or a key file as its first key.', options: ['passphrase', 'key-file'], helpValue: 'passphrase|key-file'}),
    'scrypt-cost': scryptCostFlag,
  }

  async run(): Promise<RepoInitReport> {
    const {flags} = await this.parse(RepoInit)
    return initRepository(repoSettingsFromFlags(flags), {
      encrypt: (flags.encrypt as 'passphrase' | 'key-file' | undefined) ?? 'none',
      keys: keySourcesFromFlags(flags),
      nowMs: nowMs(),
      scryptLogN: flags['scrypt-cost'],
    })
  }

  protected override human(report: RepoInitReport): void {
    if (report.encryption === 'none') this.say(`${report.repository}: set up unencrypted (${report.config_object})`)
    else this.say(`${report.repository}: encrypted (${report.encryption}, data key ${report.data_key_id}), first key ${report.keys[0].key_id} (${report.keys[0].kind})`)
  }
}
