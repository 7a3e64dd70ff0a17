/**
 * Reading a streamed HTTP reply in tests: the text so far is handed to a callback after every
 * chunk (to act mid-stream), and the read ends when the body ends, when it breaks (the error is
 * returned, not thrown) or when a deadline passes (thrown, so a stream that hangs fails the test).
 */

export interface StreamRead {
  /** Every byte received, as UTF-8. */
  text: string;
  /** Why the body broke off, when it did not end cleanly. */
  error?: string;
}

/** `data:` payloads of the complete events in an SSE text, in order. */
export function sseData(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .slice(0, -1)
    .flatMap((event) => event.split(/\r?\n/))
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).trimStart());
}

export async function readStream(
  res: Response,
  onText: (text: string) => void | Promise<void> = () => {},
  timeoutMs = 30_000,
): Promise<StreamRead> {
  if (res.body === null) return { text: "" };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new Error(`the stream neither ended nor broke within ${timeoutMs} ms; got: ${text.slice(-500)}`),
      );
    }, timeoutMs);
  });
  try {
    for (;;) {
      const chunk = await Promise.race([reader.read(), deadline]);
      if (chunk.done) return { text: text + decoder.decode() };
      text += decoder.decode(chunk.value, { stream: true });
      await onText(text);
    }
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("the stream neither ended")) {
      await reader.cancel().catch(() => {});
      throw err;
    }
    const e = err as Error & { cause?: { message?: string } };
    return { text, error: [e.message, e.cause?.message].filter(Boolean).join(": ") };
  } finally {
    clearTimeout(timer);
  }
}
