import { describe, expect, it } from 'vitest'
import { createKeyRing } from '../../../src/session/keyring.js'
import { createMemoryStore } from '../../../src/session/memory-store.js'
import { createLoginTransactions, LOGIN_TRANSACTION_TTL_MS, type LoginTransaction } from '../../../src/session/login-transactions.js'

const state = 'S'.repeat(43)
const setup = () => {
  let now = 1_700_000_000_000
  const clock = { now: () => now, advance: (ms: number) => (now += ms) }
  const store = createMemoryStore(clock.now)
  const keyRing = createKeyRing(['k'.repeat(32)])
  const transactions = createLoginTransactions({ store, keyRing, prefix: 'p:', now: clock.now })
  const tx: LoginTransaction = { codeVerifier: 'v'.repeat(43), nonce: 'n'.repeat(43), returnTo: '/orders', createdAt: now }
  return { clock, transactions, tx }
}

describe('login transactions, sealed for the browser that started them', () => {
  it('when a sealed transaction is opened with its own state, then it comes back whole, and its sealed form reveals nothing', () => {
    const { transactions, tx } = setup()
    const sealed = transactions.seal(state, tx)
    expect(transactions.open(state, sealed)).toEqual(tx)
    for (const secret of [tx.codeVerifier, tx.nonce!, tx.returnTo, state]) expect(sealed).not.toContain(secret)
  })

  it("when it is opened with another state, tampered with, or under another key ring, then it does not open", () => {
    const { transactions, tx } = setup()
    const sealed = transactions.seal(state, tx)
    expect(transactions.open('T'.repeat(43), sealed)).toBeUndefined()
    expect(transactions.open(state, `${sealed.slice(0, -2)}AA`)).toBeUndefined()
    expect(transactions.open(state, 'junk')).toBeUndefined()
    const other = createLoginTransactions({ store: createMemoryStore(), keyRing: createKeyRing(['o'.repeat(32)]), prefix: 'p:', now: Date.now })
    expect(other.open(state, sealed)).toBeUndefined()
  })

  it('when the transaction is older than its lifetime, then it does not open', () => {
    const { clock, transactions, tx } = setup()
    const sealed = transactions.seal(state, tx)
    clock.advance(LOGIN_TRANSACTION_TTL_MS)
    expect(transactions.open(state, sealed)).toEqual(tx)
    clock.advance(1)
    expect(transactions.open(state, sealed)).toBeUndefined()
  })

  it('when a state is consumed twice, then only the first succeeds, until the transaction could no longer open anyway', async () => {
    const { clock, transactions, tx } = setup()
    expect(await transactions.consume(state, tx)).toBe(true)
    expect(await transactions.consume(state, tx)).toBe(false)
    clock.advance(LOGIN_TRANSACTION_TTL_MS + 1)
    // still refused past the lifetime: the marker outlives the transaction by the clock slack
    expect(await transactions.consume(state, tx)).toBe(false)
  })
})
