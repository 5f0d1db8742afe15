import { HttpClient } from '../client/http-client.js';
import type { ClientEnv } from '../client/client-env.js';
import type { Scenario } from '../scenario/schema.js';
import type { World } from './run-context.js';
import type { UsersFile } from './provision.js';

/**
 * The world a users file from `provision` holds, for this scenario: its owner logged in, the
 * servers and channels the scenario's setup asks for. Null (with the reason) when the file's
 * world is smaller than the setup: the run then sets up its own as before.
 */
export async function provisionedWorld(env: ClientEnv, s: Scenario, w: NonNullable<UsersFile['world']>): Promise<{ world: World | null; why?: string }> {
  const { servers, textChannels, voiceChannels } = s.setup;
  const fit = w.servers.slice(0, servers);
  if (fit.length < servers) return { world: null, why: `the users file's world has ${w.servers.length} servers, the scenario's setup ${servers}` };
  const short = fit.find((x) => x.textChannelIds.length < textChannels || x.voiceChannelIds.length < voiceChannels);
  if (short) return { world: null, why: `server ${short.id} of the users file has ${short.textChannelIds.length} text and ${short.voiceChannelIds.length} voice channels, the scenario's setup ${textChannels} and ${voiceChannels}` };
  const http = new HttpClient(env);
  const token = (await http.login(w.owner.username, w.owner.password, { user: -1, record: false })).access_token;
  const me = await http.me(token, -1);
  return {
    world: {
      owner: { index: -1, userId: me.id, username: w.owner.username, token },
      joined: true,
      servers: fit.map((x) => ({ ...x, textChannelIds: x.textChannelIds.slice(0, textChannels), voiceChannelIds: x.voiceChannelIds.slice(0, voiceChannels) })),
    },
  };
}
