import {Flags} from '../../../ui/oclif.js'

import {removeRepositoryKey, type RepoKeyRemoveReport} from '../../../core/ops/repo/encryption-keys.js'
import {RedreplCommand} from '../../../ui/base-command.js'
import {requireNamedRepository} from '../../../ui/repo-set.js'
import {keyList, keySourcesFromFlags, repoKeyFlags, repoSettingsFromFlags} from '../../../ui/repo-flags.js'

export default class RepoKeyRemove extends RedreplCommand<RepoKeyRemoveReport> {
  static override summary = 'Stop a passphrase or key file from opening an encrypted repository.'
  static override description = `Removes the key --key-id names (as "repo init" and "repo key add" report it, and --json of this command lists them) from the config object, in one rewrite; no object is touched. The key given (--passphrase-file, --key-file or REDREPL_REPO_PASSPHRASE) must open the repository (exit 4 otherwise), and the last key is never removed (exit 4). An unknown --key-id is exit 6. The data key stays the same: whoever copied it while holding an old key can still read the objects, so rotate after a leak by copying into a new repository.

One repository: with [repo.NAME] sections in the config file and none named (no --repo, --repo-name, REDREPL_REPO or repo setting), the run is refused (exit 2) naming them, rather than picking one.`

  static override examples = ['<%= config.bin %> repo key remove --repo s3://backups/reddb --passphrase-file new.pass --key-id 3f2a9c0d1b4e5a67']

  static override flags = {
    ...repoKeyFlags,
    'key-id': Flags.string({description: 'The key to remove (16 hex digits).', required: true, helpValue: 'ID'}),
  }

  async run(): Promise<RepoKeyRemoveReport> {
    const {flags} = await this.parse(RepoKeyRemove)
    await requireNamedRepository(flags)
    return removeRepositoryKey(repoSettingsFromFlags(flags), {keys: keySourcesFromFlags(flags), keyId: flags['key-id']})
  }

  protected override human(report: RepoKeyRemoveReport): void {
    this.say(`${report.repository}: removed key ${report.removed_key_id}; keys now ${keyList(report)}`)
  }
}
