// The README code blocks that a test runs: fenced blocks tagged `ts readme-snippet`, so that the
// README stays the one source of the code a user copies. A `// prints: <line>` comment says what
// the snippet writes to stdout, in order; the test holds the snippet to it.

/** One runnable block of a README. */
export interface ReadmeSnippet {
  /** 1-based line of the opening fence, to name the block in messages. */
  readonly line: number;
  readonly code: string;
  /** The `// prints:` lines, in order of appearance. */
  readonly prints: readonly string[];
}

const opening = /^```ts readme-snippet\s*$/;
const closing = /^```\s*$/;
const printsComment = /\/\/ prints: (.*)$/;

export function readmeSnippets(markdown: string, file = 'README'): ReadmeSnippet[] {
  const snippets: ReadmeSnippet[] = [];
  const lines = markdown.split('\n');
  for (let index = 0; index < lines.length; index++) {
    if (!opening.test(lines[index] ?? '')) continue;
    const start = index;
    const body: string[] = [];
    for (index++; index < lines.length && !closing.test(lines[index] ?? ''); index++) {
      body.push(lines[index] ?? '');
    }
    if (index === lines.length) {
      throw new Error(
        `${file}:${start + 1}: the readme-snippet block is never closed: end it with \`\`\``,
      );
    }
    snippets.push({
      line: start + 1,
      code: `${body.join('\n')}\n`,
      prints: body.flatMap((text) => {
        const match = printsComment.exec(text);
        return match?.[1] === undefined ? [] : [match[1].trim()];
      }),
    });
  }
  return snippets;
}
