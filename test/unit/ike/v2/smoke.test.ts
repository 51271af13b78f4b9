import { describe, expect, it } from 'vitest';
import { Pair, expectMirrored, expectSameIkeKeys } from './harness/pair.js';

describe('smoke', () => {
  it('establishes', () => {
    const pair = new Pair().establish();
    expectMirrored(pair);
    expectSameIkeKeys(pair);
  });
  it('child rekey by cgw', () => {
    const pair = new Pair().establish();
    const before = pair.cgw.sink.only();
    expect(pair.cgw.connection.rekeyChild()).toBe(true);
    pair.run(100);
    expect(pair.cgw.sink.installed.size).toBe(2);
    pair.run(20_000);
    const after = expectMirrored(pair);
    expect(after.cgw.id).not.toBe(before.id);
    console.log(JSON.stringify(pair.cgw.connection.status().counters), JSON.stringify(pair.aws.connection.status().counters));
  });
  it('child rekey by aws', () => {
    const pair = new Pair().establish();
    expect(pair.aws.connection.rekeyChild()).toBe(true);
    pair.run(20_000);
    expectMirrored(pair);
  });
  it('ike rekey both ways', () => {
    const pair = new Pair().establish();
    expect(pair.cgw.connection.rekeyIke()).toBe(true);
    pair.run(1000);
    expectSameIkeKeys(pair);
    expect(pair.cgw.connection.status().ikeSas.length).toBe(1);
    expect(pair.aws.connection.status().ikeSas.length).toBe(1);
    expect(pair.aws.connection.rekeyIke()).toBe(true);
    pair.run(1000);
    expectSameIkeKeys(pair);
    expect(pair.cgw.connection.rekeyChild()).toBe(true);
    pair.run(20_000);
    expectMirrored(pair);
    expect(pair.cgw.connection.status().ikeSas.length).toBe(1);
  });
});
