/**
 * Credentials never reach a log line, an error message or CLI output: the password of a Redis URL
 * (`redis://user:secret@host`) becomes `***`, wherever it appears in a text.
 */
export function redact(text: string): string {
  return text.replace(/(rediss?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}
