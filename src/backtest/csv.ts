/**
 * RFC 4180 CSV: fields separated by commas, records by CRLF; a field holding a comma, a double
 * quote, CR or LF is enclosed in double quotes with its quotes doubled. Everything else is
 * written as is, so plain numbers and ids stay readable and diff well.
 */

export type CsvValue = string | number | null | undefined;

const NEEDS_QUOTES = /[",\r\n]/;

/** One field: null and undefined are empty; numbers must be finite (a NaN in a report is a bug upstream). */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to CSV: only finite numbers are allowed`);
    return String(value);
  }
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A whole document: the header record, then one record per row, each ended by CRLF. */
export function csvDocument(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  const lines = [header.map(csvField).join(',')];
  for (const row of rows) {
    if (row.length !== header.length) throw new Error(`CSV row has ${row.length} fields, the header ${header.length}`);
    lines.push(row.map(csvField).join(','));
  }
  return lines.map((l) => `${l}\r\n`).join('');
}
