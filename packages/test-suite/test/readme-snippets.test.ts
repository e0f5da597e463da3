import { describe, expect, it } from 'vitest';
import { readmeSnippets } from './readme-snippets.js';

const fence = '```';

describe('readmeSnippets', () => {
  it('takes only blocks tagged readme-snippet, with their line and printed lines', () => {
    const markdown = [
      '# Title',
      `${fence}ts`,
      'notRun();',
      fence,
      `${fence}ts readme-snippet`,
      "console.log('a'); // prints: a",
      "console.log('b c'); // prints: b c ",
      fence,
      `${fence}sh`,
      'pnpm add x',
      fence,
    ].join('\n');
    expect(readmeSnippets(markdown)).toEqual([
      {
        line: 5,
        code: "console.log('a'); // prints: a\nconsole.log('b c'); // prints: b c \n",
        prints: ['a', 'b c'],
      },
    ]);
  });

  it('finds none in a README without the tag', () => {
    expect(readmeSnippets(`${fence}ts\nx();\n${fence}\n`)).toEqual([]);
  });

  it('refuses a block that is never closed, naming file and line', () => {
    expect(() =>
      readmeSnippets(`text\n${fence}ts readme-snippet\nx();\n`, 'kafka/README.md'),
    ).toThrow('kafka/README.md:2: the readme-snippet block is never closed: end it with ```');
  });
});
