/** onConnection: a TCP connection is accepted; hooks accept it or close it before any request is read. */
import type { Socket } from 'node:net';
import type { HookStages } from '../../contracts/stages.js';
import { isFailure, stageContext, withLog, type HookChain } from '../machinery.js';

export function connectionStage(chain: HookChain): HookStages['onConnection'] {
  return chain.has('onConnection') ? (socket, accept) => void admit(chain, socket, accept) : null;
}

/** Reading waits until every onConnection hook accepted; a refusal or failure closes the socket. */
async function admit(chain: HookChain, socket: Socket, admit: () => void): Promise<void> {
  socket.pause();
  const swallow = () => {}; // a reset while we decide must not become an uncaught 'error'
  socket.on('error', swallow);
  const ctx = stageContext({
    remote: `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`,
    remoteAddress: socket.remoteAddress ?? 'unknown',
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? 'unknown',
    localPort: socket.localPort ?? 0,
    listener: 'PLAINTEXT' as const,
    log: chain.log,
  });
  let refused: string | null = null;
  for (const reg of chain.stage('onConnection')) {
    const out = await chain.call(reg, 'onConnection', ctx.remote, ctx, () => reg.hook.onConnection!(withLog(ctx, reg)));
    if (isFailure(out)) refused = out.message;
    else if (out === false) refused = `refused by hook "${reg.name}"`;
    else if (typeof out === 'object' && out !== null && typeof (out as { refuse?: unknown }).refuse === 'string') {
      refused = `refused by hook "${reg.name}": ${(out as { refuse: string }).refuse}`;
    }
    if (refused !== null) break;
  }
  socket.off('error', swallow);
  if (socket.destroyed) return;
  if (refused !== null) {
    chain.log.info(`connection ${ctx.remote} closed: ${refused}`);
    socket.destroy();
    return;
  }
  admit();
  socket.resume();
}
