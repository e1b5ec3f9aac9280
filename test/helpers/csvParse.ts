/**
 * A small, independent RFC 4180 reader for the tests: the writer's output must come back as the
 * same fields. Kept out of src/ on purpose: the report only writes CSV.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i += 1; continue; }
      field += c; i += 1; continue;
    }
    if (c === '"' && field === '') { quoted = true; i += 1; continue; }
    if (c === '"') throw new Error(`stray quote at ${i}`);
    if (c === ',') { record.push(field); field = ''; i += 1; continue; }
    if (c === '\r' && text[i + 1] === '\n') { record.push(field); records.push(record); record = []; field = ''; i += 2; continue; }
    if (c === '\r' || c === '\n') throw new Error(`bare line break outside quotes at ${i}`);
    field += c; i += 1;
  }
  if (field !== '' || record.length > 0) throw new Error('last record is not ended by CRLF');
  return records;
}
