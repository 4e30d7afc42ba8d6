import { randomBytes } from 'node:crypto'
import { jobClientIdPattern } from '../src/config/schema-fields.js'
import { secretHashOf } from '../src/jobs/job-clients.js'

// npm run job:secret -- <id>: a fresh secret for a job client and its jobs.clients[] entry. Only the hash goes into
// the config (the secret is shown here once and stored nowhere), so a leaked config file grants nothing.
const id = process.argv[2]
if (process.argv.length !== 3 || id === undefined || !jobClientIdPattern.test(id)) {
  process.stderr.write(
    'usage: npm run job:secret -- <id>\n' +
      '  <id>: 1 to 64 letters, digits, . _ or - (starting with a letter or digit), e.g. nightly-report\n',
  )
  process.exit(2)
}

// 256 bits from the CSPRNG, base64url (43 characters): nothing in it needs escaping in a shell or in Basic auth
const secret = randomBytes(32).toString('base64url')
process.stdout.write(
  [
    `Secret for job client ${id} (shown once; give it to the job, e.g. in its secret store, and keep no other copy):`,
    '',
    `  ${secret}`,
    '',
    'Add this entry to jobs.clients in the broker config (then list the apis it may call):',
    '',
    `  - id: ${id}`,
    `    secretHash: "${secretHashOf(secret)}"`,
    '',
  ].join('\n'),
)
