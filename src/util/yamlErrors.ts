import type { LineCounter, YAMLError } from 'yaml';

/** A YAML parse error as people look for it: `line 3, column 1: <the first line of the message>`. */
export function yamlErrorText(e: YAMLError, lines: LineCounter): string {
  const at = lines.linePos(e.pos[0]);
  return `line ${at.line}, column ${at.col}: ${e.message.split('\n')[0]}`;
}
