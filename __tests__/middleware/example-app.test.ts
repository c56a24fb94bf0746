import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createExampleApp } from '../../examples/app.js';

describe('examples/basic (npm start)', () => {
  it('counts visits for a client that keeps cookies, logs in, remembers, and logs out', async () => {
    const agent = request.agent(createExampleApp().callback());
    const views = async () => Number(/<b id="views">(\d+)/.exec((await agent.get('/').expect(200)).text)![1]);
    expect(await views()).toBe(1);
    expect(await views()).toBe(2);
    await agent.get('/login?user=ada&remember=1').expect(302);
    const shown = (await agent.get('/session').expect(200)).body;
    expect(shown).toMatchObject({ isNew: false, maxAgeMs: 30 * 86_400_000, data: { user: 'ada', views: 0 } });
    expect((await agent.get('/').expect(200)).text).toMatch(/Hello, ada\./);
    await agent.get('/logout').expect(302);
    expect((await agent.get('/').expect(200)).text).toMatch(/Not logged in\..*<b id="views">1</);
  });
});
