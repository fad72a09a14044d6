import {Flags} from '../../../ui/oclif.js'

import {nowMs} from '../../../core/clock.js'
import {addRepositoryKey, type RepoKeyAddReport} from '../../../core/ops/repo/encryption-keys.js'
import {RedreplCommand} from '../../../ui/base-command.js'
import {requireNamedRepository} from '../../../ui/repo-set.js'
import {keyList, keySourcesFromFlags, repoKeyFlags, repoSettingsFromFlags, scryptCostFlag} from '../../../ui/repo-flags.js'

/** The environment variable for the passphrase `repo key add` adds. */
const NEW_PASSPHRASE_ENV = 'REDREPL_REPO_NEW_PASSPHRASE'

export default class RepoKeyAdd extends RedreplCommand<RepoKeyAddReport> {
  static override summary = 'Let one more passphrase or key file open an encrypted repository.'
  static override description = `Opens the repository's data key with a key it has (--passphrase-file, --key-file or REDREPL_REPO_PASSPHRASE) and stores it wrapped for the new one too (--new-passphrase-file, --new-key-file or REDREPL_REPO_NEW_PASSPHRASE), by rewriting the config object in one put. No object is rewritten or uploaded again. With "repo key remove" this rotates keys: add the new, check it opens the repository, remove the old. A wrong or missing key is refused (exit 4) and nothing is written.

One repository: with [repo.NAME] sections in the config file and none named (no --repo, --repo-name, REDREPL_REPO or repo setting), the run is refused (exit 2) naming them, rather than picking one.`

  static override examples = ['<%= config.bin %> repo key add --repo s3://backups/reddb --passphrase-file old.pass --new-passphrase-file new.pass']

  static override flags = {
    ...repoKeyFlags,
    'new-passphrase-file': Flags.string({description: 'The passphrase to add, as the first line of this file (else REDREPL_REPO_NEW_PASSPHRASE).', helpValue: 'FILE'}),
    'new-key-file': Flags.string({description: 'The key file to add (32 bytes, from "repo key create").', helpValue: 'FILE'}),
    'scrypt-cost': scryptCostFlag,
  }

  async run(): Promise<RepoKeyAddReport> {
    const {flags} = await this.parse(RepoKeyAdd)
    await requireNamedRepository(flags)
    return addRepositoryKey(repoSettingsFromFlags(flags), {
      keys: keySourcesFromFlags(flags),
      newKeys: {passphraseFile: flags['new-passphrase-file'], keyFile: flags['new-key-file'], passphrase: process.env[NEW_PASSPHRASE_ENV]},
      nowMs: nowMs(),
      scryptLogN: flags['scrypt-cost'],
    })
  }

  protected override human(report: RepoKeyAddReport): void {
    this.say(`${report.repository}: added key ${report.added_key_id}; keys now ${keyList(report)}`)
  }
}
