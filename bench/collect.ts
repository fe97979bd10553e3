// A child's output as it grows, for the benchmarks to wait on.

/** Collects a stream as text; resolves `until(text)` waits as it grows. */
export function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const waiters: { want: string; resolve: () => void }[] = [];
  (async () => {
    for await (const chunk of stream) {
      text += new TextDecoder().decode(chunk);
      for (const w of waiters.splice(0)) if (text.includes(w.want)) w.resolve(); else waiters.push(w);
    }
  })();
  return {
    get text() { return text; },
    until: (want: string) => new Promise<void>((resolve) => (text.includes(want) ? resolve() : waiters.push({ want, resolve }))),
  };
}

/**
 * One window of a workload that measures the longest gap in its own loop
 * (bench/longest-gap.h): SIGUSR1 opens window `n`, `during` runs inside
 * it, a second SIGUSR1 closes it. Resolves once the program has printed
 * the window's "window N longest gap" line; the caller reads it from `out`.
 */
export async function gapWindowAround(p: { kill(signal: "SIGUSR1"): void }, out: ReturnType<typeof collect>, n: number, during: () => Promise<unknown>) {
  p.kill("SIGUSR1");
  await out.until(`window ${n} spinning`);
  await Bun.sleep(20);
  await during();
  await Bun.sleep(20);
  p.kill("SIGUSR1");
  await out.until(`window ${n} longest gap`);
}
