import fc from 'fast-check';
import { jsonSerializer } from '../serializers/json.js';
import { superjsonSerializer } from '../serializers/superjson.js';
import { msgpackSerializer } from '../serializers/msgpack.js';
import { SerializationError } from '../src/errors.js';
import { anySessionValue, sameAfterRoundTrip } from '../__tests__/helpers/serializer-equality.js';
const rules = { json: { nullPrototypeBecomesPlain: true, undefinedPropertyDropped: true, keepsIdentity: false },
  superjson: { nullPrototypeBecomesPlain: true, undefinedPropertyDropped: false, keepsIdentity: true },
  msgpack: { nullPrototypeBecomesPlain: true, undefinedPropertyDropped: false, keepsIdentity: true } };
for (const s of [jsonSerializer(), superjsonSerializer(), msgpackSerializer()]) {
  let ok = 0, no = 0, bad = 0; const types: Record<string, number> = {};
  for (const v of fc.sample(anySessionValue, 4000)) {
    const data = { v };
    let bytes;
    try { bytes = s.serialize(data); } catch (e) { if (e instanceof SerializationError) { no++; types[e.type] = (types[e.type] ?? 0) + 1; continue } console.log(s.name, 'OTHER ERROR', e, v); bad++; continue }
    let back;
    try { back = s.deserialize(bytes) } catch (e) { console.log(s.name, 'DECODE ERROR', (e as Error).message, v); bad++; continue }
    if (!sameAfterRoundTrip(data, back, (rules as any)[s.name])) { bad++; if (bad < 6) console.log(s.name, 'CHANGED', v, '=>', back) } else ok++;
  }
  console.log(s.name, { ok, no, bad }, types);
}
