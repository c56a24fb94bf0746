/** The basic example: `npm start`. MemoryStore and JSON, the defaults of `session()`. */

import { createExampleApp, listen } from './app.js';

listen(createExampleApp(), 'MemoryStore + JSON');
