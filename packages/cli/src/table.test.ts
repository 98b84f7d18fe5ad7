import { describe, expect, it } from 'vitest';
import { clean, renderPairs, renderTable, truncate } from './table.js';

describe('renderTable', () => {
  it('aligns columns two spaces apart and does not pad the last one', () => {
    expect(
      renderTable(
        ['ENV', 'STATE', 'PATH'],
        [
          ['acme-prd', 'installed', '/srv/a.pfx'],
          ['qa', 'failed', ''],
        ],
      ),
    ).toEqual(['ENV       STATE      PATH', 'acme-prd  installed  /srv/a.pfx', 'qa        failed']);
  });

  it('indents and cuts lines to a width', () => {
    const lines = renderTable(['A', 'B'], [['x'.repeat(20), 'y'.repeat(20)]], { indent: '  ', maxWidth: 30 });
    expect(lines[0]).toBe(`  A${' '.repeat(21)}B`);
    expect(lines[1]).toHaveLength(30);
    expect(lines[1]!.endsWith('…')).toBe(true);
  });

  it('never lets a cell move the cursor or break the line', () => {
    const [, row] = renderTable(['ERROR'], [['denied\n\x1b[2J\x1b[31mred\r\x07']]);
    expect(row).toBe('denied [2J [31mred');
    expect(row).not.toMatch(/[\x00-\x1f]/); // eslint-disable-line no-control-regex
  });
});

describe('helpers', () => {
  it('truncate keeps short lines and marks cut ones', () => {
    expect(truncate('abc', 5)).toBe('abc');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });

  it('clean turns control runs into one space', () => {
    expect(clean(' a\r\nb\tc ')).toBe('a b c');
  });

  it('renderPairs aligns the keys', () => {
    expect(
      renderPairs(
        [
          ['Job', '1'],
          ['Environments', 'a, b'],
        ],
        '  ',
      ),
    ).toEqual(['  Job           1', '  Environments  a, b']);
  });
});
