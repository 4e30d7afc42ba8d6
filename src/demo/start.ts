/** The self-contained demo (issue 5). Placeholder until the demo lands: explains how to run with a config. */
export async function startDemo(_env: NodeJS.ProcessEnv): Promise<void> {
  process.stderr.write('No BFF_CONFIG given. Set BFF_CONFIG=path/to/config.yaml (see README.md).\n')
  process.exitCode = 1
}
