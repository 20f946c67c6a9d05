import type { JobContext } from '../../lib';

/** Pretends to talk to a mail server: async I/O of 100-400 ms. */
export default async function sendEmail(data: { to: string; subject: string }, ctx: JobContext) {
  const latency = 100 + Math.floor(Math.random() * 300);
  await new Promise((resolve) => setTimeout(resolve, latency));
  return { delivered: true, to: data.to, messageId: `msg-${ctx.id.slice(-6)}`, latencyMs: latency };
}
