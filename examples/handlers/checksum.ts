import { createHash } from 'node:crypto';

/** CPU-bound work: hashes a buffer many times, keeping its thread busy. */
export default function checksum(data: { rounds: number }) {
  let digest = Buffer.from('brokkr');
  for (let i = 0; i < data.rounds; i++) digest = createHash('sha256').update(digest).digest();
  return { rounds: data.rounds, sha256: digest.toString('hex').slice(0, 16) };
}
