/** The example app on PostgreSQL: `npm run example:postgres` (reads DATABASE_URL). PostgresStore and msgpack. */

import { msgpackSerializer } from '../serializers/msgpack.js';
import { PostgresStore } from '../stores/postgres.js';
import { createExampleApp, listen } from './app.js';

const connectionString = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// The store makes its own pool (pg is loaded on the first request) and creates the
// `koa_sessions` table on first use; expired rows are pruned every 15 minutes by one instance.
const store = new PostgresStore({ connectionString });

listen(createExampleApp({ store, serializer: msgpackSerializer() }), `PostgresStore (${new URL(connectionString).host}) + msgpack`);
