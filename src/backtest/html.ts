/** Text for HTML element content and quoted attribute values: the five characters that can change meaning are replaced. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON to embed in a <script type="application/json"> element. Every "<" (so no "</script" or
 * "<!--" can end or confuse the element), ">" and "&" become \u escapes, as do U+2028/2029;
 * JSON.parse of the element's text gives the value back unchanged.
 */
export function jsonForScript(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new Error('cannot embed a value that has no JSON form (undefined, a function or a symbol)');
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
