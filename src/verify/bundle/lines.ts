/**
 * Split text into "\n"-terminated lines, in constant memory, from a whole string or a stream of
 * string chunks (a file read with setEncoding('utf8') decodes multi-byte characters across chunks).
 * A final line without "\n" is still yielded, flagged, so a verifier can insist on the terminator.
 */
export interface Line {
  text: string;
  terminated: boolean;
}

export async function* splitLines(
  source: string | Iterable<string> | AsyncIterable<string>,
): AsyncGenerator<Line[]> {
  if (typeof source === 'string') {
    yield* batch(linesOf([source]));
    return;
  }
  let rest = '';
  let out: Line[] = [];
  for await (const chunk of source as AsyncIterable<string>) {
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (nl >= 0 && rest.length > 0) {
      out.push({ text: rest + chunk.slice(0, nl), terminated: true });
      rest = '';
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    while (nl >= 0) {
      out.push({ text: chunk.slice(start, nl), terminated: true });
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    rest += chunk.slice(start);
    if (out.length >= 1024) {
      yield out;
      out = [];
    }
  }
  if (rest.length > 0) out.push({ text: rest, terminated: false });
  if (out.length > 0) yield out;
}

function* linesOf(chunks: string[]): Generator<Line> {
  for (const text of chunks) {
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      yield { text: text.slice(start, nl), terminated: true };
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    if (start < text.length) yield { text: text.slice(start), terminated: false };
  }
}

async function* batch(lines: Iterable<Line>): AsyncGenerator<Line[]> {
  let out: Line[] = [];
  for (const l of lines) {
    out.push(l);
    if (out.length >= 1024) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}
