import {Args, loadHelpClass} from '../ui/oclif.js'

import {RedreplCommand} from '../ui/base-command.js'

export default class Help extends RedreplCommand {
  static override summary = 'Show help for redrepl or one of its commands.'
  static override description = 'The same text as "redrepl TOPIC VERB --help" (or -h); "redrepl help" alone lists every command.'
  static override examples = ['<%= config.bin %> help wal prune', '<%= config.bin %> help slots']
  static override strict = false
  static override args = {command: Args.string({description: 'The topic and verb, e.g. "wal prune".', required: false})}

  async run(): Promise<void> {
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config).showHelp(this.argv)
  }
}
