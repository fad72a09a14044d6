import {Flags} from '../../../ui/oclif.js'

import {createKeyFile, type KeyCreateReport} from '../../../core/ops/repo/encryption-keys.js'
import {RedreplCommand} from '../../../ui/base-command.js'
import {jsonFlag} from '../../../ui/flags.js'

export default class RepoKeyCreate extends RedreplCommand<KeyCreateReport> {
  static override summary = 'Write a new key file: 32 random bytes, readable by its owner only.'
  static override description = `Creates --out with 32 bytes from the system's random source, mode 0600 from the start. Never overwrites: an existing file (or a link) at --out is refused (exit 4) and left as it was. Use it with "repo init --encrypt key-file" or "repo key add --new-key-file"; keep a copy off the host.`

  static override examples = ['<%= config.bin %> repo key create --out /etc/redrepl/repo.key']

  static override flags = {
    json: jsonFlag,
    out: Flags.string({description: 'The key file to create.', required: true, helpValue: 'FILE'}),
  }

  async run(): Promise<KeyCreateReport> {
    const {flags} = await this.parse(RepoKeyCreate)
    return createKeyFile(flags.out)
  }

  protected override human(report: KeyCreateReport): void {
    this.say(`${report.path}: new key file (${report.bytes} bytes, mode 0600)`)
  }
}
