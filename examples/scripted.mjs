// A scripted scenario: the JSON fields, plus a `custom` phase whose run(ctx) is yours.
//   npx miscord-bench run examples/scripted.mjs
//   npx miscord-bench validate examples/scripted.mjs
// ctx (src/runner/script-context.ts): users(), user(i), http(method, route, {user, json, form, histogram}),
// world, httpUrl, signal, sleep(ms), log(text), metrics.record/inc/time. Everything it does is
// measured and traced like the built-in phases; histograms named custom.* can be gated.

/** @type {import('miscord-bench').ScenarioInput} */
export default {
  name: 'scripted',
  description: 'four users chat; a script checks each one\'s profile and server list over HTTP, then sends a burst',
  seed: 7,
  users: 4,
  setup: { servers: 1, textChannels: 2, voiceChannels: 0 },
  settle: '500ms',
  thresholds: ['rates.deliveryRatio>=1', 'custom.me.p99<250ms', 'counters.custom.burst==8'],
  phases: [
    { type: 'connect', rampUp: '200ms' },
    {
      type: 'custom',
      name: 'profile-and-burst',
      timeout: '20s',
      /** @param {import('miscord-bench').ScriptContext} ctx */
      run: async (ctx) => {
        const users = ctx.users();
        ctx.log(`${users.length} users online`);
        for (const u of users) {
          // GET /api/auth/me as the user, timed into custom.me
          const me = await ctx.http('GET', '/api/auth/me', { user: u, histogram: 'custom.me' });
          if (me.id !== u.userId) throw new Error(`user ${u.index}: /me says ${me.id}, expected ${u.userId}`);
        }
        // every message is counted for delivery to every socket on its channel
        for (let round = 0; round < 2; round++) {
          for (const u of users) if (u.send()) ctx.metrics.inc('custom.burst');
          await ctx.sleep(100);
        }
        // one user moves to the second text channel and says hello there
        const [first] = users;
        const second = ctx.world.servers[0].textChannelIds[1];
        if (await first.switchTo(second)) first.send();
      },
    },
    { type: 'chat', duration: '1s', messagesPerUserPerSec: 2 },
    { type: 'disconnect' },
  ],
};
