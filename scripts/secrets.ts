import { randomBytes } from 'node:crypto'

// npm run --silent secrets: a fresh session signing secret and a fresh token encryption key, as the environment
// lines the broker reads (BFF_SESSION_SECRETS, BFF_TOKEN_KEYS). 256 bits each from the CSPRNG, base64url (43
// characters, no comma, nothing to escape in a shell or an env file). Nothing is stored: the output is the only copy.
if (process.argv.length > 2) {
  process.stderr.write('usage: npm run --silent secrets   (no arguments)\n')
  process.exit(2)
}
const strong = () => randomBytes(32).toString('base64url')
process.stdout.write(
  [
    '# bff-broker secrets: keep them in the environment (a secret store, an env file outside the repository), never',
    '# in the config file. To rotate, put a new value first and keep the old one after it: <new>,<old>.',
    `BFF_SESSION_SECRETS=${strong()}`,
    `BFF_TOKEN_KEYS=${strong()}`,
    '',
  ].join('\n'),
)
