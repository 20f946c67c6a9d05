/** Fails the way real handlers do: it throws. */
export default async function flakyReport(data: { month: string }) {
  throw new Error(`report for ${data.month} failed: upstream returned 502`);
}
