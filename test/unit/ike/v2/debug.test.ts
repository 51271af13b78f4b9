import { it } from 'vitest';
import { Pair } from './harness/pair.js';
import { SeededRandom } from './harness/seeded-random.js';

it('debug', () => {
  const seed = Number(process.env.SEED ?? 1);
  const pair = new Pair({ seed, timing: { dpdIntervalSeconds: 15 } }).establish();
  pair.net.setManual(true);
  const dice = new SeededRandom(seed * 7919);
  const log = (s: string) => console.log(`${pair.clock.now()} ${s}`);
  for (let step = 0; step < 250; step++) {
    const roll = dice.fraction();
    if (roll < 0.06) log('cgw rekeyChild ' + pair.cgw.connection.rekeyChild());
    else if (roll < 0.12) log('aws rekeyChild ' + pair.aws.connection.rekeyChild());
    else if (roll < 0.15) log('cgw rekeyIke ' + pair.cgw.connection.rekeyIke());
    else if (roll < 0.18) log('aws rekeyIke ' + pair.aws.connection.rekeyIke());
    else if (roll < 0.19) log('aws deleteChild ' + pair.aws.connection.deleteChild());
    else if (roll < 0.3) pair.clock.advance(dice.below(Number(process.env.STEP ?? 400)));
    else if (pair.net.queue.length > 0) {
      const index = dice.below(pair.net.queue.length);
      const [datagram] = pair.net.queue.splice(index, 1);
      if (!datagram) continue;
      const fate = dice.fraction();
      if (fate < Number(process.env.DROP ?? 0)) continue;
      pair.net.deliver(datagram);
      if (fate > 1 - Number(process.env.DUP ?? 0.05)) pair.net.queue.push(datagram);
    }
    for (const p of [pair.cgw, pair.aws]) for (const e of p.events.splice(0)) log(`${p.name} EVENT ${e.name} ${JSON.stringify(e.data)}`);
  }
  pair.net.setManual(false);
  for (let i = 0; i < 30; i++) {
    pair.run(10_000);
    for (const p of [pair.cgw, pair.aws]) for (const e of p.events.splice(0)) log(`${p.name} EVENT ${e.name} ${JSON.stringify(e.data)}`);
  }
  for (const p of [pair.cgw, pair.aws]) console.log(p.name, JSON.stringify(p.connection.status(), null, 1));
});
