/** The event every benchmark writes: a small payment-like audit record (~100 bytes of JSON). */
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'];
const ACTIONS = ['transfer', 'refund', 'login', 'update_profile'];

export function event(i: number): Record<string, unknown> {
  return {
    transaction_id: `TXN${i}`,
    amount: (i * 37) % 100_000,
    currency: 'EUR',
    user: USERS[i % USERS.length],
    action: ACTIONS[i % ACTIONS.length],
    ok: i % 17 !== 0,
  };
}

export function events(from: number, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, k) => event(from + k));
}
