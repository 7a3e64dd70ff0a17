/**
 * Escaping for the self-contained HTML pages TokenForge writes (the run report and the results
 * site): text for HTML content and quoted attributes, and JSON embedded in a
 * `<script type="application/json">` element that no value can close or comment out.
 */

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside `<script type="application/json">`: `<`, `>` and `&` as \u escapes (so
 * neither `</script>` nor `<!--` can appear), and U+2028/U+2029 escaped too. Still valid JSON.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
