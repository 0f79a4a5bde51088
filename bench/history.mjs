// The bench scripts' results files: a JSON array of rows, each run appending its own.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';

/**
 * Appends `rows` to the JSON array in `file` (starting it afresh, and saying so with `who`'s
 * prefix, when the file is not such an array).
 */
export async function appendRows(file, rows, who) {
  let history = [];
  if (existsSync(file)) {
    try {
      history = JSON.parse(await readFile(file, 'utf8'));
      if (!Array.isArray(history)) throw new Error('not an array');
    } catch (e) {
      console.error(`${who}: ${file} is not a JSON array of rows (${e.message}): starting it afresh`);
      history = [];
    }
  }
  await writeFile(file, `${JSON.stringify([...history, ...rows], null, 2)}\n`);
}
