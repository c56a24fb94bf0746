import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createExampleApp } from '../../examples/app.js';

type Agent = ReturnType<typeof request.agent>;

/**
 * The CSRF token of the form a page renders (every form in the example carries one). Await it
 * before starting the POST: the agent attaches its cookies when a request is created.
 */
async function formToken(agent: Agent, path = '/login'): Promise<string> {
  const page = await agent.get(path).expect(200);
  const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (token === undefined) throw new Error(`${path} rendered no CSRF token: ${page.text}`);
  return token;
}

describe('examples/basic (npm start)', () => {
  it('counts visits for a client that keeps cookies, logs in, remembers, and logs out', async () => {
    const agent = request.agent(createExampleApp().callback());
    const views = async () => Number(/<b id="views">(\d+)/.exec((await agent.get('/').expect(200)).text)![1]);
    expect(await views()).toBe(1);
    expect(await views()).toBe(2);
    const loginToken = await formToken(agent);
    await agent
      .post('/login')
      .type('form')
      .send({ username: 'ada', password: 'lovelace', remember: '1', _csrf: loginToken })
      .expect(302)
      .expect('Location', '/');
    const shown = (await agent.get('/session').expect(200)).body;
    expect(shown).toMatchObject({ isNew: false, maxAgeMs: 30 * 86_400_000, data: { passport: { user: 'ada' }, views: 0 } });
    expect((await agent.get('/').expect(200)).text).toMatch(/Hello, Ada Lovelace\./);
    const logoutToken = await formToken(agent, '/');
    await agent.post('/logout').type('form').send({ _csrf: logoutToken }).expect(302);
    expect((await agent.get('/').expect(200)).text).toMatch(/Not logged in\..*<b id="views">1</);
  });

  it('refuses a login or a note posted without the form’s CSRF token', async () => {
    const agent = request.agent(createExampleApp().callback());
    const loginToken = await formToken(agent);
    await agent.post('/login').type('form').send({ username: 'ada', password: 'lovelace' }).expect(403);
    await agent.post('/login').type('form').send({ username: 'ada', password: 'lovelace', _csrf: loginToken }).expect(302);
    await agent.post('/note').type('form').send({ note: 'forged' }).expect(403);
    const noteToken = await formToken(agent, '/');
    await agent.post('/note').type('form').send({ note: 'mine', _csrf: noteToken }).expect(302);
    expect((await agent.get('/').expect(200)).text).toContain('value="mine"');
  });

  it('shows a wrong password’s message once, on the login form', async () => {
    const agent = request.agent(createExampleApp().callback());
    const token = await formToken(agent);
    await agent
      .post('/login')
      .type('form')
      .send({ username: 'ada', password: 'babbage', _csrf: token })
      .expect(302)
      .expect('Location', '/login');
    expect((await agent.get('/login').expect(200)).text).toContain('Wrong username or password.');
    expect((await agent.get('/login').expect(200)).text).not.toContain('Wrong username or password.');
  });
});
