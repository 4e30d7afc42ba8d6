/**
 * Every problem of a config at once, each naming its key (`provider.clientId: required`), so an operator
 * fixes the file in one pass (oauth2-proxy's `Validate`). Messages never carry a configured value.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    const list = problems.map((problem) => `  - ${problem}`).join('\n')
    super(`invalid configuration (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}):\n${list}`)
    this.name = 'ConfigError'
    this.problems = Object.freeze([...problems])
  }
}
