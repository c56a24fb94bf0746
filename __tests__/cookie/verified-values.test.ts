import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CookieIds } from '../../src/cookie-ids.js';
import { digestId, generateId } from '../../src/id.js';
import { IdSigner } from '../../src/signature.js';

const KEYS = ['newest-key-0123456789abcdefghijklmnopqrstuv', 'older-key-0123456789abcdefghijklmnopqrstuvw'];
const ids = Array.from({ length: 8 }, () => generateId());

/** Cookie values of every kind: signed by each key, tampered, unsigned, garbage. */
const cookieValue = fc.oneof(
  fc.constantFrom(...ids).map((id) => new IdSigner([KEYS[0]!], 'koa.sid').sign(id)),
  fc.constantFrom(...ids).map((id) => new IdSigner([KEYS[1]!], 'koa.sid').sign(id)),
  fc.constantFrom(...ids).map((id) => new IdSigner(['another-key-0123456789abcdefghijklmnopqrs'], 'koa.sid').sign(id)),
  fc.tuple(fc.constantFrom(...ids), fc.nat(42)).map(([id, at]) => {
    const value = new IdSigner([KEYS[0]!], 'koa.sid').sign(id);
    const i = 44 + at;
    return value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
  }),
  fc.constantFrom(...ids),
  fc.string(),
);

describe('CookieIds#read()', () => {
  it('answers every value the way a first verification does, however often values repeat', () => {
    fc.assert(
      fc.property(fc.array(cookieValue, { maxLength: 60 }), fc.boolean(), (values, signed) => {
        const signer = signed ? new IdSigner(KEYS, 'koa.sid') : undefined;
        const remembering = new CookieIds(signer);
        for (const value of values) expect(remembering.read(value)).toEqual(new CookieIds(signer).read(value));
      }),
    );
  });

  it('gives the id, its digest and whether an older key signed it', () => {
    const ids0 = new CookieIds(new IdSigner(KEYS, 'koa.sid'));
    const id = ids[0]!;
    const older = new IdSigner([KEYS[1]!], 'koa.sid').sign(id);
    expect(ids0.read(older)).toEqual({ id, digest: digestId(id), stale: true });
    expect(ids0.read(older)).toEqual({ id, digest: digestId(id), stale: true });
    expect(ids0.read(`${id}.${'A'.repeat(43)}`)).toBe('signature-mismatch');
    expect(ids0.read(id)).toBe('signature-missing');
  });

  it('knows the value it signed for a new record before the client sends it back', () => {
    const signer = new IdSigner(KEYS, 'koa.sid');
    const remembering = new CookieIds(signer);
    const id = ids[1]!;
    const value = remembering.valueFor(id, digestId(id));
    expect(value).toBe(signer.sign(id));
    expect(remembering.read(value)).toEqual({ id, digest: digestId(id), stale: false });
  });

  it('keeps verifying correctly past the number of values it remembers', () => {
    const signer = new IdSigner(KEYS, 'koa.sid');
    const remembering = new CookieIds(signer);
    const many = Array.from({ length: 5000 }, () => generateId());
    for (const id of many) remembering.read(signer.sign(id));
    for (const id of [many[0]!, many[4999]!]) expect(remembering.read(signer.sign(id))).toEqual({ id, digest: digestId(id), stale: false });
    expect(remembering.read(`${many[0]!}.${'B'.repeat(43)}`)).toBe('signature-mismatch');
  });
});
