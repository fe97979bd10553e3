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

