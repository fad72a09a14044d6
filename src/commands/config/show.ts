import {showConfig, type ConfigShowReport, type EffectiveSetting} from '../../core/ops/config/show.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {jsonFlag} from '../../ui/flags.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'

const SETTING_COLUMNS: Array<Column<EffectiveSetting>> = [
  {header: 'setting', value: (s) => s.key, priority: 1},
  {header: 'value', value: (s) => (Array.isArray(s.value) ? s.value.join(', ') : String(s.value)), priority: 1},
  {header: 'source', value: (s) => s.source, priority: 2},
]

export default class ConfigShow extends RedreplCommand<ConfigShowReport> {
  static override summary = 'Show the settings taken from the config file and the environment, and where each comes from.'
  static override description = `redrepl reads /etc/redrepl/redrepl.conf when it exists (or the file named by --config or REDREPL_CONFIG, which must exist). The file is TOML: a [defaults] table and one [node.NAME] table per node, whose keys are the long names of command flags:

    [defaults]
    min-segments = 16
    warning-slot-lag = "1GiB"

    [node.primary]
    data-path = "/var/lib/reddb/data.rdb"
    max-bytes = "8GiB"

A command takes each setting its flags know, in this order: the flag on the command line, then its environment variable (REDDB_DATA_PATH, ...), then the --node section, then [defaults], then the built-in value. A key no command knows, a bad value or a missing node section is a usage error naming the file and the key (exit 2).

The file must be as safe as the runs it drives: one owned by another user than root or the user running redrepl, or writable by its group or by anyone, is refused (exit 2, naming the file and its mode), as sshd refuses such files; a symlink is judged by the file it leads to. force, confirm, yes and overwrite-live are never taken from it (exit 2, naming the key and the file): each switches a safety check off and must be typed for the run it is meant for.`

  static override examples = ['<%= config.bin %> config show --node primary', 'REDREPL_CONFIG=./redrepl.conf <%= config.bin %> config show --json']

  static override flags = {json: jsonFlag}

  async run(): Promise<ConfigShowReport> {
    const {flags} = await this.parse(ConfigShow)
    const envNames = new Map<string, string>()
    for (const command of this.config.commands) {
      for (const [name, flag] of Object.entries(command.flags ?? {})) if (flag.env) envNames.set(name, flag.env)
    }
    return showConfig({configPath: flags.config, node: flags.node, envNames, env: process.env})
  }

  protected override human(report: ConfigShowReport): void {
    this.say(`config file: ${report.config_path}${report.config_found ? '' : ' (not found)'}${report.node ? `, node ${report.node}` : ''}`)
    if (report.nodes.length > 0) this.say(`nodes: ${report.nodes.join(', ')}`)
    for (const repo of report.repositories) this.say(`repository ${repo.name}: ${repo.settings.map((s) => `${s.key} = ${Array.isArray(s.value) ? s.value.join(', ') : String(s.value)}`).join('; ')}`)
    if (report.settings.length === 0) this.say('no settings: every command uses its flags and built-in defaults')
    else this.say(renderColumns(this.mainTable(report)))
  }

  protected override mainTable(report: ConfigShowReport) {
    return tableOf(SETTING_COLUMNS, report.settings)
  }
}
