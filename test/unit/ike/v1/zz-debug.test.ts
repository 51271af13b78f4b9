import { it } from 'vitest';
import { Pair } from './harness/pair.js';
it('stop', async () => {
  const pair = new Pair().establish();
  const before = pair.cgw.transport.sent.length;
  await pair.cgw.connection.stop();
  console.log(pair.cgw.transport.sent.slice(before).map(w => [w.data[18], w.data.length, w.to]));
  pair.run(100);
  console.log(pair.aws.sink.list.length, pair.aws.events.map(e=>e.name), pair.aws.connection.status().counters.drops);
});
